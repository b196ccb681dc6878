//! `vault bootstrap`: initialise, unseal and configure a fresh Vault or OpenBao (see `vault::bootstrap`).

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::stack::{CredentialRole, Stack, StateEncryption};
use crate::vault::{BootstrapOptions, StackScope, bootstrap};

/// What bootstrap takes from the project: its stacks' transit keys, and where its stacks with `[vault]` read
/// and write.
#[derive(Debug, Default)]
pub struct ProjectVault {
    pub state_keys: Vec<String>,
    pub stacks: Vec<StackScope>,
}

/// The project's stacks as bootstrap needs them (nothing when no project is found; a stack that does not load
/// is left out: bootstrap does not need a project, and `up` names a missing key or a refused path clearly).
pub fn project_vault(project: Option<&std::path::Path>) -> ProjectVault {
    let Ok(project) = Project::locate(project) else {
        return ProjectVault::default();
    };
    let stacks: Vec<_> = project
        .stack_names()
        .iter()
        .filter_map(|name| project.load_stack(name).ok())
        .collect();
    let mut state_keys: Vec<String> = stacks
        .iter()
        .filter_map(|stack| match &stack.encryption {
            StateEncryption::Transit { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    state_keys.sort();
    state_keys.dedup();
    let mut scopes: Vec<StackScope> = stacks
        .iter()
        .filter_map(|stack| {
            stack.vault.as_ref().map(|vault| StackScope {
                name: stack.name.clone(),
                mount: vault.mount.clone(),
                path_prefix: vault.path_prefix.clone(),
                writes_outputs: !stack.outputs_to_vault.is_empty(),
                previews: stack.preview.is_some(),
                secret_paths: secret_paths(stack, CredentialRole::Apply),
                plan_secret_paths: secret_paths(stack, CredentialRole::Plan),
                pull_request_plans: vault.pull_request_plans,
                state_key: match &stack.encryption {
                    StateEncryption::Transit { mount, key } => Some((mount.clone(), key.clone())),
                    _ => None,
                },
            })
        })
        .collect();
    scopes.sort();
    ProjectVault {
        state_keys,
        stacks: scopes,
    }
}

/// The KV paths a stack's secrets are read from by a run of `role`.
fn secret_paths(stack: &Stack, role: CredentialRole) -> Vec<String> {
    let mut paths: Vec<String> = stack
        .secrets
        .iter()
        .map(|secret| secret.source(role).0.to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

pub async fn vault_bootstrap(options: &BootstrapOptions) -> Result<Report, Error> {
    if options.key_threshold == 0 || options.key_threshold > options.key_shares {
        return Err(Error::Usage(format!(
            "--key-threshold {} must be between 1 and --key-shares {}",
            options.key_threshold, options.key_shares
        )));
    }
    let roles = [
        ("--plan-role", &options.plan_role),
        ("--preview-role", &options.preview_role),
        ("--apply-role", &options.apply_role),
    ];
    for (index, (flag, role)) in roles.iter().enumerate() {
        if let Some((other, _)) = roles[index + 1..].iter().find(|(_, other)| other == role) {
            return Err(Error::Usage(format!(
                "{flag} and {other} must differ (both are `{role}`)"
            )));
        }
    }
    Ok(Report::VaultBootstrap(bootstrap(options).await?))
}
