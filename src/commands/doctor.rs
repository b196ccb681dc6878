//! `doctor`: is this machine ready? The engine and its version, the provider mirror, and every stack's backend.

use secrecy::SecretString;

use super::report::{Check, Report};
use crate::backend_probe;
use crate::error::Error;
use crate::project::Project;
use crate::settings::{GlobalSettings, resolve_engine};
use crate::stack::Backend;

pub async fn doctor(global: &GlobalSettings, stacks: &[String]) -> Result<Report, Error> {
    let project = Project::locate(global.project.as_deref())?;
    let mut checks = Vec::new();
    match resolve_engine(global, &project.work_dir()).await {
        Ok(engine) => {
            let binary = &engine.binary;
            checks.push(Check {
                name: "engine".into(),
                ok: true,
                detail: format!(
                    "{} {} at {}",
                    binary.kind.name(),
                    binary.version,
                    binary.path.display()
                ),
            });
            checks.push(mirror_check(engine.cli_config.as_deref()));
        }
        Err(error) => checks.push(Check {
            name: "engine".into(),
            ok: false,
            detail: error.to_string(),
        }),
    }
    if let Some(sandbox) = &global.sandbox {
        checks.push(sandbox_check(sandbox).await);
    }
    let names = if stacks.is_empty() {
        project.stack_names()
    } else {
        stacks.to_vec()
    };
    for name in names {
        checks.push(stack_check(&project, &name).await);
    }
    let healthy = checks.iter().all(|check| check.ok);
    Ok(Report::Doctor { healthy, checks })
}

/// Whether the DigitalOcean sandbox that `--sandbox` names answers as one.
async fn sandbox_check(url: &url::Url) -> Check {
    let name = "sandbox".to_string();
    let answer = async {
        let account = url.join("v2/account").map_err(|error| error.to_string())?;
        let response = reqwest::Client::new()
            .get(account)
            .bearer_auth(crate::settings::SANDBOX_TOKEN)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|error| error.to_string())?;
        if !status.is_success() {
            return Err(format!("it answered {status}"));
        }
        Ok(body["account"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }
    .await;
    match answer {
        Ok(account) => Check {
            name,
            ok: true,
            detail: format!(
                "{url} answers as `{account}`: the provider talks to it, not to DigitalOcean"
            ),
        },
        Err(reason) => Check {
            name,
            ok: false,
            detail: format!(
                "{url} does not answer as a DigitalOcean API: {reason}\n  hint: start it with `wildside-sandbox serve`, or drop --sandbox"
            ),
        },
    }
}

fn mirror_check(cli_config: Option<&std::path::Path>) -> Check {
    let name = "provider mirror".to_string();
    let Some(config) = cli_config else {
        return Check {
            name,
            ok: true,
            detail: "none configured: providers come from the registry".into(),
        };
    };
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let mirror = text.lines().find_map(|line| {
        line.trim().strip_prefix("path").map(|rest| {
            rest.trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string()
        })
    });
    match mirror {
        Some(dir) if std::path::Path::new(&dir).is_dir() => {
            let providers = count_providers(std::path::Path::new(&dir));
            Check {
                name,
                ok: providers > 0,
                detail: format!(
                    "{dir} ({providers} provider versions; config {})",
                    config.display()
                ),
            }
        }
        Some(dir) => Check {
            name,
            ok: false,
            detail: format!("{dir} does not exist\n  hint: run `make tools`"),
        },
        None => Check {
            name,
            ok: true,
            detail: format!(
                "CLI configuration {} names no filesystem mirror",
                config.display()
            ),
        },
    }
}

/// Provider versions in a mirror laid out as `<host>/<namespace>/<type>/<version>/`.
fn count_providers(mirror: &std::path::Path) -> usize {
    let children = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect()
    };
    children(mirror)
        .iter()
        .flat_map(|host| children(host))
        .flat_map(|namespace| children(&namespace))
        .flat_map(|provider| children(&provider))
        .count()
}

async fn stack_check(project: &Project, name: &str) -> Check {
    let check_name = format!("stack {name}");
    let stack = match project.load_stack(name) {
        Ok(stack) => stack,
        Err(error) => {
            return Check {
                name: check_name,
                ok: false,
                detail: error.to_string(),
            };
        }
    };
    let conn_str = match &stack.backend {
        Backend::Pg { conn_str_env, .. } => match std::env::var(conn_str_env) {
            Ok(value) => Some(SecretString::from(value)),
            Err(_) => {
                return Check {
                    name: check_name,
                    ok: false,
                    detail: format!("pg backend: ${conn_str_env} is not set"),
                };
            }
        },
        _ => None,
    };
    if let Some(vault) = &stack.vault {
        let ca_cert = vault.ca_cert.as_ref().map(|path| project.root.join(path));
        if let Err(error) = crate::vault::probe(&vault.address, ca_cert.as_deref()).await {
            return Check {
                name: check_name,
                ok: false,
                detail: error.to_string(),
            };
        }
    }
    if stack.encryption == crate::stack::StateEncryption::Passphrase
        && let Err(error) =
            crate::encryption::KeySource::passphrase_from_env(&stack.name, "default")
    {
        return Check {
            name: check_name,
            ok: false,
            detail: error.to_string(),
        };
    }
    let vault = stack
        .vault
        .as_ref()
        .map(|vault| format!("; Vault at {} unsealed", vault.address))
        .unwrap_or_default();
    let vault = format!("{vault}; state {}", stack.encryption.describe());
    let label = backend_probe::describe(&stack.backend, conn_str.as_ref());
    match backend_probe::probe(&stack.backend, conn_str.as_ref()).await {
        Ok(()) => Check {
            name: check_name,
            ok: true,
            detail: format!("backend {label} reachable{vault}"),
        },
        Err(reason) => Check {
            name: check_name,
            ok: false,
            detail: format!("backend {label} unreachable: {reason}"),
        },
    }
}
