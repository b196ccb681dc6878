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
    if let Some(sandbox) = sandbox {
        return Ok(Some(Api {
            url: sandbox.clone(),
            token: SecretString::from(crate::settings::SANDBOX_TOKEN),
        }));
    }
    let url = url::Url::parse(API).expect("a constant, valid URL");
    let secret = stack
        .secrets
        .iter()
        .find(|secret| TOKEN_SECRETS.contains(&secret.variable.as_str()));
    let token = match (secret, vault) {
        (Some(secret), Some(vault)) => {
            match read_secrets(vault, std::slice::from_ref(secret), role).await {
                Ok(mut values) => values.pop().map(|(_, value)| value),
                Err(VaultError::SecretAbsent { variable, source }) => {
                    return Err(missing_secret(stack, &variable, source));
                }
                Err(error) => return Err(error.into()),
            }
        }
        _ => std::env::var("DIGITALOCEAN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty())
            .map(SecretString::from),
    };
    Ok(token.map(|token| Api { url, token }))
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
