//! Outputs out: stack outputs written to KV v2 with check-and-set and custom metadata, read back, removed.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use vaultrs::api::kv2::requests::{SetSecretMetadataRequestBuilder, SetSecretRequestOptions};
use vaultrs::error::ClientError;

use super::client::Vault;
use super::error::{VaultError, http_status};
use crate::engine::{OutputValue, Outputs};
use crate::stack::{Stack, VaultOutput};

/// Who wrote an output, recorded as the secret's custom metadata.
#[derive(Debug, Clone)]
pub struct PushMetadata {
    pub git_commit: Option<String>,
    pub engine_version: String,
}

/// What happened to one output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputWrite {
    pub output: String,
    pub path: String,
    /// `false` when Vault already held the same value (nothing was written).
    pub written: bool,
    pub version: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OutputsPush {
    pub writes: Vec<OutputWrite>,
}

/// Writes every `[outputs_to_vault]` output of `stack` in `workspace`; unchanged values are left alone.
pub async fn push_outputs(
    vault: &Vault,
    stack: &Stack,
    workspace: &str,
    outputs: &Outputs,
    metadata: &PushMetadata,
) -> Result<OutputsPush, VaultError> {
    let mut push = OutputsPush::default();
    for target in &stack.outputs_to_vault {
        let value = outputs
            .0
            .get(&target.output)
            .ok_or_else(|| VaultError::Api {
                address: vault.address.clone(),
                path: target.path.clone(),
                detail: format!(
                    "output `{}` is not in the state yet; apply the stack first",
                    target.output
                ),
            })?;
        let path = vault.output_path(&stack.name, workspace, &target.path);
        let write = write_one(vault, &path, &value_text(value), stack, workspace, metadata).await?;
        push.writes.push(OutputWrite {
            output: target.output.clone(),
            ..write
        });
    }
    Ok(push)
}

/// Writes one `[outputs_to_vault]` entry with a value that did not come from state (a fresh kubeconfig, say),
/// as [`push_outputs`] writes it: check-and-set, custom metadata, an unchanged value left alone.
pub async fn write_output(
    vault: &Vault,
    stack: &Stack,
    workspace: &str,
    target: &VaultOutput,
    value: &SecretString,
    metadata: &PushMetadata,
) -> Result<OutputWrite, VaultError> {
    let path = vault.output_path(&stack.name, workspace, &target.path);
    let write = write_one(vault, &path, value, stack, workspace, metadata).await?;
    Ok(OutputWrite {
        output: target.output.clone(),
        ..write
    })
}

/// The text stored for an output: strings as they are, anything else as JSON.
fn value_text(value: &OutputValue) -> SecretString {
    let json = match value {
        OutputValue::Plain(value) => value.clone(),
        OutputValue::Sensitive(text) => {
            serde_json::from_str(text.expose_secret()).unwrap_or(Value::Null)
        }
    };
    SecretString::from(match json {
        Value::String(text) => text,
        other => other.to_string(),
    })
}

async fn write_one(
    vault: &Vault,
    path: &str,
    value: &SecretString,
    stack: &Stack,
    workspace: &str,
    metadata: &PushMetadata,
) -> Result<OutputWrite, VaultError> {
    let full_path = format!("{}/data/{path}", vault.mount);
    let fail = |error: ClientError| VaultError::from_client(&vault.address, &full_path, error);
    for _ in 0..3 {
        let version = current_version(vault, path).await.map_err(fail)?;
        if version > 0 {
            let current: Option<HashMap<String, Value>> =
                match vaultrs::kv2::read(&vault.client, &vault.mount, path).await {
                    Ok(current) => Some(current),
                    // The latest version was deleted: a new one is written over it.
                    Err(error) if http_status(&error) == Some(404) => None,
                    Err(error) => return Err(fail(error)),
                };
            if current
                .as_ref()
                .and_then(|current| current.get("value"))
                .and_then(Value::as_str)
                == Some(value.expose_secret())
            {
                return Ok(OutputWrite {
                    output: String::new(),
                    path: path.to_string(),
                    written: false,
                    version,
                });
            }
        }
        let data = HashMap::from([("value", value.expose_secret())]);
        let options = SetSecretRequestOptions {
            cas: u32::try_from(version).unwrap_or(u32::MAX),
        };
        match vaultrs::kv2::set_with_options(&vault.client, &vault.mount, path, &data, options)
            .await
        {
            Ok(written) => {
                set_custom_metadata(vault, path, stack, workspace, metadata)
                    .await
                    .map_err(fail)?;
                return Ok(OutputWrite {
                    output: String::new(),
                    path: path.to_string(),
                    written: true,
                    version: written.version,
                });
            }
            // A failed check-and-set is a 400 like other bad requests; it was one if another writer moved the
            // version on: read again and decide again.
            Err(error)
                if http_status(&error) == Some(400)
                    && current_version(vault, path).await.map_err(fail)? != version =>
            {
                continue;
            }
            Err(error) => return Err(fail(error)),
        }
    }
    Err(VaultError::Api {
        address: vault.address.clone(),
        path: full_path,
        detail: "concurrent writers kept changing the secret".into(),
    })
}

/// The secret's current version; 0 when it does not exist.
async fn current_version(vault: &Vault, path: &str) -> Result<u64, ClientError> {
    match vaultrs::kv2::read_metadata(&vault.client, &vault.mount, path).await {
        Ok(existing) => Ok(existing.current_version),
        Err(error) if http_status(&error) == Some(404) => Ok(0),
        Err(error) => Err(error),
    }
}

async fn set_custom_metadata(
    vault: &Vault,
    path: &str,
    stack: &Stack,
    workspace: &str,
    metadata: &PushMetadata,
) -> Result<(), ClientError> {
    let mut custom = HashMap::from([
        ("stack".to_string(), stack.name.clone()),
        ("workspace".to_string(), workspace.to_string()),
        (
            "engine_version".to_string(),
            metadata.engine_version.clone(),
        ),
        (
            "written_by".to_string(),
            format!("wildside-tofu {}", env!("CARGO_PKG_VERSION")),
        ),
        (
            "written_at".to_string(),
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .map(|now| now.to_string())
                .unwrap_or_default(),
        ),
    ]);
    if let Some(commit) = &metadata.git_commit {
        custom.insert("git_commit".into(), commit.clone());
    }
    let mut request = SetSecretMetadataRequestBuilder::default();
    request.custom_metadata(custom);
    vaultrs::kv2::set_metadata(&vault.client, &vault.mount, path, Some(&mut request)).await
}

/// Removes every `[outputs_to_vault]` entry of the workspace (all versions); entries already gone are fine.
pub async fn delete_outputs(
    vault: &Vault,
    stack: &Stack,
    workspace: &str,
) -> Result<usize, VaultError> {
    let mut deleted = 0;
    for target in &stack.outputs_to_vault {
        let path = vault.output_path(&stack.name, workspace, &target.path);
        match vaultrs::kv2::delete_metadata(&vault.client, &vault.mount, &path).await {
            Ok(()) => deleted += 1,
            Err(error) if http_status(&error) == Some(404) => {}
            Err(error) => {
                return Err(VaultError::from_client(
                    &vault.address,
                    &format!("{}/metadata/{path}", vault.mount),
                    error,
                ));
            }
        }
    }
    Ok(deleted)
}

/// Reads one output back from Vault.
pub async fn read_output(vault: &Vault, path: &str) -> Result<SecretString, VaultError> {
    let full_path = format!("{}/data/{path}", vault.mount);
    let data: HashMap<String, Value> = vaultrs::kv2::read(&vault.client, &vault.mount, path)
        .await
        .map_err(|error| VaultError::from_client(&vault.address, &full_path, error))?;
    match data.get("value") {
        Some(Value::String(text)) => Ok(SecretString::from(text.clone())),
        _ => Err(VaultError::MissingKey {
            address: vault.address.clone(),
            path: full_path,
            key: "value".into(),
        }),
    }
}
