//! `plan <stack>`: a saved plan and its summary.

use std::path::PathBuf;

use super::report::{Report, StackRun};
use crate::cost::plan_cost;
use crate::engine::{PlanOutcome, PlanSummary};
use crate::error::Error;
use crate::policy::check_plan;
use crate::run::context::{Context, PrepareOptions, prepare_with, size_source};
use crate::run::plan_encryption::plans_outlive_the_process;
use crate::stack::CredentialRole;

pub struct PlanArgs {
    pub stack: String,
    pub workspace: String,
    pub out: Option<PathBuf>,
    pub detailed_exitcode: bool,
    pub destroy: bool,
}

pub async fn plan(context: &Context, args: PlanArgs) -> Result<Report, Error> {
    // A plan changes nothing: it takes the read credentials.
    let options = PrepareOptions {
        role: CredentialRole::Plan,
        check_account: true,
        ..PrepareOptions::default()
    };
    let mut prepared = prepare_with(context, &args.stack, &args.workspace, options).await?;
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
    let (summary, json) = match prepared
        .tofu
        .show_plan_json(&args.workspace, &plan_file)
        .await
    {
        Ok(shown) => shown,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let summary = match outcome {
        PlanOutcome::Changes => summary,
        PlanOutcome::NoChanges => PlanSummary::default(),
    };
    let policy = check_plan(&context.project.policies_dir(), &prepared.stack, &json)?;
    let budget = prepared.stack.budget.map(|budget| budget.monthly_usd);
    let cost = plan_cost(&size_source(context)?, &json, budget).await?;
    if outcome == PlanOutcome::Changes
        && !prepared.stack.encryption.is_enabled()
        && !plans_outlive_the_process()
    {
        tracing::warn!(
            "the saved plan is encrypted with a one-time key because the stack's state is unencrypted; set WILDSIDE_PLAN_PASSPHRASE to apply it in a later run"
        );
    }
    let changed = outcome == PlanOutcome::Changes;
    let run = StackRun::new(&prepared.stack, &args.workspace, changed, summary);
    Ok(Report::Plan {
        run,
        plan_file,
        policy,
        cost,
        detailed_exitcode: args.detailed_exitcode,
    })
}
