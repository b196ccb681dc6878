//! Which DigitalOcean API a run talks to itself, and with which token: the sandbox with its own token under
//! `--sandbox`, else DigitalOcean's with the stack's token secret read from Vault as the run's role reads it,
//! else `$DIGITALOCEAN_TOKEN`.

use secrecy::SecretString;

use super::context::{Context, Prepared, missing_secret};
use crate::digitalocean::{API, Api};
use crate::error::Error;
use crate::render::TOKEN_SECRETS;
use crate::stack::{CredentialRole, Stack};
use crate::vault::{Vault, VaultError, read_secrets};

/// The API of a prepared run, or `None` when no token is to be had.
pub(crate) async fn resolve(
    context: &Context,
    prepared: &Prepared,
    role: CredentialRole,
) -> Result<Option<Api>, Error> {
    resolve_for(
        context.engine.sandbox.as_ref(),
        &prepared.stack,
        prepared.vault.as_ref(),
        role,
    )
    .await
}

/// The API for `stack`, its token read through `vault` when the stack declares one there.
pub(crate) async fn resolve_for(
    sandbox: Option<&url::Url>,
    stack: &Stack,
    vault: Option<&Vault>,
    role: CredentialRole,
) -> Result<Option<Api>, Error> {
    let secret = token_secret(stack).filter(|_| sandbox.is_none());
    let read = match (secret, vault) {
        (Some(secret), Some(vault)) => {
            match read_secrets(vault, std::slice::from_ref(secret), role).await {
                Ok(values) => values,
                Err(VaultError::SecretAbsent { variable, source }) => {
                    return Err(missing_secret(stack, &variable, source));
                }
                Err(error) => return Err(error.into()),
            }
        }
        _ => Vec::new(),
    };
    Ok(from_read(sandbox, stack, &read))
}

/// The secret that holds the stack's DigitalOcean token, if it declares one.
fn token_secret(stack: &Stack) -> Option<&crate::stack::SecretInput> {
    stack
        .secrets
        .iter()
        .find(|secret| TOKEN_SECRETS.contains(&secret.variable.as_str()))
}

/// The API for `stack` from secrets a run has read already (`TF_VAR_<variable>` values, as tofu gets them):
/// the sandbox under `--sandbox`, else the stack's token secret, else `$DIGITALOCEAN_TOKEN`.
pub(crate) fn from_read(
    sandbox: Option<&url::Url>,
    stack: &Stack,
    read: &[(String, SecretString)],
) -> Option<Api> {
    if let Some(sandbox) = sandbox {
        return Some(Api {
            url: sandbox.clone(),
            token: SecretString::from(crate::settings::SANDBOX_TOKEN),
        });
    }
    let token = match token_secret(stack) {
        Some(secret) => {
            let name = format!("TF_VAR_{}", secret.variable);
            read.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
        }
        None => std::env::var("DIGITALOCEAN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty())
            .map(SecretString::from),
    };
    token.map(|token| Api {
        url: url::Url::parse(API).expect("a constant, valid URL"),
        token,
    })
}

/// The API, or the error that says how to give it a token.
pub(crate) async fn require(
    context: &Context,
    prepared: &Prepared,
    role: CredentialRole,
) -> Result<Api, Error> {
    resolve(context, prepared, role)
        .await?
        .ok_or(Error::MissingEnv {
            name: "DIGITALOCEAN_TOKEN",
            hint: "\n  hint: declare the DigitalOcean token in [secrets] (do_token), or export DIGITALOCEAN_TOKEN",
        })
}
