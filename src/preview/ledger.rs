//! The preview ledger: every preview of a stack in one KV v2 document, changed only with check-and-set, so
//! concurrent CI jobs never lose each other's records. A document that does not decode is an error for every
//! reader and is never written over.

use std::time::Duration;

use serde_json::Value;
use vaultrs::api::kv2::requests::SetSecretRequestOptions;
use vaultrs::error::ClientError;

use super::record::{DecodeError, Records, decode, encode};
use crate::vault::{Vault, VaultError};

/// Why the ledger could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(
        "the preview ledger `{path}` (version {version}) in Vault at {address} cannot be read: {source}\n  hint: nothing was changed; repair the document or restore an earlier version (`bao kv rollback -mount={mount} -version=N {path}`), then run the command again"
    )]
    Undecodable {
        address: String,
        mount: String,
        path: String,
        version: u64,
        source: DecodeError,
    },
    #[error("interrupted while waiting to retry the preview ledger; nothing was changed")]
    Interrupted(#[from] crate::engine::Interrupted),
    #[error(
        "the preview ledger `{path}` in Vault at {address} kept changing under concurrent writers ({attempts} attempts)\n  hint: run the command again"
    )]
    Contended {
        address: String,
        path: String,
        attempts: u32,
    },
}

/// The ledger document of one preview stack.
pub struct Ledger<'a> {
    vault: &'a Vault,
    path: String,
}

const ATTEMPTS: u32 = 60;

impl<'a> Ledger<'a> {
    pub fn new(vault: &'a Vault, stack: &str) -> Self {
        Self {
            vault,
            path: format!("{}/{stack}/previews", vault.path_prefix),
        }
    }

    fn fail(&self, error: ClientError) -> VaultError {
        VaultError::from_client(
            &self.vault.address,
            &format!("{}/data/{}", self.vault.mount, self.path),
            error,
        )
    }

    /// The document's current version (0 when there is none yet).
    async fn current_version(&self) -> Result<u64, VaultError> {
        match vaultrs::kv2::read_metadata(&self.vault.client, &self.vault.mount, &self.path).await {
            Ok(metadata) => Ok(metadata.current_version),
            Err(ClientError::APIError { code: 404, .. }) => Ok(0),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// The records and the document's version (0 when there is none yet).
    pub async fn read(&self) -> Result<(Records, u64), LedgerError> {
        let version = self.current_version().await?;
        if version == 0 {
            return Ok((Records::new(), 0));
        }
        let data: Value = match vaultrs::kv2::read_version(
            &self.vault.client,
            &self.vault.mount,
            &self.path,
            version,
        )
        .await
        {
            Ok(data) => data,
            // The latest version was deleted (`kv delete`): start afresh on top of it.
            Err(ClientError::APIError { code: 404, .. }) => return Ok((Records::new(), version)),
            Err(error) => return Err(self.fail(error).into()),
        };
        let records = decode(data).map_err(|source| LedgerError::Undecodable {
            address: self.vault.address.clone(),
            mount: self.vault.mount.clone(),
            path: self.path.clone(),
            version,
            source,
        })?;
        Ok((records, version))
    }

    /// Applies `change` to the records and writes them back with check-and-set, retrying from a fresh read
    /// when another writer got there first. `change` may refuse (its error is returned, nothing is written)
    /// or decide nothing needs writing (`Ok((value, false))`).
    pub async fn update<T, E>(
        &self,
        mut change: impl FnMut(&mut Records) -> Result<(T, bool), E>,
    ) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        for attempt in 0..ATTEMPTS {
            let (mut records, version) = self.read().await?;
            let (value, dirty) = change(&mut records)?;
            if !dirty {
                return Ok(value);
            }
            let options = SetSecretRequestOptions {
                cas: u32::try_from(version).unwrap_or(u32::MAX),
            };
            match vaultrs::kv2::set_with_options(
                &self.vault.client,
                &self.vault.mount,
                &self.path,
                &encode(&records),
                options,
            )
            .await
            {
                Ok(_) => return Ok(value),
                // A failed check-and-set is a 400, like other bad requests: it was one only if another writer
                // moved the version on.
                Err(ClientError::APIError { code: 400, .. })
                    if self.current_version().await.map_err(LedgerError::from)? != version =>
                {
                    // Spread the retries of concurrent writers apart.
                    let wait = 20 + u64::from(attempt) * 10 + u64::from(std::process::id() % 50);
                    crate::engine::pause(Duration::from_millis(wait))
                        .await
                        .map_err(LedgerError::from)?;
                }
                Err(error) => return Err(LedgerError::from(self.fail(error)).into()),
            }
        }
        Err(LedgerError::Contended {
            address: self.vault.address.clone(),
            path: self.path.clone(),
            attempts: ATTEMPTS,
        }
        .into())
    }
}
