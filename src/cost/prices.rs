//! The price table for what `/v2/sizes` does not price (`cost/prices.toml`, embedded in the binary).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

const TABLE: &str = include_str!("../../cost/prices.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub usd: f64,
    pub unit: String,
    pub source: String,
    pub date: String,
}

#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: BTreeMap<String, PriceEntry>,
}

impl PriceTable {
    /// The embedded table; a test keeps it readable, so this never fails at run time.
    pub fn embedded() -> Self {
        Self {
            entries: toml::from_str(TABLE).unwrap_or_default(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&PriceEntry> {
        self.entries.get(name)
    }

    /// How an estimate line cites entry `name`.
    pub fn cite(&self, name: &str) -> String {
        match self.get(name) {
            Some(entry) => format!("price table `{name}` ({}, {})", entry.source, entry.date),
            None => format!("price table `{name}` (missing)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_reads_and_cites_its_sources() {
        let entries: BTreeMap<String, PriceEntry> = toml::from_str(TABLE).unwrap();
        for name in [
            "ha_control_plane",
            "load_balancer_unit",
            "volume_gb",
            "spaces",
            "free",
        ] {
            let entry = &entries[name];
            assert!(entry.source.starts_with("https://"), "{name}");
            assert_eq!(entry.date.len(), 10, "{name}");
        }
    }
}
