//! `apply <stack>`: apply exactly what was reviewed. Either a saved plan (`--plan FILE`; tofu refuses it if
//! the state moved on since), or a fresh plan that must make exactly the changes of a reviewed report
//! (`--expect-report FILE`), or, with neither, plan and apply in one go like `up`.

use std::path::{Path, PathBuf};

use super::report::{OutputEntry, Report, StackRun};
use super::up::up;
use crate::ci::StackPlanReport;
use crate::engine::{EngineError, PlanSummary, ResourceChange};
use crate::error::Error;
use crate::run::context::{
    Context, PrepareOptions, Prepared, prepare, prepare_with, run_plan_file,
};
use crate::run::gate;
use crate::run::vault_outputs;

pub async fn apply(
    context: &Context,
    stack: &str,
    workspace: &str,
    plan_file: Option<PathBuf>,
    expect_report: Option<PathBuf>,
) -> Result<Report, Error> {
    if let Some(plan_file) = plan_file {
        return apply_saved_plan(context, stack, workspace, &plan_file).await;
    }
    if let Some(report) = expect_report {
        return apply_if_unchanged(context, stack, workspace, &report).await;
    }
    match up(context, stack, workspace).await? {
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
    }
}

async fn apply_saved_plan(
    context: &Context,
    stack: &str,
    workspace: &str,
    plan_file: &Path,
) -> Result<Report, Error> {
    let plan_file =
        std::path::absolute(plan_file).map_err(|error| Error::io("resolving --plan", error))?;
    if !plan_file.is_file() {
        return Err(Error::Usage(format!(
            "no plan file at `{}`\n  hint: make one with `wildside-tofu plan {stack} --out FILE`",
            plan_file.display()
        )));
    }
    let mut prepared = prepare(context, stack, workspace).await?;
    let (summary, json) = match prepared.tofu.show_plan_json(workspace, &plan_file).await {
        Ok(shown) => shown,
        Err(error) => return Err(prepared.explain(error).await),
    };
    gate::check(context, &prepared.stack, &json).await?;
    apply_and_report(context, prepared, &plan_file, summary).await
}

/// Plans again and applies only if the plan makes exactly the reviewed changes: the same stack, workspace and
/// report schema, and the same changes with the same values. Both sides are summarised from `tofu show -json`
/// by one parser.
async fn apply_if_unchanged(
    context: &Context,
    stack: &str,
    workspace: &str,
    report: &Path,
) -> Result<Report, Error> {
    let text = std::fs::read_to_string(report)
        .map_err(|error| Error::io(format!("reading `{}`", report.display()), error))?;
    let reviewed = StackPlanReport::from_json(report, &text)?;
    reviewed.check_digest_key(report, &context.engine.digest_key)?;
    for (what, reviewed, actual) in [
        ("stack", &reviewed.stack, stack),
        ("workspace", &reviewed.workspace, workspace),
    ] {
        if reviewed != actual {
            return Err(Error::ReportFor {
                report: report.to_path_buf(),
                what,
                reviewed: reviewed.clone(),
                actual: actual.to_string(),
            });
        }
    }
    let options = PrepareOptions {
        check_account: true,
        ..PrepareOptions::default()
    };
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    let plan_file = run_plan_file(&prepared.build_dir, workspace)?;
    let planned = prepared
        .tofu
        .plan_for_review(workspace, &plan_file, false)
        .await;
    let (summary, json) = match planned {
        Ok(Some((summary, json))) => (summary, Some(json)),
        Ok(None) => (PlanSummary::default(), None),
        Err(error) => {
            let _ = std::fs::remove_file(&plan_file);
            return Err(prepared.explain(error).await);
        }
    };
    let now = StackPlanReport::planned(stack, workspace, summary.clone(), None);
    let (unreviewed, unreviewed_outputs) = now.changes_not_in(&reviewed);
    let (gone, gone_outputs) = reviewed.changes_not_in(&now);
    if !(unreviewed.is_empty()
        && gone.is_empty()
        && unreviewed_outputs.is_empty()
        && gone_outputs.is_empty())
    {
        let _ = std::fs::remove_file(&plan_file);
        let describe = |changes: &[&ResourceChange], outputs: &[&str], other: &StackPlanReport| {
            let mut items: Vec<String> = changes
                .iter()
                .map(|change| {
                    let same_action = other.changes.iter().any(|theirs| {
                        theirs.address == change.address && theirs.action == change.action
                    });
                    let values = if same_action { " (other values)" } else { "" };
                    format!("{:?} {}{values}", change.action, change.address).to_lowercase()
                })
                .collect();
            items.extend(outputs.iter().map(|output| {
                let values = if other.output_changes.iter().any(|theirs| theirs == output) {
                    " (other values)"
                } else {
                    ""
                };
                format!("output {output}{values}")
            }));
            if items.is_empty() {
                "nothing".to_string()
            } else {
                items.join(", ")
            }
        };
        return Err(Error::PlanDiffers {
            stack: stack.to_string(),
            unreviewed: describe(&unreviewed, &unreviewed_outputs, &reviewed),
            gone: describe(&gone, &gone_outputs, &now),
        });
    }
    let result = match json {
        Some(json) => gate::check(context, &prepared.stack, &json).await,
        None => Ok(()),
    };
    let result = match result {
        Ok(()) => apply_and_report(context, prepared, &plan_file, summary).await,
        Err(refused) => Err(refused),
    };
    let _ = std::fs::remove_file(&plan_file);
    result
}

async fn apply_and_report(
    context: &Context,
    mut prepared: Prepared,
    plan_file: &Path,
    summary: PlanSummary,
) -> Result<Report, Error> {
    let workspace = prepared.workspace.clone();
    prepared.tofu.note(&format!(
        "applying {} to {}",
        crate::views::count(summary.changes.len(), "change"),
        prepared.stack.name
    ));
    let result = async {
        prepared.tofu.apply(&workspace, plan_file).await?;
        prepared.tofu.outputs(&workspace).await
    }
    .await;
    let outputs = match result {
        Ok(outputs) => outputs,
        Err(error) if is_stale(&error) => {
            return Err(Error::StalePlan {
                stack: prepared.stack.name.clone(),
            });
        }
        Err(error) => return Err(prepared.explain(error).await),
    };
    let changed = !summary.changes.is_empty();
    let run = StackRun::new(&prepared.stack, &workspace, changed, summary);
    let vault = vault_outputs::push(context, &mut prepared).await?;
    Ok(Report::Apply {
        run,
        outputs: OutputEntry::from_outputs(&outputs),
        vault,
    })
}

/// Whether tofu refused a saved plan because the state changed after it was made. OpenTofu gives its
/// diagnostics no code, so the refusal is known by its exact summary.
pub(super) fn is_stale(error: &EngineError) -> bool {
    error
        .diagnostics()
        .iter()
        .any(|diagnostic| diagnostic.summary == "Saved plan is stale")
}
