//! The platform sections as written in a stack file, each value with its span, before any check.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawDigitalOcean {
    pub(in crate::stack) region: Spanned<String>,
    pub(in crate::stack) project: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawVpc {
    pub(in crate::stack) name: Option<Spanned<String>>,
    pub(in crate::stack) cidr: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawCluster {
    pub(in crate::stack) name: Option<Spanned<String>>,
    pub(in crate::stack) version: Option<Spanned<String>>,
    pub(super) ha: Option<bool>,
    pub(super) auto_upgrade: Option<bool>,
    pub(super) surge_upgrade: Option<bool>,
    pub(super) maintenance: Option<Spanned<RawMaintenance>>,
    #[serde(default)]
    pub(super) tags: Vec<Spanned<String>>,
    pub(super) api_allowed_cidrs: Option<Vec<Spanned<String>>>,
    pub(super) destroy_all_associated_resources: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawMaintenance {
    pub(super) day: Option<Spanned<String>>,
    pub(super) start_time: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawNodePool {
    pub(in crate::stack) name: Spanned<String>,
    pub(in crate::stack) size: Option<Spanned<String>>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) autoscale: Option<Spanned<RawAutoscale>>,
    #[serde(default)]
    pub(super) labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub(super) taints: Vec<Spanned<RawTaint>>,
    #[serde(default)]
    pub(super) tags: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawAutoscale {
    pub(super) min: Spanned<i64>,
    pub(super) max: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawTaint {
    pub(super) key: String,
    #[serde(default)]
    pub(super) value: String,
    pub(super) effect: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::stack) struct RawVaultAppliance {
    pub(in crate::stack) size: Option<Spanned<String>>,
    pub(super) image: Option<String>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) volume_size_gb: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) ssh_keys: Vec<String>,
    #[serde(default)]
    pub(super) ssh_cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) allow_ssh_from_anywhere: bool,
    pub(super) api_cidrs: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) allow_api_from_anywhere: bool,
    pub(super) openbao_sha256: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tls_names: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) tls_ips: Vec<Spanned<String>>,
    pub(super) api_port: Option<Spanned<i64>>,
    pub(super) cluster_port: Option<Spanned<i64>>,
    pub(super) distribution: Option<Spanned<String>>,
}

/// The raw platform sections of a stack file.
#[derive(Debug, Default)]
pub(in crate::stack) struct RawPlatform<'a> {
    pub(in crate::stack) digitalocean: Option<&'a Spanned<RawDigitalOcean>>,
    pub(in crate::stack) vpc: Option<&'a Spanned<RawVpc>>,
    pub(in crate::stack) cluster: Option<&'a Spanned<RawCluster>>,
    pub(in crate::stack) node_pools: &'a [Spanned<RawNodePool>],
    pub(in crate::stack) vault_appliance: Option<&'a Spanned<RawVaultAppliance>>,
}
