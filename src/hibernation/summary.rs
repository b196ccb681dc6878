//! What hibernating or waking changes: every node pool's nodes and monthly price before and after, and the
//! totals. Prices come from the cost estimate (`/v2/sizes` for node sizes), which bills an autoscaled pool at
//! its minimum; a price it cannot give stays unknown, with the reason as its source.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::{PoolShape, node_range};
use crate::cost::{PriceTable, SizeCatalog, Total, price_resource};
use crate::stack::Platform;

/// A pool on one side of the change: its nodes and its monthly price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSide {
    pub min_nodes: u32,
    pub max_nodes: u32,
    pub auto_scale: bool,
    /// `None` when the price is unknown (never zero for unknown).
    pub monthly_usd: Option<f64>,
    /// Where the price came from, or why it is unknown.
    pub source: String,
}

/// One node pool before and after (absent on a side where the pool does not exist).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolChange {
    pub name: String,
    /// The node size the stack file gives the pool; `None` for a pool it no longer has.
    pub size: Option<String>,
    pub before: Option<PoolSide>,
    pub after: Option<PoolSide>,
}

/// The node pools before and after: nodes (fewest, most) and monthly cost, per pool and in total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub nodes_before: (u32, u32),
    pub nodes_after: (u32, u32),
    pub cost_before: Total,
    pub cost_after: Total,
    /// When `/v2/sizes` was read (`None` when the read failed).
    pub sizes_read: Option<String>,
    /// In the stack file's order, then pools it no longer has.
    pub pools: Vec<PoolChange>,
}

/// The change from `before` to `after`, the pools sized as `platform` (the stack file) sizes them.
pub fn summarise(
    platform: &Platform,
    before: &BTreeMap<String, PoolShape>,
    after: &BTreeMap<String, PoolShape>,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
) -> Summary {
    let mut names: Vec<&str> = platform
        .node_pools
        .iter()
        .map(|pool| pool.name.as_str())
        .collect();
    for name in before.keys().chain(after.keys()) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let pools: Vec<PoolChange> = names
        .into_iter()
        .map(|name| {
            let size = platform
                .node_pools
                .iter()
                .find(|pool| pool.name == name)
                .map(|pool| pool.size.clone());
            let side = |shapes: &BTreeMap<String, PoolShape>| {
                shapes
                    .get(name)
                    .map(|shape| pool_side(name, size.as_deref(), shape, sizes, table))
            };
            PoolChange {
                name: name.to_string(),
                before: side(before),
                after: side(after),
                size,
            }
        })
        .collect();
    let total = |side: fn(&PoolChange) -> Option<&PoolSide>| {
        Total::sum(pools.iter().filter_map(side).map(|side| side.monthly_usd))
    };
    Summary {
        nodes_before: node_range(before),
        nodes_after: node_range(after),
        cost_before: total(|pool| pool.before.as_ref()),
        cost_after: total(|pool| pool.after.as_ref()),
        sizes_read: sizes.ok().map(|catalog| catalog.read.clone()),
        pools,
    }
}

/// A pool's nodes and price: priced as the estimate prices a node pool of that size and shape.
fn pool_side(
    name: &str,
    size: Option<&str>,
    shape: &PoolShape,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
) -> PoolSide {
    let (min_nodes, max_nodes) = shape.nodes();
    let (monthly_usd, source) = match size {
        Some(size) => {
            let values = json!({
                "size": size,
                "node_count": shape.node_count,
                "auto_scale": shape.auto_scale,
                "min_nodes": shape.min_nodes,
                "max_nodes": shape.max_nodes,
            });
            price_resource(
                name,
                "digitalocean_kubernetes_node_pool",
                &values,
                sizes,
                table,
            )
            .map_or_else(
                || (None, "unknown: not priced".to_string()),
                |line| (line.monthly_usd, line.source),
            )
        }
        None => (
            None,
            "unknown: the stack file no longer has this pool, so its size is unknown".to_string(),
        ),
    };
    PoolSide {
        min_nodes,
        max_nodes,
        auto_scale: shape.auto_scale,
        monthly_usd,
        source,
    }
}
