//! What hibernating or waking changes: every node pool's nodes and monthly price before and after, and the
//! totals. Prices come from the cost estimate (`/v2/sizes` for node sizes), which bills an autoscaled pool at
//! its minimum; a price it cannot give stays unknown, with the reason as its source.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::{PoolShape, node_range};
use crate::cost::{PriceTable, SizeCatalog, Total, price_resource};
use crate::stack::NodePool;

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

/// The change from `before` to `after`, each pool sized as the stack file's `node_pools` size it.
pub fn summarise(
    node_pools: &[NodePool],
    before: &BTreeMap<String, PoolShape>,
    after: &BTreeMap<String, PoolShape>,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
) -> Summary {
    let mut names: Vec<&str> = node_pools.iter().map(|pool| pool.name.as_str()).collect();
    for name in before.keys().chain(after.keys()) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let pools: Vec<PoolChange> = names
        .into_iter()
        .map(|name| {
            let size = node_pools
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::SizePrice;
    use crate::stack::Scaling;

    fn pool(name: &str, size: &str, scaling: Scaling) -> NodePool {
        NodePool {
            name: name.into(),
            size: size.into(),
            scaling,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn shape(node_count: u32, auto_scale: bool, min_nodes: u32, max_nodes: u32) -> PoolShape {
        PoolShape {
            node_count,
            auto_scale,
            min_nodes,
            max_nodes,
        }
    }

    fn catalog() -> SizeCatalog {
        let price = |monthly: f64| SizePrice {
            monthly,
            hourly: monthly / 730.0,
        };
        SizeCatalog {
            api: "http://sandbox/".into(),
            read: "2026-11-25".into(),
            sizes: BTreeMap::from([
                ("s-2vcpu-4gb".to_string(), price(24.0)),
                ("s-4vcpu-8gb".to_string(), price(48.0)),
            ]),
        }
    }

    /// A fixed default pool of three and a pool autoscaling from two to ten, and their floor.
    fn awake_and_floor() -> (
        Vec<NodePool>,
        BTreeMap<String, PoolShape>,
        BTreeMap<String, PoolShape>,
    ) {
        let pools = vec![
            pool("core", "s-4vcpu-8gb", Scaling::Fixed(3)),
            pool("app", "s-2vcpu-4gb", Scaling::Autoscale { min: 2, max: 10 }),
        ];
        let awake = pools
            .iter()
            .map(|pool| (pool.name.clone(), PoolShape::of(pool)))
            .collect();
        let floor = BTreeMap::from([
            ("core".to_string(), shape(1, false, 1, 1)),
            ("app".to_string(), shape(0, true, 0, 1)),
        ]);
        (pools, awake, floor)
    }

    #[test]
    fn hibernating_prices_every_pool_before_and_after_from_the_size_catalog() {
        let (pools, awake, floor) = awake_and_floor();
        let catalog = catalog();
        let summary = summarise(
            &pools,
            &awake,
            &floor,
            Ok(&catalog),
            &PriceTable::embedded(),
        );
        assert_eq!(
            (summary.nodes_before, summary.nodes_after),
            ((5, 13), (1, 2))
        );
        assert_eq!(
            summary.cost_before,
            Total {
                known_usd: 192.0,
                unknown: 0
            }
        );
        assert_eq!(
            summary.cost_after,
            Total {
                known_usd: 48.0,
                unknown: 0
            }
        );
        assert_eq!(summary.sizes_read.as_deref(), Some("2026-11-25"));
        let names: Vec<&str> = summary
            .pools
            .iter()
            .map(|pool| pool.name.as_str())
            .collect();
        assert_eq!(names, ["core", "app"], "the stack file's order");
        let app = &summary.pools[1];
        assert_eq!(app.size.as_deref(), Some("s-2vcpu-4gb"));
        let (before, after) = (app.before.as_ref().unwrap(), app.after.as_ref().unwrap());
        assert_eq!(
            (before.min_nodes, before.max_nodes, before.auto_scale),
            (2, 10, true)
        );
        assert_eq!(
            (after.min_nodes, after.max_nodes, after.auto_scale),
            (0, 1, true)
        );
        assert_eq!(
            (before.monthly_usd, after.monthly_usd),
            (Some(48.0), Some(0.0))
        );
        assert_eq!(after.source, "/v2/sizes `s-2vcpu-4gb` read 2026-11-25");
    }

    #[test]
    fn prices_without_a_catalog_or_a_size_are_unknown_never_zero() {
        let (pools, awake, floor) = awake_and_floor();
        let unread = summarise(
            &pools,
            &floor,
            &awake,
            Err("status 401"),
            &PriceTable::embedded(),
        );
        assert_eq!(
            unread.cost_before,
            Total {
                known_usd: 0.0,
                unknown: 2
            }
        );
        assert_eq!(
            unread.cost_after,
            Total {
                known_usd: 0.0,
                unknown: 2
            }
        );
        assert_eq!(unread.sizes_read, None);
        for pool in &unread.pools {
            let after = pool.after.as_ref().unwrap();
            assert_eq!(after.monthly_usd, None);
            assert!(after.source.starts_with("unknown: ") && after.source.contains("status 401"));
        }

        let mut before = floor.clone();
        before.insert("gone".into(), shape(0, true, 0, 1));
        let catalog = catalog();
        let woken = summarise(
            &pools,
            &before,
            &awake,
            Ok(&catalog),
            &PriceTable::embedded(),
        );
        assert_eq!(
            woken.cost_before,
            Total {
                known_usd: 48.0,
                unknown: 1
            }
        );
        assert_eq!(
            woken.cost_after,
            Total {
                known_usd: 192.0,
                unknown: 0
            }
        );
        let gone = &woken.pools[2];
        assert_eq!((gone.name.as_str(), gone.size.as_deref()), ("gone", None));
        assert!(gone.after.is_none());
        assert_eq!(gone.before.as_ref().unwrap().monthly_usd, None);
    }
}
