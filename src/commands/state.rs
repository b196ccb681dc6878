//! `state encrypt`, `state decrypt` and `state rotate-key`: move a stored state between forms, then prove it.
//!
//! Each workspace's state is read once with a `fallback` method (the old form), written back in the new form
//! through `state push -` (stdin, never a file) with its serial raised by one, so every backend writes it even
//! though nothing else changed. Then it is verified: read back with the new form only, planned (it must still be
//! clean), and the stored object is shown to be in the new form: an unencrypted-only read must fail on it
//! (encrypt, rotate) or succeed (decrypt), and for local state the files must not hold a sensitive output.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::report::Report;
use crate::encryption::{Mode, encryption_env, rotate_key};
use crate::engine::{EngineError, PlanOutcome};
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, Prepared, Secrets, prepare_with};
use crate::stack::{Backend, StateEncryption};

/// Which way a state moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateAction {
    Encrypt,
    Decrypt,
    RotateKey,
}

/// What happened to one workspace's state.
#[derive(Debug, Serialize)]
pub struct StateMigration {
    pub workspace: String,
    /// `false` when the workspace had no state yet (nothing to move).
    pub migrated: bool,
    /// The plan after the migration made no changes.
    pub plan_clean: bool,
}

/// Migrates `workspace`, or every workspace of the stack for `rotate-key` (previews have one per pull request).
pub async fn state_migrate(
    context: &Context,
    stack: &str,
    workspace: Option<&str>,
    action: StateAction,
) -> Result<Report, Error> {
    let loaded = context.project.load_stack(stack)?;
    if loaded.encryption == StateEncryption::Disabled && action != StateAction::Decrypt {
        return Err(Error::Usage(format!(
            "stack `{stack}` has `[encryption] enabled = false`\n  hint: remove it from stacks/{stack}.toml, then run `wildside-tofu state encrypt {stack}`"
        )));
    }
    let mode = match action {
        StateAction::Encrypt => Mode::Encrypting,
        StateAction::Decrypt => Mode::Decrypting,
        StateAction::RotateKey => {
            let StateEncryption::Transit { .. } = &loaded.encryption else {
                return Err(Error::Usage(format!(
                    "stack `{stack}` encrypts its state with a passphrase, not a transit key: there is no key to rotate\n  hint: add [vault] to the stack to use a transit key"
                )));
            };
            Mode::Enforced
        }
    };
    // Listing workspaces and rotating the key need no secrets; each migration's verifying plan does.
    let options = |workspace_known, secrets| PrepareOptions {
        secrets,
        encryption: mode,
        workspace_known,
        ..PrepareOptions::default()
    };
    let mut first = prepare_with(
        context,
        stack,
        workspace.unwrap_or("default"),
        options(false, Secrets::Skip),
    )
    .await?;
    let workspaces = match (action, workspace) {
        (StateAction::RotateKey, None) => match first.tofu.workspaces().await {
            Ok(mut list) => {
                list.sort();
                list
            }
            Err(error) => return Err(first.explain(error).await),
        },
        (_, workspace) => vec![workspace.unwrap_or("default").to_string()],
    };
    let mut key_version = None;
    if action == StateAction::RotateKey
        && let (Some(vault), StateEncryption::Transit { mount, key }) =
            (&first.vault, &first.stack.encryption)
    {
        key_version = rotate_key(vault, mount, key).await?;
    }
    drop(first);
    let mut results = Vec::new();
    for name in &workspaces {
        let mut prepared = prepare_with(context, stack, name, options(true, Secrets::Read)).await?;
        results.push(migrate_one(context, &mut prepared, action).await?);
    }
    Ok(Report::State {
        stack: stack.to_string(),
        action,
        encryption: loaded.encryption.describe(),
        key_version,
        workspaces: results,
    })
}

async fn migrate_one(
    context: &Context,
    prepared: &mut Prepared,
    action: StateAction,
) -> Result<StateMigration, Error> {
    let workspace = prepared.workspace.clone();
    let Some(state) = pull(prepared).await? else {
        return Ok(StateMigration {
            workspace,
            migrated: false,
            plan_clean: true,
        });
    };
    let before: serde_json::Value = serde_json::from_str(state.expose_secret())
        .map_err(|_| verification(prepared, "`tofu state pull` gave a state that is not JSON"))?;
    let mut raised = before.clone();
    let serial = raised["serial"].as_u64().unwrap_or(0);
    raised["serial"] = serde_json::json!(serial + 1);
    let text = SecretString::from(raised.to_string());
    if let Err(error) = prepared.tofu.state_push(&workspace, text).await {
        return Err(prepared.explain(error).await);
    }
    // From here on the state is read in its new form only.
    let new_form = match action {
        StateAction::Encrypt | StateAction::RotateKey => Mode::Enforced,
        StateAction::Decrypt => Mode::Unencrypted,
    };
    set_mode(prepared, new_form);
    let Some(after) = pull(prepared).await? else {
        return Err(verification(
            prepared,
            "the state is gone after the migration",
        ));
    };
    let after: serde_json::Value = serde_json::from_str(after.expose_secret())
        .map_err(|_| verification(prepared, "the migrated state is not JSON"))?;
    if after["resources"] != before["resources"] || after["outputs"] != before["outputs"] {
        return Err(verification(
            prepared,
            "the state read back differs from the one migrated",
        ));
    }
    let plan_file = crate::run::context::run_plan_file(&prepared.build_dir, &workspace)?;
    let outcome = prepared.tofu.plan(&workspace, &plan_file, false).await;
    let _ = std::fs::remove_file(&plan_file);
    let plan_clean = match outcome {
        Ok(outcome) => outcome == PlanOutcome::NoChanges,
        Err(error) => return Err(prepared.explain(error).await),
    };
    set_mode(prepared, Mode::Unencrypted);
    let stored_plain = match prepared.tofu.state_pull(&workspace).await {
        Ok(_) => true,
        Err(EngineError::Interrupted) => return Err(EngineError::Interrupted.into()),
        Err(_) => false,
    };
    if stored_plain != (action == StateAction::Decrypt) {
        return Err(verification(
            prepared,
            if stored_plain {
                "the stored state is still readable without a key"
            } else {
                "the stored state is still encrypted"
            },
        ));
    }
    if action != StateAction::Decrypt {
        check_local_files(context, prepared, &before)?;
    }
    Ok(StateMigration {
        workspace,
        migrated: true,
        plan_clean,
    })
}

async fn pull(prepared: &mut Prepared) -> Result<Option<SecretString>, Error> {
    let workspace = prepared.workspace.clone();
    match prepared.tofu.state_pull(&workspace).await {
        Ok(state) => Ok(state),
        Err(error) => Err(prepared.explain(error).await),
    }
}

fn set_mode(prepared: &mut Prepared, mode: Mode) {
    if let Some(source) = &prepared.key_source {
        for (name, value) in encryption_env(source, mode) {
            prepared.tofu.replace_secret(&name, value);
        }
    }
}

fn verification(prepared: &Prepared, what: &'static str) -> Error {
    Error::StateVerification {
        stack: prepared.stack.name.clone(),
        workspace: prepared.workspace.clone(),
        what,
    }
}

/// Local state: the state file and its backup must not hold a sensitive output's value. A backup written before
/// the migration holds the old, unencrypted state; it is removed.
fn check_local_files(
    context: &Context,
    prepared: &Prepared,
    state: &serde_json::Value,
) -> Result<(), Error> {
    if !matches!(prepared.stack.backend, Backend::Local { .. }) {
        return Ok(());
    }
    let dir = context.project.state_dir(&prepared.stack);
    let dir = if prepared.workspace == "default" {
        dir
    } else {
        dir.join("workspaces").join(&prepared.workspace)
    };
    let secrets = sensitive_values(state);
    for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let path = dir.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        if !secrets.iter().any(|secret| text.contains(secret.as_str())) {
            continue;
        }
        if name == "terraform.tfstate" {
            return Err(verification(
                prepared,
                "the state file still holds a sensitive value",
            ));
        }
        std::fs::remove_file(&path).map_err(|error| {
            Error::io(
                format!("removing the unencrypted backup `{}`", path.display()),
                error,
            )
        })?;
        tracing::info!(
            "removed `{}`: it held the state before encryption",
            path.display()
        );
    }
    Ok(())
}

/// The values of sensitive outputs, as they would appear in a JSON document.
fn sensitive_values(state: &serde_json::Value) -> Vec<String> {
    state["outputs"]
        .as_object()
        .into_iter()
        .flat_map(|outputs| outputs.values())
        .filter(|output| output["sensitive"] == true)
        .map(|output| match &output["value"] {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .filter(|value| value.len() >= 4)
        .collect()
}
