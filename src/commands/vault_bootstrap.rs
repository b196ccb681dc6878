//! `vault bootstrap`: initialise, unseal and configure a fresh Vault or OpenBao (see `vault::bootstrap`).

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::stack::StateEncryption;
use crate::vault::{BootstrapOptions, bootstrap};

/// The transit keys of the project's stacks (none when no project is found or a stack does not load: bootstrap
/// does not need a project, and `up` names a missing key clearly).
pub fn project_state_keys(project: Option<&std::path::Path>) -> Vec<String> {
    let Ok(project) = Project::locate(project) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = project
        .stack_names()
        .iter()
        .filter_map(|name| project.load_stack(name).ok())
        .filter_map(|stack| match stack.encryption {
            StateEncryption::Transit { key, .. } => Some(key),
            _ => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

pub async fn vault_bootstrap(options: &BootstrapOptions) -> Result<Report, Error> {
    if options.key_threshold == 0 || options.key_threshold > options.key_shares {
        return Err(Error::Usage(format!(
            "--key-threshold {} must be between 1 and --key-shares {}",
            options.key_threshold, options.key_shares
        )));
    }
    Ok(Report::VaultBootstrap(bootstrap(options).await?))
}
