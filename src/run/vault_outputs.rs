//! Writing a stack's outputs to Vault after an apply, patiently: a Vault that is down gets retried with
//! backoff before the command fails, and the failure says how to push the outputs later.

use std::time::Duration;

use super::context::{Context, Prepared};
use crate::error::Error;
use crate::vault::{OutputsPush, PushMetadata, VaultError, push_outputs};

/// Seconds to wait before each retry; `WILDSIDE_VAULT_RETRY_SECONDS` (comma-separated) overrides it.
const RETRY_SECONDS: &[u64] = &[1, 2, 4, 8, 16];

/// Pushes the outputs named in `[outputs_to_vault]`; `None` when the stack names none.
pub(crate) async fn push(
    context: &Context,
    prepared: &mut Prepared,
) -> Result<Option<OutputsPush>, Error> {
    let Some(vault) = &prepared.vault else {
        return Ok(None);
    };
    if prepared.stack.outputs_to_vault.is_empty() {
        return Ok(None);
    }
    let outputs = match prepared.tofu.outputs(&prepared.workspace).await {
        Ok(outputs) => outputs,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let metadata = metadata(context);
    let delays = retry_delays();
    let mut attempt = 0;
    loop {
        match push_outputs(
            vault,
            &prepared.stack,
            &prepared.workspace,
            &outputs,
            &metadata,
        )
        .await
        {
            Ok(push) => return Ok(Some(push)),
            Err(error) if error.is_transient() && attempt < delays.len() => {
                tracing::warn!(
                    "writing outputs to Vault failed ({error}); retrying in {}s",
                    delays[attempt].as_secs()
                );
                if let Err(interrupted) = crate::engine::pause(delays[attempt]).await {
                    return Err(Error::OutputsNotPushed {
                        stack: prepared.stack.name.clone(),
                        workspace: prepared.workspace.clone(),
                        source: Box::new(VaultError::from(interrupted)),
                    });
                }
                attempt += 1;
            }
            Err(source) => {
                return Err(Error::OutputsNotPushed {
                    stack: prepared.stack.name.clone(),
                    workspace: prepared.workspace.clone(),
                    source: Box::new(source),
                });
            }
        }
    }
}

/// Who writes outputs in this run: the commit deployed and the engine.
pub(crate) fn metadata(context: &Context) -> PushMetadata {
    PushMetadata {
        git_commit: git_commit(&context.project.root),
        engine_version: format!(
            "{} {}",
            context.engine.binary.kind.name(),
            context.engine.binary.version
        ),
    }
}

fn retry_delays() -> Vec<Duration> {
    let configured = std::env::var("WILDSIDE_VAULT_RETRY_SECONDS")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|part| part.trim().parse::<u64>().ok())
                .collect::<Vec<_>>()
        });
    configured
        .unwrap_or_else(|| RETRY_SECONDS.to_vec())
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// The commit being deployed: `GITHUB_SHA` in Actions, else the project's `HEAD`, if it is a git checkout.
fn git_commit(root: &std::path::Path) -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA") {
        return Some(sha);
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
