//! The preview ledger: every preview of a stack in one KV v2 document, changed only with check-and-set, so
//! concurrent CI jobs never lose each other's records (the pattern the seeds use for allocation).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vaultrs::api::kv2::requests::SetSecretRequestOptions;
use vaultrs::error::ClientError;

use crate::vault::{Vault, VaultError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewStatus {
    Creating,
    Ready,
    Failed,
    Destroying,
}

/// One pull request's preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRecord {
    pub pr: u64,
    pub sha: String,
    pub creator: String,
    /// RFC 3339.
    pub created: String,
    pub updated: String,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_until: Option<String>,
    pub status: PreviewStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

pub type Records = BTreeMap<u64, PreviewRecord>;

/// The ledger document of one preview stack.
pub struct Ledger<'a> {
    vault: &'a Vault,
    path: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Document {
    records: Vec<PreviewRecord>,
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

    /// The records and the document's version (0 when there is none yet).
    pub async fn read(&self) -> Result<(Records, u64), VaultError> {
        let version =
            match vaultrs::kv2::read_metadata(&self.vault.client, &self.vault.mount, &self.path)
                .await
            {
                Ok(metadata) => metadata.current_version,
                Err(ClientError::APIError { code: 404, .. }) => return Ok((Records::new(), 0)),
                Err(error) => return Err(self.fail(error)),
            };
        let data: Value = match vaultrs::kv2::read_version(
            &self.vault.client,
            &self.vault.mount,
            &self.path,
            version,
        )
        .await
        {
            Ok(data) => data,
            // The latest version was deleted: start afresh on top of it.
            Err(ClientError::APIError { code: 404, .. }) => return Ok((Records::new(), version)),
            Err(error) => return Err(self.fail(error)),
        };
        let document: Document = serde_json::from_value(data).unwrap_or_default();
        Ok((
            document
                .records
                .into_iter()
                .map(|record| (record.pr, record))
                .collect(),
            version,
        ))
    }

    /// Applies `change` to the records and writes them back with check-and-set, retrying from a fresh read
    /// when another writer got there first. `change` may refuse (its error is returned, nothing is written)
    /// or decide nothing needs writing (`Ok((value, false))`).
    pub async fn update<T, E>(
        &self,
        mut change: impl FnMut(&mut Records) -> Result<(T, bool), E>,
    ) -> Result<T, E>
    where
        E: From<VaultError>,
    {
        for attempt in 0..ATTEMPTS {
            let (mut records, version) = self.read().await?;
            let (value, dirty) = change(&mut records)?;
            if !dirty {
                return Ok(value);
            }
            let document = Document {
                records: records.into_values().collect(),
            };
            let options = SetSecretRequestOptions {
                cas: u32::try_from(version).unwrap_or(u32::MAX),
            };
            match vaultrs::kv2::set_with_options(
                &self.vault.client,
                &self.vault.mount,
                &self.path,
                &document,
                options,
            )
            .await
            {
                Ok(_) => return Ok(value),
                Err(ClientError::APIError { code: 400, errors })
                    if errors.iter().any(|e| e.contains("check-and-set")) =>
                {
                    // Spread the retries of concurrent writers apart.
                    let wait = 20 + u64::from(attempt) * 10 + u64::from(std::process::id() % 50);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                Err(error) => return Err(self.fail(error).into()),
            }
        }
        Err(VaultError::Api {
            address: self.vault.address.clone(),
            path: self.path.clone(),
            detail: "the preview ledger kept changing under concurrent writers".into(),
        }
        .into())
    }
}
