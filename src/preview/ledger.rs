//! The preview ledger: every preview of a stack in one KV v2 document, changed only with check-and-set, so
//! concurrent CI jobs never lose each other's records. A document that does not decode is an error for every
//! reader and is never written over; a document that is missing (never written, or its latest version deleted)
//! is not an empty ledger, and only a writer that is told it may create one does.

use std::time::Duration;

use serde_json::Value;
use vaultrs::api::kv2::requests::SetSecretRequestOptions;
use vaultrs::error::ClientError;

use super::record::{DecodeError, Records, decode, encode};
use crate::vault::{Vault, VaultError, http_status};

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
    #[error(transparent)]
    Missing(Box<MissingLedger>),
    #[error(
        "the preview ledger `{path}` in Vault at {address} {presence}; nothing was changed\n  hint: restore the ledger (`bao kv undelete` or `bao kv rollback` on `{mount}/{path}`), or run `wildside-tofu preview --stack {stack} ledger rebuild`"
    )]
    Absent {
        address: String,
        mount: String,
        path: String,
        stack: String,
        presence: Presence,
    },
    #[error(
        "the preview ledger `{path}` in Vault at {address} exists (version {version}, {records} record(s)): a rebuild never writes over a ledger\n  hint: `--merge` adds records only for workspaces that have none, keeping every record there is"
    )]
    Exists {
        address: String,
        path: String,
        version: u64,
        records: usize,
    },
    #[error(
        "the preview of pull request {pr} is being destroyed (since {since}); nothing was changed\n  hint: wait for that `preview down` or `preview gc` to finish and run the command again; if it died, `preview down --pr {pr}` finishes the destruction"
    )]
    BeingDestroyed { pr: u64, since: jiff::Timestamp },
    #[error(
        "the preview of pull request {pr} was taken down while it came up (by `preview down`, or `preview gc` of a closed pull request); that run owns its record now\n  hint: run `preview up` again once it has finished"
    )]
    Overtaken { pr: u64 },
}

/// A ledger missing while preview workspaces exist.
#[derive(Debug, thiserror::Error)]
#[error(
    "the preview ledger `{path}` in Vault at {address} {presence}, but {workspaces} preview workspace(s) exist ({names}): their records are missing, not empty; nothing was changed\n  hint: restore the ledger (`bao kv undelete` or `bao kv rollback` on `{mount}/{path}`), or run `wildside-tofu preview --stack {stack} ledger rebuild` to rebuild it from the workspaces"
)]
pub struct MissingLedger {
    address: String,
    mount: String,
    path: String,
    stack: String,
    presence: Presence,
    workspaces: usize,
    names: String,
}

/// Whether the ledger's document is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    Written,
    /// There has never been a document, or its metadata (every version) was deleted.
    NeverWritten,
    /// The document's latest version was deleted or destroyed.
    Deleted {
        version: u64,
    },
}

impl Presence {
    pub fn is_missing(self) -> bool {
        self != Presence::Written
    }
}

impl std::fmt::Display for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presence::Written => write!(f, "exists"),
            Presence::NeverWritten => write!(f, "does not exist"),
            Presence::Deleted { version } => write!(f, "was deleted (version {version})"),
        }
    }
}

/// The ledger as read: its records, the version they were read at (0 when there is none yet), and whether
/// the document is there at all.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub records: Records,
    pub version: u64,
    pub presence: Presence,
}

/// Whether a write may create the document when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    Refuse,
    Allow,
}

/// The ledger document of one preview stack.
pub struct Ledger<'a> {
    vault: &'a Vault,
    stack: String,
    path: String,
}

const ATTEMPTS: u32 = 60;

impl<'a> Ledger<'a> {
    pub fn new(vault: &'a Vault, stack: &str) -> Self {
        Self {
            vault,
            stack: stack.to_string(),
            path: format!("{}/{stack}/previews", vault.path_prefix),
        }
    }

    /// The refusal to act on a missing ledger while preview workspaces (`workspaces`) exist.
    pub fn missing(&self, presence: Presence, workspaces: &[String]) -> LedgerError {
        LedgerError::Missing(Box::new(MissingLedger {
            address: self.vault.address.clone(),
            mount: self.vault.mount.clone(),
            path: self.path.clone(),
            stack: self.stack.clone(),
            presence,
            workspaces: workspaces.len(),
            names: workspaces.join(", "),
        }))
    }

    /// The refusal to act on a missing ledger.
    pub fn absent(&self, presence: Presence) -> LedgerError {
        LedgerError::Absent {
            address: self.vault.address.clone(),
            mount: self.vault.mount.clone(),
            path: self.path.clone(),
            stack: self.stack.clone(),
            presence,
        }
    }

    /// The refusal to rebuild over the ledger `snapshot` shows to exist.
    pub fn exists(&self, snapshot: &Snapshot) -> LedgerError {
        LedgerError::Exists {
            address: self.vault.address.clone(),
            path: self.path.clone(),
            version: snapshot.version,
            records: snapshot.records.len(),
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
            Err(error) if http_status(&error) == Some(404) => Ok(0),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// The records, the document's version, and whether it is there.
    pub async fn read(&self) -> Result<Snapshot, LedgerError> {
        let version = self.current_version().await?;
        if version == 0 {
            return Ok(Snapshot {
                records: Records::new(),
                version,
                presence: Presence::NeverWritten,
            });
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
            // The latest version was deleted or destroyed (`kv delete`, `kv destroy`): Vault answers 404 with
            // the version's metadata for a body.
            Err(error) if http_status(&error) == Some(404) => {
                return Ok(Snapshot {
                    records: Records::new(),
                    version,
                    presence: Presence::Deleted { version },
                });
            }
            Err(error) => return Err(self.fail(error).into()),
        };
        let records = decode(data).map_err(|source| LedgerError::Undecodable {
            address: self.vault.address.clone(),
            mount: self.vault.mount.clone(),
            path: self.path.clone(),
            version,
            source,
        })?;
        Ok(Snapshot {
            records,
            version,
            presence: Presence::Written,
        })
    }

    /// Applies `change` to the records and writes them back with check-and-set, retrying from a fresh read
    /// when another writer got there first. `change` may refuse (its error is returned, nothing is written)
    /// or decide nothing needs writing (`Ok((value, false))`). A missing document is read as no records, and
    /// a change that would write to it, or refuses, is refused as [`LedgerError::Absent`].
    pub async fn update<T, E>(
        &self,
        change: impl FnMut(&mut Records) -> Result<(T, bool), E>,
    ) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        self.update_with(Creation::Refuse, change).await
    }

    /// [`Ledger::update`], creating the document if it is missing: only for a caller that has made sure no
    /// preview exists without a record (the first `preview up` of a stack, a rebuild).
    pub async fn update_or_create<T, E>(
        &self,
        change: impl FnMut(&mut Records) -> Result<(T, bool), E>,
    ) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        self.update_with(Creation::Allow, change).await
    }

    async fn update_with<T, E>(
        &self,
        creation: Creation,
        mut change: impl FnMut(&mut Records) -> Result<(T, bool), E>,
    ) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        for attempt in 0..ATTEMPTS {
            let Snapshot {
                mut records,
                version,
                presence,
            } = self.read().await?;
            let refuse_missing = presence.is_missing() && creation == Creation::Refuse;
            let (value, dirty) = match change(&mut records) {
                Ok(changed) => changed,
                // A refusal found on no records at all is the missing ledger's.
                Err(_) if refuse_missing => return Err(self.absent(presence).into()),
                Err(error) => return Err(error),
            };
            if !dirty {
                return Ok(value);
            }
            if refuse_missing {
                return Err(self.absent(presence).into());
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
                Err(error)
                    if http_status(&error) == Some(400)
                        && self.current_version().await.map_err(LedgerError::from)? != version =>
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
