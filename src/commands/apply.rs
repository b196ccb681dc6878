//! `apply <stack> [--plan FILE]`: apply a reviewed plan exactly, or plan and apply in one go.

use std::path::PathBuf;

use super::context::{Context, prepare};
use super::report::{OutputEntry, Report};
use super::up::up;
use super::vault_outputs;
use crate::error::Error;

pub async fn apply(
    context: &Context,
    stack: &str,
    workspace: &str,
    plan_file: Option<PathBuf>,
) -> Result<Report, Error> {
    let Some(plan_file) = plan_file else {
        return match up(context, stack, workspace).await? {
            Report::Up {
                run,
                outputs,
                vault,
            } => Ok(Report::Apply {
                run,
                outputs,
                vault,
            }),
            other => Ok(other),
        };
    };
    let plan_file =
        std::path::absolute(&plan_file).map_err(|error| Error::io("resolving --plan", error))?;
    if !plan_file.is_file() {
        return Err(Error::Usage(format!(
            "no plan file at `{}`\n  hint: make one with `wildside-tofu plan {stack} --out FILE`",
            plan_file.display()
        )));
    }
    let mut prepared = prepare(context, stack, workspace).await?;
    let result = async {
        let summary = prepared.tofu.show_plan(workspace, &plan_file).await?;
        tracing::info!(
            "applying the saved plan to {} ({} changes)",
            prepared.stack.name,
            summary.changes.len()
        );
        prepared.tofu.apply(workspace, &plan_file).await?;
        Ok((summary, prepared.tofu.outputs(workspace).await?))
    }
    .await;
    let (summary, outputs) = match result {
        Ok(done) => done,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let changed = !summary.changes.is_empty();
    let run = super::report::StackRun {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        changed,
        summary,
    };
    let vault = vault_outputs::push(context, &mut prepared).await?;
    Ok(Report::Apply {
        run,
        outputs: OutputEntry::from_outputs(&outputs),
        vault,
    })
}
