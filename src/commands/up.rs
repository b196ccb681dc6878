//! `up <stack>`: render, init, plan, and apply only if the plan has changes.

use super::apply::is_stale;
use super::report::{OutputEntry, Report, StackRun};
use crate::engine::{Outputs, PlanOutcome, PlanSummary};
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, prepare_with, run_plan_file};
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
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    let plan_file = run_plan_file(&prepared.build_dir, workspace)?;
    tracing::info!("planning {} (workspace {workspace})", prepared.stack.name);
    // A concurrent run may apply between our plan and our apply (tofu then calls the plan stale): plan again,
    // which usually finds the work done.
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        let attempt = async {
            match prepared.tofu.plan(workspace, &plan_file, false).await? {
                PlanOutcome::NoChanges => Ok((PlanSummary::default(), None)),
                PlanOutcome::Changes => {
                    let summary = prepared.tofu.planned_summary();
                    prepared.tofu.note(&format!(
                        "applying {} changes to {}",
                        summary.changes.len(),
                        prepared.stack.name
                    ));
                    prepared.tofu.apply(workspace, &plan_file).await?;
                    let outputs = if reads.outputs {
                        prepared.tofu.outputs(workspace).await?
                    } else {
                        Outputs::default()
                    };
                    Ok((summary, Some(outputs)))
                }
            }
        }
        .await;
        match attempt {
            Err(error) if attempts < 3 && is_stale(&error) => {
                tracing::warn!(
                    "another run changed the state of {stack} ({workspace}) after this plan; planning again"
                );
            }
            other => break other,
        }
    };
    let _ = std::fs::remove_file(&plan_file);
    let (summary, outputs) = match result {
        Ok(done) => done,
        Err(error) => return Err(prepared.explain(error).await),
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
