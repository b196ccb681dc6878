//! The stack's transit key: checked before tofu needs it, created for a stack without encrypted state (never in
//! place of a deleted one), and rotated.

use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::client::VaultClient;
use vaultrs::error::ClientError;

use super::error::EncryptionError;
use crate::vault::{Vault, VaultError, http_status};

/// What [`check_key`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    Exists {
        latest_version: u64,
    },
    /// There is no such key. It is made only for a stack without an encrypted state ([`create_key`]).
    Missing,
    /// The token may use the key but not read its description; tofu will tell whether the key works.
    Unreadable,
}

/// Looks for the transit key `key` at `mount`: a sealed Vault, a missing engine and a missing key are each
/// told apart before tofu runs (tofu would only say it could not get a data key). Nothing is created here: a
/// key made in place of a deleted one would never decrypt the state the deleted one encrypted.
pub async fn check_key(vault: &Vault, mount: &str, key: &str) -> Result<KeyCheck, EncryptionError> {
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
            Ok(KeyCheck::Exists { latest_version })
        }
        Err(error) => match http_status(&error) {
            Some(404) => Ok(KeyCheck::Missing),
            Some(403) => Ok(KeyCheck::Unreadable),
            _ => Err(VaultError::from_client(&vault.address, &path, error).into()),
        },
    }
}

/// Creates the key of a stack that has no encrypted state yet, as [`create_backed_up_key`] does.
pub async fn create_key(vault: &Vault, mount: &str, key: &str) -> Result<(), EncryptionError> {
    let path = format!("{mount}/keys/{key}");
    match create_backed_up_key(&vault.client, mount, key).await {
        Ok(()) => Ok(()),
        Err(error) => match http_status(&error) {
            Some(403) => Err(EncryptionError::MissingKey {
                address: vault.address.clone(),
                mount: mount.to_string(),
                key: key.to_string(),
            }),
            Some(404 | 405) => Err(EncryptionError::TransitNotEnabled {
                address: vault.address.clone(),
                mount: mount.to_string(),
            }),
            _ => Err(VaultError::from_client(&vault.address, &path, error).into()),
        },
    }
}

/// Creates a state key that allows plaintext backups (which Vault allows only of exportable keys), so that it
/// can be backed up (`bao read -field=backup <mount>/backup/<key>`) and restored if it is ever deleted: without
/// a backup, a deleted key loses every state it encrypted. Who may back up or export it is the policies'
/// business: neither CI role may. Says how to back it up.
pub(crate) async fn create_backed_up_key(
    client: &VaultClient,
    mount: &str,
    key: &str,
) -> Result<(), ClientError> {
    let mut options = vaultrs::api::transit::requests::CreateKeyRequest::builder();
    options.exportable(true).allow_plaintext_backup(true);
    vaultrs::transit::key::create(client, mount, key, Some(&mut options)).await?;
    tracing::info!(
        "created transit key `{key}` at `{mount}/` for state encryption; back it up now (`bao read -field=backup {mount}/backup/{key} > {key}.backup`) and keep the backup apart from the state: losing the key loses the state"
    );
    Ok(())
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
        .map_err(|error| match http_status(&error) {
            Some(404) => EncryptionError::MissingKey {
                address: vault.address.clone(),
                mount: mount.to_string(),
                key: key.to_string(),
            },
            _ => VaultError::from_client(&vault.address, &path, error).into(),
        })?;
    Ok(match check_key(vault, mount, key).await? {
        KeyCheck::Exists { latest_version } => Some(latest_version),
        KeyCheck::Missing | KeyCheck::Unreadable => None,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::{KeyCheck, check_key};
    use crate::vault::Vault;

    /// A server that answers every request with `status` and a body that is not Vault's `errors` list (a proxy's
    /// page, say).
    async fn answering(status: StatusCode) -> Vault {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let router = axum::Router::new()
            .fallback(move || async move { (status, r#"{"request_id":"r","data":null}"#) });
        tokio::spawn(async move { axum::serve(listener, router).await });
        Vault::unchecked(&format!("http://127.0.0.1:{port}"), "t").unwrap()
    }

    #[tokio::test]
    async fn a_key_is_classed_by_the_status_whatever_the_body() {
        let missing = answering(StatusCode::NOT_FOUND).await;
        assert_eq!(
            check_key(&missing, "transit", "wildside-dev")
                .await
                .unwrap(),
            KeyCheck::Missing
        );
        let unreadable = answering(StatusCode::FORBIDDEN).await;
        assert_eq!(
            check_key(&unreadable, "transit", "wildside-dev")
                .await
                .unwrap(),
            KeyCheck::Unreadable
        );
    }
}
