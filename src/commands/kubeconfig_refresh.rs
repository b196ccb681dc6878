//! `kubeconfig refresh <stack>`: a fresh kubeconfig for the stack's cluster, from DigitalOcean's API, written
//! where `outputs push` writes the `kubeconfig` output. DigitalOcean expires a kubeconfig's token (after the
//! thirty days the `doks` module asks for), so the one state (and Vault) got at apply time goes stale; this
//! keeps what Vault holds working. `--all` does it for every stack with a cluster whose kubeconfig is in Vault,
//! so the daily workflow names no stacks and works in any repository.

use serde::Deserialize;

use super::report::{Report, SkipReason, SkippedStack};
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, Secrets, prepare_with};
use crate::run::{digitalocean_api, vault_outputs};
use crate::stack::{CredentialRole, Stack};
use crate::vault::write_output;

/// The output that holds the cluster's kubeconfig.
const OUTPUT: &str = "kubeconfig";

/// The platform module's cluster, as state addresses it.
const CLUSTER: &str = "module.cluster.digitalocean_kubernetes_cluster.this";

pub async fn kubeconfig_refresh(
    context: &Context,
    stack: &str,
    workspace: &str,
) -> Result<Report, Error> {
    let mut prepared = prepare_with(
        context,
        stack,
        workspace,
        PrepareOptions {
            secrets: Secrets::Skip,
            ..PrepareOptions::default()
        },
    )
    .await?;
    let (Some(vault), Some(target)) = (
        &prepared.vault,
        prepared
            .stack
            .outputs_to_vault
            .iter()
            .find(|target| target.output == OUTPUT),
    ) else {
        return Err(Error::Usage(format!(
            "stack `{stack}` does not write an output `{OUTPUT}` to Vault\n  hint: add `{OUTPUT} = \"<path>\"` to [outputs_to_vault]"
        )));
    };
    let target = target.clone();
    let json = match prepared.tofu.show_state_json(workspace).await {
        Ok(json) => json,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let Some(cluster_id) = cluster_id(&json) else {
        return Err(Error::NoCluster {
            stack: prepared.stack.name.clone(),
            workspace: workspace.to_string(),
        });
    };
    let api = digitalocean_api::require(context, &prepared, CredentialRole::Apply).await?;
    let kubeconfig = api.cluster_kubeconfig(&cluster_id).await?;
    let write = write_output(
        vault,
        &prepared.stack,
        workspace,
        &target,
        &kubeconfig,
        &vault_outputs::metadata(context),
    )
    .await
    .map_err(|source| Error::OutputsNotPushed {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        source: Box::new(source),
    })?;
    Ok(Report::KubeconfigRefresh {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        cluster_id,
        vault: write,
    })
}

/// Why `stack` has no kubeconfig of its own to refresh, if it has none.
fn skip_reason(stack: &Stack) -> Option<SkipReason> {
    if stack.preview.is_some() {
        Some(SkipReason::Preview)
    } else if stack.platform.is_none() {
        Some(SkipReason::NoCluster)
    } else if !stack
        .outputs_to_vault
        .iter()
        .any(|target| target.output == OUTPUT)
    {
        Some(SkipReason::NoKubeconfigInVault)
    } else {
        None
    }
}

/// Refreshes every stack that has a cluster and writes its kubeconfig to Vault. Every such stack is tried; the
/// first failure is the error, once the others have had their turn (each failure is logged as it happens).
pub async fn kubeconfig_refresh_all(context: &Context, workspace: &str) -> Result<Report, Error> {
    let mut refreshed = Vec::new();
    let mut skipped = Vec::new();
    let mut first_failure = None;
    for name in context.project.stack_names() {
        let stack = context.project.load_stack(&name)?;
        if let Some(reason) = skip_reason(&stack) {
            skipped.push(SkippedStack {
                stack: name,
                reason,
            });
            continue;
        }
        match kubeconfig_refresh(context, &name, workspace).await {
            Ok(report) => refreshed.push(report),
            Err(error) => {
                tracing::error!("the kubeconfig of stack `{name}` was not refreshed: {error}");
                first_failure.get_or_insert(error);
            }
        }
    }
    match first_failure {
        Some(error) => Err(error),
        None => Ok(Report::KubeconfigRefreshAll { refreshed, skipped }),
    }
}

#[derive(Deserialize)]
struct State {
    values: Option<Values>,
}

#[derive(Deserialize)]
struct Values {
    root_module: Module,
}

#[derive(Deserialize)]
struct Module {
    #[serde(default)]
    resources: Vec<Resource>,
    #[serde(default)]
    child_modules: Vec<Module>,
}

#[derive(Deserialize)]
struct Resource {
    address: String,
    values: ResourceValues,
}

#[derive(Deserialize)]
struct ResourceValues {
    id: Option<String>,
}

/// The cluster's id in `show -json` state; `None` when state holds no cluster.
fn cluster_id(json: &str) -> Option<String> {
    let state: State = serde_json::from_str(json).ok()?;
    let mut modules = vec![state.values?.root_module];
    while let Some(module) = modules.pop() {
        if let Some(id) = module
            .resources
            .iter()
            .find(|resource| resource.address == CLUSTER)
            .and_then(|resource| resource.values.id.clone())
        {
            return Some(id);
        }
        modules.extend(module.child_modules);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::cluster_id;

    #[test]
    fn the_cluster_id_is_found_in_the_cluster_module() {
        let state = serde_json::json!({
            "values": {"root_module": {
                "resources": [],
                "child_modules": [{
                    "address": "module.cluster",
                    "resources": [
                        {"address": "module.cluster.digitalocean_kubernetes_node_pool.extra", "values": {"id": "pool"}},
                        {"address": "module.cluster.digitalocean_kubernetes_cluster.this", "values": {"id": "c-1"}},
                    ],
                }],
            }},
        });
        assert_eq!(cluster_id(&state.to_string()), Some("c-1".to_string()));
    }

    #[test]
    fn an_empty_state_has_no_cluster() {
        assert_eq!(cluster_id(r#"{"format_version": "1.0"}"#), None);
    }
}
