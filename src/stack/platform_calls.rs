//! The module calls a platform's sections stand for. The renderer, the check that `[[modules]]` names do not
//! clash with them, and `ci changed` all read this one table, so a platform stack depends on exactly the
//! project modules its rendered root calls.

use super::platform::Platform;

/// One module call implied by the platform sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformCall {
    /// The `module` block's name in the rendered root (what stack outputs refer to, like `cluster.endpoint`).
    pub name: &'static str,
    /// The directory of the project's `modules/` it calls.
    pub module: &'static str,
    /// The longest `name` the module accepts: its validation is `^[a-z][a-z0-9-]{0,longest_name-1}$`.
    pub longest_name: usize,
}

impl PlatformCall {
    /// Whether the module's `name` validation accepts `name`.
    pub fn accepts_name(self, name: &str) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.len() <= self.longest_name
    }
}

/// `[vpc]` (always present in a platform).
pub const VPC: PlatformCall = PlatformCall {
    name: "vpc",
    module: "vpc",
    longest_name: 63,
};
/// `[cluster]` and `[[node_pools]]`.
pub const CLUSTER: PlatformCall = PlatformCall {
    name: "cluster",
    module: "doks",
    longest_name: 63,
};
/// `[vault_appliance]`.
pub const VAULT_APPLIANCE: PlatformCall = PlatformCall {
    name: "vault_appliance",
    module: "vault_appliance",
    longest_name: 41,
};

impl Platform {
    /// The module calls this platform renders, in render order.
    pub fn calls(&self) -> Vec<PlatformCall> {
        let mut calls = vec![VPC, CLUSTER];
        if self.vault_appliance.is_some() {
            calls.push(VAULT_APPLIANCE);
        }
        calls
    }
}
