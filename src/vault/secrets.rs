//! Secrets in: KV v2 values read into `SecretString`s, ready to become `TF_VAR_*` in tofu's environment.

use std::collections::HashMap;

use secrecy::SecretString;
use serde_json::Value;

use super::client::Vault;
use super::error::VaultError;
use crate::stack::SecretInput;

/// `(TF_VAR_<variable>, value)` for every declared secret.
pub async fn read_secrets(
    vault: &Vault,
    secrets: &[SecretInput],
) -> Result<Vec<(String, SecretString)>, VaultError> {
    let mut values = Vec::with_capacity(secrets.len());
    let mut cache: HashMap<&str, HashMap<String, Value>> = HashMap::new();
    for secret in secrets {
        if !cache.contains_key(secret.path.as_str()) {
            let data: HashMap<String, Value> =
                vaultrs::kv2::read(&vault.client, &vault.mount, &secret.path)
                    .await
                    .map_err(|error| {
                        VaultError::from_client(
                            &vault.address,
                            &format!("{}/data/{}", vault.mount, secret.path),
                            error,
                        )
                    })?;
            cache.insert(secret.path.as_str(), data);
        }
        let value = cache[secret.path.as_str()]
            .get(&secret.key)
            .ok_or_else(|| VaultError::MissingKey {
                address: vault.address.clone(),
                path: format!("{}/{}", vault.mount, secret.path),
                key: secret.key.clone(),
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
