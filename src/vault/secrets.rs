//! Secrets in: KV v2 values read into `SecretString`s, ready to become `TF_VAR_*` in tofu's environment.

use std::collections::HashMap;

use secrecy::SecretString;
use serde_json::Value;

use super::client::Vault;
use super::error::VaultError;
use crate::stack::{CredentialRole, SecretInput};

/// `(TF_VAR_<variable>, value)` for every declared secret, as a run of `role` reads it (a plan reads a
/// secret's `plan` source when it names one).
pub async fn read_secrets(
    vault: &Vault,
    secrets: &[SecretInput],
    role: CredentialRole,
) -> Result<Vec<(String, SecretString)>, VaultError> {
    let mut values = Vec::with_capacity(secrets.len());
    let mut cache: HashMap<&str, HashMap<String, Value>> = HashMap::new();
    for secret in secrets {
        let (path, key) = secret.source(role);
        if !cache.contains_key(path) {
            let data: HashMap<String, Value> =
                vaultrs::kv2::read(&vault.client, &vault.mount, path)
                    .await
                    .map_err(|error| {
                        absent(
                            secret,
                            VaultError::from_client(
                                &vault.address,
                                &format!("{}/data/{path}", vault.mount),
                                error,
                            ),
                        )
                    })?;
            cache.insert(path, data);
        }
        let value = cache[path].get(key).ok_or_else(|| {
            absent(
                secret,
                VaultError::MissingKey {
                    address: vault.address.clone(),
                    path: format!("{}/{path}", vault.mount),
                    key: key.to_string(),
                },
            )
        })?;
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        values.push((
            format!("TF_VAR_{}", secret.variable),
            SecretString::from(text),
        ));
    }
    Ok(values)
}

/// A secret that is not in Vault (no secret at its path, or no such key) names the stack's secret it is for;
/// other errors pass as they are.
fn absent(secret: &SecretInput, error: VaultError) -> VaultError {
    match error {
        VaultError::NotFound { .. } | VaultError::MissingKey { .. } => VaultError::SecretAbsent {
            variable: secret.variable.clone(),
            source: Box::new(error),
        },
        other => other,
    }
}
