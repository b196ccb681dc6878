//! What something costs a day, from the monthly estimate of its state: the figure previews carry.
//!
//! DigitalOcean bills by the hour up to a monthly cap of 672 hours (28 days), and its hourly prices are the
//! monthly ones divided by 672. A preview lives hours or days, well under the cap, so a day of it costs 24
//! hourly prices: 24/672 (one 28th) of the monthly price. Dividing by the days of a calendar month instead
//! would understate what a short-lived resource is billed.

use serde::{Deserialize, Serialize};

use super::estimate::{Estimate, money};

/// Hours in a day over DigitalOcean's monthly billing cap of 672 hours.
const DAY_OF_MONTH: f64 = 24.0 / 672.0;

/// How the daily figures are derived from the monthly ones, as the views cite it.
pub const DAILY_BASIS: &str = "24 hourly prices (monthly / 672 h)";

/// One resource's price a day; `usd` is `None` when the price is unknown (never zero for unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyLine {
    pub address: String,
    pub usd: Option<f64>,
    /// Where the monthly price came from, or why it is unknown.
    pub source: String,
}

/// A state's cost a day: the sum of the known prices, how many are unknown, and every resource's price with
/// its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyCost {
    /// The known prices a day, summed (then rounded to cents), in US dollars.
    pub known_usd: f64,
    /// Resources whose price is unknown: they are not in `known_usd`.
    pub unknown: usize,
    pub lines: Vec<DailyLine>,
    /// When `/v2/sizes` was read (`None` when no size was needed or the read failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes_read: Option<String>,
}

fn cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

impl DailyCost {
    /// The daily cost of a monthly estimate (see the module's documentation for the rate).
    pub fn of(estimate: &Estimate) -> Self {
        Self {
            known_usd: cents(estimate.total.known_usd * DAY_OF_MONTH),
            unknown: estimate.total.unknown,
            lines: estimate
                .lines
                .iter()
                .map(|line| DailyLine {
                    address: line.address.clone(),
                    usd: line.monthly_usd.map(|usd| cents(usd * DAY_OF_MONTH)),
                    source: line.source.clone(),
                })
                .collect(),
            sizes_read: estimate.sizes_read.clone(),
        }
    }

    /// `$1.71 a day`, or `$1.71 + 2 unknown a day`.
    pub fn display(&self) -> String {
        if self.unknown == 0 {
            format!("${:.2} a day", self.known_usd)
        } else {
            format!("${:.2} + {} unknown a day", self.known_usd, self.unknown)
        }
    }

    /// The distinct sources of the prices (and reasons for unknown ones), in order of first appearance.
    pub fn sources(&self) -> Vec<&str> {
        let mut sources: Vec<&str> = Vec::new();
        for line in &self.lines {
            if !sources.contains(&line.source.as_str()) {
                sources.push(&line.source);
            }
        }
        sources
    }
}

impl DailyLine {
    /// `$0.21`, or `unknown`.
    pub fn shown(&self) -> String {
        money(self.usd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{CostLine, Total};

    fn line(address: &str, monthly_usd: Option<f64>, source: &str) -> CostLine {
        CostLine {
            address: address.into(),
            kind: "digitalocean_droplet".into(),
            monthly_usd,
            source: source.into(),
        }
    }

    #[test]
    fn a_day_is_24_hourly_prices_and_unknown_stays_unknown() {
        let estimate = Estimate {
            lines: vec![
                line("a", Some(48.0), "/v2/sizes `s-4vcpu-8gb` read 2026-11-25"),
                line("b", Some(12.0), "price table `load_balancer_unit`"),
                line(
                    "c",
                    None,
                    "unknown: no price for `digitalocean_database_cluster`",
                ),
                line("d", Some(6.0), "/v2/sizes `s-4vcpu-8gb` read 2026-11-25"),
            ],
            total: Total {
                known_usd: 66.0,
                unknown: 1,
            },
            sizes_read: Some("2026-11-25".into()),
        };
        let daily = DailyCost::of(&estimate);
        assert!((daily.known_usd - 2.36).abs() < 1e-9, "{daily:?}");
        assert_eq!(daily.unknown, 1);
        assert_eq!(daily.lines[0].usd, Some(1.71));
        assert_eq!(daily.lines[2].usd, None);
        assert_eq!(daily.lines[2].shown(), "unknown");
        assert_eq!(daily.display(), "$2.36 + 1 unknown a day");
        assert_eq!(daily.sources().len(), 3);
        let round_trip: DailyCost =
            serde_json::from_str(&serde_json::to_string(&daily).unwrap()).unwrap();
        assert_eq!(round_trip, daily);
    }
}
