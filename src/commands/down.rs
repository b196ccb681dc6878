//! `down <stack>`: destroy everything the stack's workspace holds, and optionally the workspace itself.

use super::report::{Report, StackRun};
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, prepare_with};
use crate::vault::delete_outputs;

pub async fn down(
    context: &Context,
    stack: &str,
    workspace: &str,
    delete_workspace: bool,
) -> Result<Report, Error> {
    down_with(
        context,
        stack,
        workspace,
        delete_workspace,
        PrepareOptions::default(),
    )
    .await
}

/// [`down`] with preparation options (a preview's variables, say).
pub(super) async fn down_with(
    context: &Context,
    stack: &str,
    workspace: &str,
    delete_workspace: bool,
    options: PrepareOptions,
) -> Result<Report, Error> {
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    prepared.tofu.note(&format!(
        "destroying {} (workspace {workspace})",
        prepared.stack.name
    ));
    let result = async {
        prepared.tofu.destroy(workspace).await?;
        let summary = prepared.tofu.planned_summary();
        let deleted = delete_workspace && workspace != "default";
        if deleted {
            prepared.tofu.delete_workspace(workspace).await?;
        }
        Ok((summary, deleted))
    }
    .await;
    let vault_deleted = match &prepared.vault {
        Some(vault) if result.is_ok() => delete_outputs(vault, &prepared.stack, workspace).await?,
        _ => 0,
    };
    let (summary, workspace_deleted) = match result {
        Ok(done) => done,
        Err(error) => return Err(prepared.explain(error).await),
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
