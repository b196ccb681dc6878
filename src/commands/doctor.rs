//! `doctor`: is this machine ready? The engine and its version, the provider mirrors and where each provider
//! comes from, every stack's modules and backend, what its Vault token may do (`doctor_vault`), its lock file
//! (`doctor_lock`), and each platform stack against its DigitalOcean account (the token, and every size,
//! region, version, project and VPC range the stack names).

use secrecy::SecretString;

use super::doctor_lock::lock_check;
use super::doctor_vault::vault_check;
use super::report::{Check, Report};
use crate::backend_probe;
use crate::engine::{EngineBinary, EngineError, Mirror, ProviderAddress, Toolchain, source_of};
use crate::error::Error;
use crate::project::Project;
use crate::render::PROVIDER_PINS;
use crate::render::TOKEN_SECRETS;
use crate::run::{account_check, digitalocean_api};
use crate::settings::{GlobalSettings, locate_engine, provider_mirrors, resolve_engine};
use crate::stack::{Backend, CredentialRole, Stack};
use crate::vault::Vault;

pub async fn doctor(global: &GlobalSettings, stacks: &[String]) -> Result<Report, Error> {
    let project = Project::locate(global.project.as_deref())?;
    let mut checks = Vec::new();
    match provider_mirrors(global, &Toolchain::discover()) {
        Ok(mirrors) => {
            checks.extend(mirrors.iter().map(mirror_check));
            checks.push(providers_check(&mirrors));
        }
        Err(error) => checks.push(Check {
            name: "provider mirror".into(),
            ok: false,
            detail: error.to_string(),
        }),
    }
    let engine = match resolve_engine(global, &project.work_dir()).await {
        Ok(engine) => Ok(engine.binary),
        // The mirror's check above says what is wrong with it; the engine is checked on its own.
        Err(EngineError::Mirror(_)) => match locate_engine(global, &Toolchain::discover()) {
            Some(path) => EngineBinary::detect(&path, None).await,
            None => Err(EngineError::NotFound),
        },
        Err(error) => Err(error),
    };
    checks.insert(
        0,
        match engine {
            Ok(binary) => Check {
                name: "engine".into(),
                ok: true,
                detail: format!(
                    "{} {} at {}",
                    binary.kind.name(),
                    binary.version,
                    binary.path.display()
                ),
            },
            Err(error) => Check {
                name: "engine".into(),
                ok: false,
                detail: error.to_string(),
            },
        },
    );
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
        let Ok(stack) = project.load_stack(&name) else {
            continue;
        };
        checks.extend(vault_check(&project, &stack).await);
        checks.push(lock_check(&stack));
        if stack.platform.is_some() {
            checks.push(account_check(global, &project, &stack).await);
        }
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

/// A platform stack against its DigitalOcean account: a token to be had and accepted with the read scopes a
/// plan needs, and every problem the account check finds.
async fn account_check(global: &GlobalSettings, project: &Project, stack: &Stack) -> Check {
    let name = format!("stack {} on DigitalOcean", stack.name);
    let outcome = async {
        let vault = match &stack.vault {
            // Under --sandbox the stack's real token is not read.
            Some(settings)
                if global.sandbox.is_none()
                    && stack
                        .secrets
                        .iter()
                        .any(|secret| TOKEN_SECRETS.contains(&secret.variable.as_str())) =>
            {
                Some(Vault::connect(settings, &project.root).await?)
            }
            _ => None,
        };
        let Some(api) = digitalocean_api::resolve_for(
            global.sandbox.as_ref(),
            stack,
            vault.as_ref(),
            CredentialRole::Plan,
        )
        .await?
        else {
            return Err(Error::MissingEnv {
                name: "DIGITALOCEAN_TOKEN",
                hint: "\n  hint: declare the DigitalOcean token in [secrets] (do_token), or export DIGITALOCEAN_TOKEN",
            });
        };
        account_check::check_with(&api, stack).await?;
        Ok(api.url)
    }
    .await;
    match outcome {
        Ok(url) => Check {
            name,
            ok: true,
            detail: format!(
                "{url} accepts the token; the account offers the stack's region, sizes and Kubernetes version, holds its project, and no other VPC overlaps its range"
            ),
        },
        Err(error) => Check {
            name,
            ok: false,
            detail: error.to_string(),
        },
    }
}

/// What a filesystem mirror holds; one that holds nothing is a mistake (a wrong path or an unfinished copy).
fn mirror_check(mirror: &Mirror) -> Check {
    let versions: usize = mirror.providers.values().map(Vec::len).sum();
    let held: Vec<String> = mirror
        .providers
        .iter()
        .map(|(provider, versions)| format!("{provider} {}", versions.join(", ")))
        .collect();
    Check {
        name: "provider mirror".into(),
        ok: versions > 0,
        detail: if versions > 0 {
            format!(
                "{} ({versions} provider versions: {})",
                mirror.path.display(),
                held.join("; ")
            )
        } else {
            format!(
                "{} holds no provider\n  hint: run `make tools`, or point WILDSIDE_PROVIDER_MIRROR at a mirror `tofu providers mirror DIR` made",
                mirror.path.display()
            )
        },
    }
}

/// Where tofu installs each provider of the platform modules from: the first mirror that holds it, else the
/// registry.
fn providers_check(mirrors: &[Mirror]) -> Check {
    let sources: Vec<String> = PROVIDER_PINS
        .iter()
        .filter_map(|(_, source, _)| ProviderAddress::on_registry(source))
        .map(|provider| match source_of(mirrors, &provider) {
            Some(mirror) => format!("{provider} from the mirror {}", mirror.path.display()),
            None => format!("{provider} from the registry"),
        })
        .collect();
    Check {
        name: "providers".into(),
        ok: true,
        detail: format!("{}; any other from the registry", sources.join("; ")),
    }
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
    if let Err(error) = project.prepare_modules(&stack) {
        return Check {
            name: check_name,
            ok: false,
            detail: error.to_string(),
        };
    }
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
