//! `vault bootstrap`: initialise, unseal and configure a fresh Vault or OpenBao (see `vault::bootstrap`).

use secrecy::SecretString;

use super::report::Report;
use crate::engine::OutputValue;
use crate::error::Error;
use crate::project::Project;
use crate::run::context::{Context, prepare};
use crate::stack::{CredentialRole, Stack, StateEncryption, VAULT_APPLIANCE};
use crate::vault::{BootstrapOptions, StackScope, bootstrap, fetch_ca};

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

/// With `--appliance <stack>`: the appliance's CA, learnt from the appliance and trusted only if it is attested
/// with the stack's enrollment token (see `vault::attestation`), written to `--ca-cert`; the address is the
/// stack's appliance endpoint unless one was given.
pub async fn appliance_ca(
    context: &Context,
    stack: &str,
    options: &mut BootstrapOptions,
) -> Result<(), Error> {
    const WORKSPACE: &str = "default";
    let mut prepared = prepare(context, stack, WORKSPACE).await?;
    let outputs = match prepared.tofu.outputs(WORKSPACE).await {
        Ok(outputs) => outputs,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let output = |module_output: &str| {
        let name = prepared
            .stack
            .outputs
            .iter()
            .find(|output| output.module == VAULT_APPLIANCE.name && output.output == module_output)
            .map(|output| output.name.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "stack {stack} has no output from {}.{module_output}\n  hint: add [[outputs]] with from = \"{}.{module_output}\" to stacks/{stack}.toml and run `wildside-tofu up {stack}`",
                    VAULT_APPLIANCE.name, VAULT_APPLIANCE.name
                ))
            })?;
        outputs.0.get(&name).cloned().ok_or_else(|| {
            Error::Usage(format!(
                "stack {stack} has no `{name}` in its state yet\n  hint: run `wildside-tofu up {stack}` first"
            ))
        })
    };
    let token = match output("enrollment_token")? {
        OutputValue::Sensitive(value) => {
            let text: String = serde_json::from_str(secrecy::ExposeSecret::expose_secret(&value))
                .unwrap_or_default();
            SecretString::from(text)
        }
        OutputValue::Plain(value) => {
            SecretString::from(value.as_str().unwrap_or_default().to_string())
        }
    };
    if options.address.is_empty() {
        options.address = match output("endpoint")? {
            OutputValue::Plain(value) => value.as_str().unwrap_or_default().to_string(),
            OutputValue::Sensitive(_) => String::new(),
        };
    }
    let Some(path) = options.ca_cert.clone() else {
        return Err(Error::Usage(
            "--appliance needs --ca-cert: where to write the appliance's CA".into(),
        ));
    };
    let (address, wait) = (options.address.clone(), options.wait);
    tokio::task::spawn_blocking(move || fetch_ca(&address, &token, &path, wait))
        .await
        .map_err(|error| Error::Usage(format!("learning the appliance's CA: {error}")))??;
    Ok(())
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
