//! The stack's transit key: checked (and created when the token may) before tofu needs it, and rotated.

use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::error::ClientError;

use super::error::EncryptionError;
use crate::vault::{Vault, VaultError};

/// What [`ensure_key`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    Exists {
        latest_version: u64,
    },
    Created,
    /// The token may use the key but not read its description; tofu will tell whether the key works.
    Unreadable,
}

/// Makes sure the transit key `key` exists at `mount`: a sealed Vault, a missing engine and a missing key are
/// each told apart before tofu runs (tofu would only say it could not get a data key). A missing key is created
/// when the token may do so, which is how a new stack gets its key.
pub async fn ensure_key(
    vault: &Vault,
    mount: &str,
    key: &str,
) -> Result<KeyCheck, EncryptionError> {
    let path = format!("{mount}/keys/{key}");
    match vaultrs::transit::key::read(&vault.client, mount, key).await {
        Ok(read) => {
            let latest_version = match read.keys {
                ReadKeyData::Symmetric(versions) => versions
                    .keys()
                    .filter_map(|version| version.parse().ok())
                    .max()
                    .unwrap_or(1),
                ReadKeyData::Asymmetric(versions) => versions
                    .keys()
                    .filter_map(|version| version.parse().ok())
                    .max()
                    .unwrap_or(1),
            };
            return Ok(KeyCheck::Exists { latest_version });
        }
        Err(ClientError::APIError { code: 404, .. }) => {}
        Err(ClientError::APIError { code: 403, .. }) => return Ok(KeyCheck::Unreadable),
        Err(error) => return Err(VaultError::from_client(&vault.address, &path, error).into()),
    }
    match vaultrs::transit::key::create(&vault.client, mount, key, None).await {
        Ok(()) => {
            tracing::info!("created transit key `{key}` at `{mount}/` for state encryption");
            Ok(KeyCheck::Created)
        }
        Err(ClientError::APIError { code: 403, .. }) => Err(EncryptionError::MissingKey {
            address: vault.address.clone(),
            mount: mount.to_string(),
            key: key.to_string(),
        }),
        Err(ClientError::APIError {
            code: 404 | 405, ..
        }) => Err(EncryptionError::TransitNotEnabled {
            address: vault.address.clone(),
            mount: mount.to_string(),
        }),
        Err(error) => Err(VaultError::from_client(&vault.address, &path, error).into()),
    }
}

/// Rotates the key and returns its new latest version (when the token may read it).
pub async fn rotate_key(
    vault: &Vault,
    mount: &str,
    key: &str,
) -> Result<Option<u64>, EncryptionError> {
    let path = format!("{mount}/keys/{key}/rotate");
    vaultrs::transit::key::rotate(&vault.client, mount, key)
        .await
        .map_err(|error| match error {
            ClientError::APIError { code: 404, .. } => EncryptionError::MissingKey {
                address: vault.address.clone(),
                mount: mount.to_string(),
                key: key.to_string(),
            },
            error => VaultError::from_client(&vault.address, &path, error).into(),
        })?;
    Ok(match ensure_key(vault, mount, key).await? {
        KeyCheck::Exists { latest_version } => Some(latest_version),
        KeyCheck::Created | KeyCheck::Unreadable => None,
    })
}
