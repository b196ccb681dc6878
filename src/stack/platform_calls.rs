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
}

/// `[vpc]` (always present in a platform).
pub const VPC: PlatformCall = PlatformCall {
    name: "vpc",
    module: "vpc",
};
/// `[cluster]` and `[[node_pools]]`.
pub const CLUSTER: PlatformCall = PlatformCall {
    name: "cluster",
    module: "doks",
};
/// `[vault_appliance]`.
pub const VAULT_APPLIANCE: PlatformCall = PlatformCall {
    name: "vault_appliance",
    module: "vault_appliance",
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
