//! Pricing resources from their attribute values (as `tofu show -json` gives them for state and for a plan's
//! before and after), and the plan's difference per resource and in total.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::CostError;
use super::prices::PriceTable;
use super::sizes::SizeCatalog;

/// DigitalOcean resources that cost nothing by themselves.
const FREE: [&str; 7] = [
    "digitalocean_vpc",
    "digitalocean_firewall",
    "digitalocean_certificate",
    "digitalocean_project",
    "digitalocean_project_resources",
    "digitalocean_tag",
    "digitalocean_ssh_key",
];

/// One resource's monthly price; `monthly_usd` is `None` when it is unknown (never zero for unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub monthly_usd: Option<f64>,
    /// Where the price came from, or why it is unknown.
    pub source: String,
}

/// A sum of known prices and how many were unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Total {
    pub known_usd: f64,
    pub unknown: usize,
}

impl Total {
    fn of<'a>(lines: impl Iterator<Item = &'a CostLine>) -> Self {
        Self::sum(lines.map(|line| line.monthly_usd))
    }

    /// The sum of the known prices, and how many are unknown (`None`).
    pub fn sum(prices: impl IntoIterator<Item = Option<f64>>) -> Self {
        prices
            .into_iter()
            .fold(Self::default(), |total, price| match price {
                Some(usd) => Self {
                    known_usd: total.known_usd + usd,
                    ..total
                },
                None => Self {
                    unknown: total.unknown + 1,
                    ..total
                },
            })
    }

    /// `$12.00`, or `$12.00 + 2 unknown`.
    pub fn display(&self) -> String {
        if self.unknown == 0 {
            format!("${:.2}", self.known_usd)
        } else {
            format!("${:.2} + {} unknown", self.known_usd, self.unknown)
        }
    }
}

/// The monthly estimate of what state holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub lines: Vec<CostLine>,
    pub total: Total,
    /// When `/v2/sizes` was read (`None` when no size was needed or the read failed).
    pub sizes_read: Option<String>,
}

/// One resource a plan changes: its price before and after (absent on the side where it does not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostChange {
    pub address: String,
    pub before: Option<CostLine>,
    pub after: Option<CostLine>,
    /// After minus before; `None` when either side is unknown.
    pub delta_usd: Option<f64>,
}

/// Dollars a month as the views show them: `$12.00`, or `unknown`.
pub fn money(usd: Option<f64>) -> String {
    usd.map_or_else(|| "unknown".to_string(), |usd| format!("${usd:.2}"))
}

impl CostChange {
    /// The monthly price before and after (`-` where the resource does not exist) and the difference
    /// (`unknown` when a side is), as the views show them.
    pub fn shown(&self) -> (String, String, String) {
        let side = |line: &Option<CostLine>| {
            line.as_ref()
                .map_or_else(|| "-".to_string(), |line| money(line.monthly_usd))
        };
        let delta = self
            .delta_usd
            .map_or_else(|| "unknown".to_string(), |delta| format!("{delta:+.2}"));
        (side(&self.before), side(&self.after), delta)
    }

    /// Where the price came from (the side that exists, after first).
    pub fn source(&self) -> &str {
        self.after
            .as_ref()
            .or(self.before.as_ref())
            .map(|line| line.source.as_str())
            .unwrap_or_default()
    }
}

/// A plan's cost: before → after and the difference, per resource and in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostDiff {
    /// Resources whose price changes (or is unknown on a side), ordered by address.
    pub changes: Vec<CostChange>,
    pub before: Total,
    pub after: Total,
    pub sizes_read: Option<String>,
    /// Set when the after total exceeds the stack's `[budget]`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub over_budget: Option<BudgetBreach>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetBreach {
    pub monthly_usd: f64,
    pub estimate_usd: f64,
    /// The most expensive resources after the plan, most expensive first.
    pub drivers: Vec<CostLine>,
}

impl CostDiff {
    pub fn delta(&self) -> f64 {
        self.after.known_usd - self.before.known_usd
    }
}

/// Prices from a catalog and the table.
struct Pricer<'a> {
    sizes: Option<&'a SizeCatalog>,
    sizes_error: Option<&'a str>,
    table: &'a PriceTable,
}

impl Pricer<'_> {
    fn size(&self, slug: Option<&str>, count: f64) -> Result<(f64, String), String> {
        let Some(slug) = slug else {
            return Err("size known only after apply".into());
        };
        let Some(catalog) = self.sizes else {
            return Err(format!(
                "/v2/sizes unavailable{}",
                self.sizes_error
                    .map(|error| format!(": {error}"))
                    .unwrap_or_default()
            ));
        };
        match catalog.sizes.get(slug) {
            Some(price) => Ok((
                price.monthly * count,
                format!("/v2/sizes `{slug}` read {}", catalog.read),
            )),
            None => Err(format!(
                "size `{slug}` is not in /v2/sizes (read {})",
                catalog.read
            )),
        }
    }

    fn table(&self, name: &str, quantity: f64) -> Result<(f64, String), String> {
        match self.table.get(name) {
            Some(entry) => Ok((entry.usd * quantity, self.table.cite(name))),
            None => Err(format!("no `{name}` in the price table")),
        }
    }

    /// The price of one resource, or `None` for resources DigitalOcean does not bill (other providers).
    fn line(&self, address: &str, kind: &str, values: &Value) -> Option<CostLine> {
        if !kind.starts_with("digitalocean_") {
            return None;
        }
        let text = |key: &str| values.get(key).and_then(Value::as_str);
        let number = |key: &str| values.get(key).and_then(Value::as_f64);
        let result = match kind {
            _ if FREE.contains(&kind) => self.table("free", 0.0),
            "digitalocean_droplet" => self.size(text("size"), 1.0),
            "digitalocean_kubernetes_node_pool" => self.size(text("size"), nodes(values)),
            "digitalocean_kubernetes_cluster" => {
                let pool = values
                    .get("node_pool")
                    .and_then(Value::as_array)
                    .and_then(|pools| pools.first())
                    .unwrap_or(&Value::Null);
                self.size(pool.get("size").and_then(Value::as_str), nodes(pool))
                    .and_then(|(usd, source)| {
                        if values.get("ha").and_then(Value::as_bool) == Some(true) {
                            let (ha, ha_source) = self.table("ha_control_plane", 1.0)?;
                            Ok((usd + ha, format!("{source}; {ha_source}")))
                        } else {
                            Ok((usd, source))
                        }
                    })
            }
            "digitalocean_volume" => match number("size") {
                Some(gb) if address.starts_with("module.vault_appliance.") => {
                    self.table("vault_appliance_volume_gb", gb)
                }
                Some(gb) => self.table("volume_gb", gb),
                None => Err("volume size known only after apply".into()),
            },
            "digitalocean_loadbalancer" => self.table(
                "load_balancer_unit",
                number("size_unit").unwrap_or(1.0).max(1.0),
            ),
            "digitalocean_spaces_bucket" => self.table("spaces", 1.0),
            _ => Err(format!("no price for `{kind}`")),
        };
        let (monthly_usd, source) = match result {
            Ok((usd, source)) => (Some((usd * 100.0).round() / 100.0), source),
            Err(reason) => (None, format!("unknown: {reason}")),
        };
        Some(CostLine {
            address: address.to_string(),
            kind: kind.to_string(),
            monthly_usd,
            source,
        })
    }
}

/// The monthly price of one resource from its attribute values, priced as state and plans are; `None` for
/// resources DigitalOcean does not bill. A failed `/v2/sizes` read is `sizes`' error, named in the line.
pub fn price_resource(
    address: &str,
    kind: &str,
    values: &Value,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
) -> Option<CostLine> {
    Pricer {
        sizes: sizes.ok(),
        sizes_error: sizes.err(),
        table,
    }
    .line(address, kind, values)
}

/// Nodes billed for a pool: its fixed count, or with autoscaling its minimum.
fn nodes(pool: &Value) -> f64 {
    let number = |key: &str| pool.get(key).and_then(Value::as_f64);
    if pool.get("auto_scale").and_then(Value::as_bool) == Some(true) {
        number("min_nodes").unwrap_or(0.0)
    } else {
        number("node_count").unwrap_or(0.0)
    }
}

/// The estimate of a state (`tofu show -json` without a plan): every resource under `values.root_module`.
pub fn estimate_state(
    state_json: &str,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
) -> Result<Estimate, CostError> {
    let state: Value = serde_json::from_str(state_json).map_err(|source| CostError::Json {
        what: "state",
        source,
    })?;
    let pricer = Pricer {
        sizes: sizes.ok(),
        sizes_error: sizes.err(),
        table,
    };
    let mut lines = Vec::new();
    collect_state(&state["values"]["root_module"], &pricer, &mut lines);
    lines.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Estimate {
        total: Total::of(lines.iter()),
        lines,
        sizes_read: pricer.sizes.map(|catalog| catalog.read.clone()),
    })
}

fn collect_state(module: &Value, pricer: &Pricer<'_>, lines: &mut Vec<CostLine>) {
    for resource in module["resources"].as_array().into_iter().flatten() {
        if resource["mode"] != "managed" {
            continue;
        }
        let address = resource["address"].as_str().unwrap_or_default();
        let kind = resource["type"].as_str().unwrap_or_default();
        lines.extend(pricer.line(address, kind, &resource["values"]));
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        collect_state(child, pricer, lines);
    }
}

/// The cost of a plan (`tofu show -json <plan>`): every managed resource before and after, the changes
/// that move the price, and the totals; `budget` is the stack's monthly ceiling.
pub fn estimate_plan(
    plan_json: &str,
    sizes: Result<&SizeCatalog, &str>,
    table: &PriceTable,
    budget: Option<f64>,
) -> Result<CostDiff, CostError> {
    let plan: Value = serde_json::from_str(plan_json).map_err(|source| CostError::Json {
        what: "plan",
        source,
    })?;
    let pricer = Pricer {
        sizes: sizes.ok(),
        sizes_error: sizes.err(),
        table,
    };
    let mut befores = Vec::new();
    let mut afters = Vec::new();
    let mut changes = Vec::new();
    for change in plan["resource_changes"].as_array().into_iter().flatten() {
        if change["mode"] != "managed" {
            continue;
        }
        let address = change["address"].as_str().unwrap_or_default();
        let kind = change["type"].as_str().unwrap_or_default();
        let side = |key: &str| {
            let values = &change["change"][key];
            (!values.is_null())
                .then(|| pricer.line(address, kind, values))
                .flatten()
        };
        let (before, after) = (side("before"), side("after"));
        befores.extend(before.clone());
        afters.extend(after.clone());
        let price = |line: &Option<CostLine>| line.as_ref().map(|line| line.monthly_usd);
        let delta = match (price(&before), price(&after)) {
            (Some(Some(b)), Some(Some(a))) => Some(a - b),
            (None, Some(Some(a))) => Some(a),
            (Some(Some(b)), None) => Some(-b),
            _ => None,
        };
        if (before.is_some() || after.is_some()) && delta != Some(0.0) {
            changes.push(CostChange {
                address: address.to_string(),
                before,
                after,
                delta_usd: delta.map(|d| (d * 100.0).round() / 100.0),
            });
        }
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let after = Total::of(afters.iter());
    let over_budget = budget
        .filter(|limit| after.known_usd > *limit)
        .map(|limit| {
            let mut drivers: Vec<CostLine> = afters
                .iter()
                .filter(|line| line.monthly_usd.is_some_and(|usd| usd > 0.0))
                .cloned()
                .collect();
            drivers.sort_by(|a, b| {
                b.monthly_usd
                    .partial_cmp(&a.monthly_usd)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            drivers.truncate(5);
            BudgetBreach {
                monthly_usd: limit,
                estimate_usd: (after.known_usd * 100.0).round() / 100.0,
                drivers,
            }
        });
    Ok(CostDiff {
        changes,
        before: Total::of(befores.iter()),
        after,
        sizes_read: pricer.sizes.map(|catalog| catalog.read.clone()),
        over_budget,
    })
}

/// Whether a plan or state prices any size (and so needs `/v2/sizes`).
pub(super) fn needs_sizes(json: &str) -> bool {
    ["digitalocean_droplet", "digitalocean_kubernetes"]
        .iter()
        .any(|kind| json.contains(kind))
}
