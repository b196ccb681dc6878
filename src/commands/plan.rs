//! `plan <stack>`: a saved plan and its summary.

use std::path::PathBuf;

use super::context::{Context, prepare};
use super::plan_encryption::plans_outlive_the_process;
use super::report::{Report, StackRun};
use crate::engine::{PlanOutcome, PlanSummary};
use crate::error::Error;

pub struct PlanArgs {
    pub stack: String,
    pub workspace: String,
    pub out: Option<PathBuf>,
    pub detailed_exitcode: bool,
    pub destroy: bool,
}

pub async fn plan(context: &Context, args: PlanArgs) -> Result<Report, Error> {
    let mut prepared = prepare(context, &args.stack, &args.workspace).await?;
    let plan_file = match args.out {
        Some(path) => {
            std::path::absolute(&path).map_err(|error| Error::io("resolving --out", error))?
        }
        None => prepared
            .build_dir
            .join("plans")
            .join(format!("{}.tfplan", args.workspace)),
    };
    if let Some(dir) = plan_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| Error::io(format!("creating `{}`", dir.display()), error))?;
    }
    tracing::info!(
        "planning {} (workspace {})",
        prepared.stack.name,
        args.workspace
    );
    let outcome = match prepared
        .tofu
        .plan(&args.workspace, &plan_file, args.destroy)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let summary = match outcome {
        PlanOutcome::Changes => prepared.tofu.show_plan(&args.workspace, &plan_file).await?,
        PlanOutcome::NoChanges => PlanSummary::default(),
    };
    if outcome == PlanOutcome::Changes
        && !prepared.stack.encryption.is_enabled()
        && !plans_outlive_the_process()
    {
        tracing::warn!(
            "the saved plan is encrypted with a one-time key because the stack's state is unencrypted; set WILDSIDE_PLAN_PASSPHRASE to apply it in a later run"
        );
    }
    let run = StackRun {
        stack: prepared.stack.name.clone(),
        state_encrypted: prepared.stack.encryption.is_enabled(),
        workspace: args.workspace,
        changed: outcome == PlanOutcome::Changes,
        summary,
    };
    Ok(Report::Plan {
        run,
        plan_file,
        detailed_exitcode: args.detailed_exitcode,
    })
}
