//! `down <stack>`: destroy everything the stack's workspace holds, and optionally the workspace itself. The
//! destroy plan passes the policy and budget gate first, so a policy can forbid destroying what a team protects.

use std::path::Path;

use super::report::{Report, StackRun};
use crate::engine::{EngineError, PlanSummary};
use crate::error::Error;
use crate::run::approval::{Effect, approve};
use crate::run::context::{Context, PrepareOptions, Prepared, prepare_with, run_plan_file};
use crate::run::convergence::Convergence;
use crate::run::gate;
use crate::vault::delete_outputs;

pub async fn down(
    context: &Context,
    stack: &str,
    workspace: &str,
    delete_workspace: bool,
    confirm: Option<&str>,
) -> Result<Report, Error> {
    confirm_production(context, stack, confirm)?;
    destroy_workspace(
        context,
        stack,
        workspace,
        delete_workspace,
        PrepareOptions::default(),
    )
    .await
}

/// [`down`] with preparation options (a preview's variables, say). There is no confirmation on this path, so
/// it refuses a production stack.
pub(super) async fn down_with(
    context: &Context,
    stack: &str,
    workspace: &str,
    delete_workspace: bool,
    options: PrepareOptions,
) -> Result<Report, Error> {
    confirm_production(context, stack, None)?;
    destroy_workspace(context, stack, workspace, delete_workspace, options).await
}

/// Refuses to destroy a stack marked production (`[policy] production = true`) unless `confirm` names it.
fn confirm_production(context: &Context, stack: &str, confirm: Option<&str>) -> Result<(), Error> {
    let loaded = context.project.load_stack(stack)?;
    if !loaded.policy.production || confirm == Some(loaded.name.as_str()) {
        return Ok(());
    }
    Err(Error::ProductionDestroy {
        stack: loaded.name,
        given: confirm.map(str::to_string),
    })
}

async fn destroy_workspace(
    context: &Context,
    stack: &str,
    workspace: &str,
    delete_workspace: bool,
    options: PrepareOptions,
) -> Result<Report, Error> {
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    let plan_file = run_plan_file(&prepared.build_dir, workspace)?;
    Convergence::of(&prepared).forget();
    let result = destroy(context, &mut prepared, &plan_file).await;
    let _ = std::fs::remove_file(&plan_file);
    let result = match result {
        Ok(summary) if delete_workspace && workspace != "default" => {
            match prepared.tofu.delete_workspace(workspace).await {
                Ok(()) => Ok((summary, true)),
                Err(error) => Err(Failed::Engine(error)),
            }
        }
        Ok(summary) => Ok((summary, false)),
        Err(failed) => Err(failed),
    };
    let vault_deleted = match &prepared.vault {
        Some(vault) if result.is_ok() => delete_outputs(vault, &prepared.stack, workspace).await?,
        _ => 0,
    };
    let (summary, workspace_deleted) = match result {
        Ok(done) => done,
        Err(Failed::Engine(error)) => return Err(prepared.explain(error).await),
        Err(Failed::Refused(refused)) => return Err(refused),
    };
    // Nothing is left to wake.
    crate::hibernation::Records::new(&context.project.work_dir(), &prepared.stack.name)
        .delete(workspace)?;
    let changed = !summary.changes.is_empty();
    let run = StackRun::new(&prepared.stack, workspace, changed, summary);
    Ok(Report::Down {
        run,
        workspace_deleted,
        vault_deleted,
    })
}

/// Why the workspace was not destroyed: tofu failed, or the gate refused the destroy plan.
enum Failed {
    Engine(EngineError),
    Refused(Error),
}

/// Plans the destruction of everything in the workspace, passes that plan through the gate, and applies it.
async fn destroy(
    context: &Context,
    prepared: &mut Prepared,
    plan_file: &Path,
) -> Result<PlanSummary, Failed> {
    let workspace = prepared.workspace.clone();
    let planned = prepared
        .tofu
        .plan_for_review(&workspace, plan_file, true)
        .await
        .map_err(Failed::Engine)?;
    let Some((summary, json)) = planned else {
        return Ok(PlanSummary::default());
    };
    gate::check(context, &prepared.stack, &json)
        .await
        .map_err(Failed::Refused)?;
    approve(
        context,
        &prepared.stack.name,
        &workspace,
        &summary,
        Effect::Destroy,
    )
    .await
    .map_err(Failed::Refused)?;
    prepared.tofu.note(&format!(
        "destroying {} (workspace {workspace})",
        prepared.stack.name
    ));
    prepared
        .tofu
        .apply(&workspace, plan_file)
        .await
        .map_err(Failed::Engine)?;
    Ok(summary)
}
