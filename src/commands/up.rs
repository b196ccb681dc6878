//! `up <stack>`: render, init, plan, and apply only if the plan has changes and passes the policy and budget
//! gate.

use std::path::Path;

use super::apply::is_stale;
use super::report::{OutputEntry, Report, StackRun};
use crate::engine::{EngineError, Outputs, PlanOutcome, PlanSummary};
use crate::error::Error;
use crate::run::approval::{Effect, approve};
use crate::run::context::{Context, PrepareOptions, Prepared, prepare_with, run_plan_file};
use crate::run::convergence::Convergence;
use crate::run::gate;
use crate::run::vault_outputs;

pub async fn up(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let reads = UpReads {
        outputs: true,
        state: false,
    };
    let (report, _) = up_with(context, stack, workspace, PrepareOptions::default(), reads).await?;
    Ok(report)
}

/// What [`up_with`] reads once the stack is up.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UpReads {
    /// The outputs, for the report (after an apply).
    pub(super) outputs: bool,
    /// The state's `show -json`, for a cost estimate. A failed read is a warning, not a failed run: the
    /// stack is up.
    pub(super) state: bool,
}

/// [`up`] with preparation options (a preview's variables, say), and the state's `show -json` when `reads`
/// asks for it.
pub(super) async fn up_with(
    context: &Context,
    stack: &str,
    workspace: &str,
    options: PrepareOptions,
    reads: UpReads,
) -> Result<(Report, Option<String>), Error> {
    let options = PrepareOptions {
        check_account: true,
        ..options
    };
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    let plan_file = run_plan_file(&prepared.build_dir, workspace)?;
    let convergence = Convergence::of(&prepared);
    let mut converged = convergence.expected();
    tracing::info!("planning {} (workspace {workspace})", prepared.stack.name);
    // A concurrent run may apply between our plan and our apply (tofu then calls the plan stale): plan again,
    // which usually finds the work done.
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        let planned = plan_changes(&mut prepared, &plan_file, converged).await;
        converged = false;
        let (summary, json) = match planned {
            Ok(Some(planned)) => planned,
            Ok(None) => break Ok((PlanSummary::default(), None)),
            Err(error) => break Err(Failed::Engine(error)),
        };
        if let Err(refused) = gate::check(context, &prepared.stack, &json).await {
            break Err(Failed::Refused(refused));
        }
        if let Err(refused) = approve(
            context,
            &prepared.stack.name,
            workspace,
            &summary,
            Effect::Apply,
        )
        .await
        {
            break Err(Failed::Refused(refused));
        }
        prepared.tofu.note(&format!(
            "applying {} to {}",
            crate::views::count(summary.changes.len(), "change"),
            prepared.stack.name
        ));
        let applied = async {
            prepared.tofu.apply(workspace, &plan_file).await?;
            if reads.outputs {
                prepared.tofu.outputs(workspace).await
            } else {
                Ok(Outputs::default())
            }
        }
        .await;
        match applied {
            Ok(outputs) => break Ok((summary, Some(outputs))),
            Err(error) if attempts < 3 && is_stale(&error) => {
                tracing::warn!(
                    "another run changed the state of {stack} ({workspace}) after this plan; planning again"
                );
            }
            Err(error) => break Err(Failed::Engine(error)),
        }
    };
    let _ = std::fs::remove_file(&plan_file);
    let (summary, outputs) = match result {
        Ok(done) => {
            convergence.record();
            done
        }
        Err(failed) => {
            convergence.forget();
            return Err(match failed {
                Failed::Engine(error) => prepared.explain(error).await,
                Failed::Refused(refused) => refused,
            });
        }
    };
    let state = if reads.state {
        match prepared.tofu.show_state_json(workspace).await {
            Ok(json) => Some(json),
            Err(error) => {
                tracing::warn!(
                    "{stack} (workspace {workspace}) is up, but its state could not be read: {error}"
                );
                None
            }
        }
    } else {
        None
    };
    let run = StackRun::new(&prepared.stack, workspace, outputs.is_some(), summary);
    let outputs = outputs
        .as_ref()
        .map(OutputEntry::from_outputs)
        .unwrap_or_default();
    let vault = vault_outputs::push(context, &mut prepared).await?;
    let report = Report::Up {
        run,
        outputs,
        vault,
    };
    Ok((report, state))
}

/// Plans the workspace: `None` when it has no changes, else the saved plan's summary and `show -json` document.
/// A workspace expected to be `converged` is first planned without saving (see [`Convergence`]); only when that
/// plan finds changes is a saved plan made.
async fn plan_changes(
    prepared: &mut Prepared,
    plan_file: &Path,
    converged: bool,
) -> Result<Option<(PlanSummary, String)>, EngineError> {
    let workspace = prepared.workspace.clone();
    if converged {
        if prepared.tofu.plan_unsaved(&workspace).await? == PlanOutcome::NoChanges {
            return Ok(None);
        }
        prepared.tofu.note(&format!(
            "{} ({workspace}) has changed since its last up; planning again to save the plan",
            prepared.stack.name
        ));
    }
    prepared
        .tofu
        .plan_for_review(&workspace, plan_file, false)
        .await
}

/// Why a plan was not applied: tofu failed, or the gate refused the plan.
enum Failed {
    Engine(EngineError),
    Refused(Error),
}
