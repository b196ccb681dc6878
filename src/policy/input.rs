//! `data.wildside`: what policies know about the stack beside the plan. The plan itself is `input`, exactly as
//! `tofu show -json` prints it, so conftest policies work unchanged. This document is a contract for policy
//! authors: fields are added, never renamed.

use serde_json::{Value, json};

use crate::stack::{Scaling, Stack};

/// `{"wildside": {"stack_name", "stack", "settings"}}` for `stack`.
pub fn wildside_data(stack: &Stack) -> Value {
    let policy = &stack.policy;
    let platform = stack.platform.as_ref().map(|platform| {
        json!({
            "region": platform.region,
            "project": platform.project,
            "vpc": { "name": platform.vpc.name, "cidr": platform.vpc.cidr },
            "cluster": {
                "name": platform.cluster.name,
                "version": platform.cluster.version,
                "ha": platform.cluster.ha,
                "auto_upgrade": platform.cluster.auto_upgrade,
                "surge_upgrade": platform.cluster.surge_upgrade,
                "maintenance": {
                    "day": platform.cluster.maintenance_day.name(),
                    "start_time": platform.cluster.maintenance_start_time,
                },
                "tags": platform.cluster.tags,
            },
            "node_pools": platform.node_pools.iter().map(|pool| {
                let (count, min, max) = match pool.scaling {
                    Scaling::Fixed(count) => (Some(count), None, None),
                    Scaling::Autoscale { min, max } => (None, Some(min), Some(max)),
                };
                json!({
                    "name": pool.name, "size": pool.size, "count": count,
                    "min_nodes": min, "max_nodes": max, "tags": pool.tags,
                })
            }).collect::<Vec<_>>(),
            "vault_appliance": platform.vault_appliance.as_ref().map(|vault| json!({
                "size": vault.size,
                "count": vault.count,
                "volume_size_gb": vault.volume_size_gb,
                "ssh_cidrs": vault.ssh_cidrs,
                "api_cidrs": vault.api_cidrs,
            })),
        })
    });
    json!({
        "wildside": {
            "stack_name": stack.name,
            "stack": {
                "name": stack.name,
                "backend": stack.backend.kind(),
                "modules": stack.modules.iter().map(|module| module.name.as_str()).collect::<Vec<_>>(),
                "preview": stack.preview.is_some(),
                "platform": platform,
            },
            "settings": {
                "production": policy.production,
                "required_tags": policy.required_tags,
                "max_node_count": policy.max_node_count,
                "max_size_vcpus": policy.max_size_vcpus,
                "disabled": policy.disabled,
            },
        }
    })
}
