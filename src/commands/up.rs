//! `up <stack>`: render, init, plan, and apply only if the plan has changes.

use super::context::{Context, prepare, run_plan_file};
use super::report::{OutputEntry, Report, StackRun};
use super::vault_outputs;
use crate::engine::{PlanOutcome, PlanSummary};
use crate::error::Error;

pub async fn up(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let mut prepared = prepare(context, stack, workspace).await?;
    let plan_file = run_plan_file(&prepared.build_dir, workspace)?;
    tracing::info!("planning {} (workspace {workspace})", prepared.stack.name);
    let result = async {
        match prepared.tofu.plan(workspace, &plan_file, false).await? {
            PlanOutcome::NoChanges => Ok((PlanSummary::default(), None)),
            PlanOutcome::Changes => {
                let summary = prepared.tofu.show_plan(workspace, &plan_file).await?;
                tracing::info!(
                    "applying {} changes to {}",
                    summary.changes.len(),
                    prepared.stack.name
                );
                prepared.tofu.apply(workspace, &plan_file).await?;
                let outputs = prepared.tofu.outputs(workspace).await?;
                Ok((summary, Some(outputs)))
            }
        }
    }
    .await;
    let _ = std::fs::remove_file(&plan_file);
    let (summary, outputs) = match result {
        Ok(done) => done,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let run = StackRun {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        changed: outputs.is_some(),
        summary,
    };
    let outputs = outputs
        .as_ref()
        .map(OutputEntry::from_outputs)
        .unwrap_or_default();
    let vault = vault_outputs::push(context, &mut prepared).await?;
    Ok(Report::Up {
        run,
        outputs,
        vault,
    })
}
