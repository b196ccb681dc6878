//! The platform sections of a stack: `[digitalocean]`, `[vpc]`, `[cluster]`, `[[node_pools]]` and
//! `[vault_appliance]`. `raw` holds them as written (with spans), this module as validated, and `check` the
//! checks that turn one into the other. Defaults make a two-line stack (`[digitalocean]` with a region) a
//! valid platform.

mod check;
mod raw;

pub(super) use check::{DOKS_RANGES, overlaps, parse_cidr};
pub(super) use raw::{
    RawCluster, RawDigitalOcean, RawNodePool, RawPlatform, RawVaultAppliance, RawVpc,
};

use super::choices::{Distribution, TaintEffect, Weekday};

/// A DigitalOcean platform: a VPC, a DOKS cluster with its node pools, and optionally a Vault appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub region: String,
    pub project: Option<String>,
    pub vpc: Vpc,
    pub cluster: Cluster,
    /// The first pool is the cluster's default pool; the others are separate node-pool resources.
    pub node_pools: Vec<NodePool>,
    pub vault_appliance: Option<VaultAppliance>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub name: String,
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    /// A minor (`1.33`, resolved to the newest patch) or an exact DOKS version (`1.33.1-do.3`).
    pub version: String,
    pub ha: bool,
    pub auto_upgrade: bool,
    pub surge_upgrade: bool,
    pub maintenance_day: Weekday,
    pub maintenance_start_time: String,
    pub tags: Vec<String>,
    /// Who may reach the Kubernetes API (the control-plane firewall); empty: anyone with credentials.
    pub api_allowed_cidrs: Vec<String>,
    /// Deleting the cluster also deletes the load balancers, volumes and snapshots its workloads made: off
    /// unless the stack says so, on by default for preview stacks.
    pub destroy_all_associated_resources: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePool {
    pub name: String,
    pub size: String,
    pub scaling: Scaling,
    pub labels: std::collections::BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    Fixed(u32),
    Autoscale { min: u32, max: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultAppliance {
    pub size: String,
    pub image: String,
    pub count: u32,
    pub volume_size_gb: u32,
    pub ssh_keys: Vec<String>,
    pub ssh_cidrs: Vec<String>,
    /// The load balancer's firewall: the networks that may reach Vault's API.
    pub api_cidrs: Vec<String>,
    /// The SHA-256 the OpenBao package is verified against (the `openbao` distribution only).
    pub openbao_sha256: Option<String>,
    pub tls_names: Vec<String>,
    pub tls_ips: Vec<String>,
    pub api_port: u16,
    pub cluster_port: u16,
    pub distribution: Distribution,
}

/// The OpenBao release the `vault_appliance` module installs: its `openbao_version` default.
pub const OPENBAO_VERSION: &str = "2.4.1";

/// The `vault_appliance` module's rule for `openbao_sha256`, `^[0-9a-f]{64}$`: a SHA-256 in lowercase hex.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}
