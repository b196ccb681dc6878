//! `plan` over several stacks (`plan a b`, `--all`, `--changed --base REF`) and `drift`: stacks run in
//! parallel (bounded), each one's progress is printed in one piece when it finishes, and every stack gets a
//! saved plan, a JSON report and a Markdown summary in the report directory, plus one comment for all.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use super::report::Report;
use crate::ci::{COMMENT_LIMIT, PlanStatus, StackPlanReport, render_comment};
use crate::engine::{EngineError, PlanOutcome, PlanSummary};
use crate::error::Error;
use crate::policy::check_plan;
use crate::run::context::{Context, PrepareOptions, prepare_with, size_source};
use crate::run::stack_selection::{Selection, select_stacks};
use crate::stack::CredentialRole;

pub struct PlanSetArgs {
    pub selection: Selection,
    pub workspace: String,
    pub parallelism: usize,
    pub report_dir: Option<PathBuf>,
    /// Where readers of the comment find the full plans (an artifact name or URL).
    pub artifact: String,
    pub detailed_exitcode: bool,
    /// `drift`: report stacks whose plan is not empty.
    pub drift: bool,
}

pub async fn plan_set(context: &Context, args: PlanSetArgs) -> Result<Report, Error> {
    let stacks = select_stacks(&context.project, &args.selection)?;
    let report_dir = match &args.report_dir {
        Some(dir) => {
            std::path::absolute(dir).map_err(|error| Error::io("resolving --report-dir", error))?
        }
        None => context.project.work_dir().join("reports"),
    };
    std::fs::create_dir_all(&report_dir)
        .map_err(|error| Error::io(format!("creating `{}`", report_dir.display()), error))?;
    let mut reports: Vec<StackPlanReport> = futures_util::stream::iter(stacks.iter())
        .map(|stack| plan_one(context, stack, &args.workspace, &report_dir))
        .buffer_unordered(args.parallelism.max(1))
        .collect()
        .await;
    if context.interrupts.received() > 0 {
        return Err(EngineError::Interrupted.into());
    }
    reports.sort_by(|a, b| a.stack.cmp(&b.stack));
    for report in &reports {
        write_report_files(&report_dir, report, &args)?;
    }
    let title = if args.drift {
        "wildside-tofu drift"
    } else {
        "wildside-tofu plan"
    };
    let marker = format!(
        "<!-- wildside-tofu:{}:{} -->",
        if args.drift { "drift" } else { "plan" },
        stacks.join(",")
    );
    let summary = render_comment(&reports, title, &marker, &args.artifact, COMMENT_LIMIT);
    let summary_file = report_dir.join(if args.drift { "drift.md" } else { "summary.md" });
    write(&summary_file, &summary)?;
    let json = serde_json::to_string_pretty(&reports).unwrap_or_default();
    write(
        &report_dir.join(if args.drift {
            "drift.json"
        } else {
            "report.json"
        }),
        &json,
    )?;
    Ok(Report::PlanSet {
        report_dir,
        summary_file,
        stacks: reports,
        detailed_exitcode: args.detailed_exitcode,
        drift: args.drift,
    })
}

/// Plans one stack with its output kept together, then prints that output in one piece.
async fn plan_one(
    context: &Context,
    stack: &str,
    workspace: &str,
    report_dir: &Path,
) -> StackPlanReport {
    let plan_file = report_dir.join(format!("{stack}.tfplan"));
    let (report, transcript) = match prepare_with(
        context,
        stack,
        workspace,
        PrepareOptions {
            keep_together: true,
            role: CredentialRole::Plan,
            check_account: true,
            ..PrepareOptions::default()
        },
    )
    .await
    {
        Ok(mut prepared) => {
            let transcript = prepared.tofu.keep_together();
            prepared
                .tofu
                .note(&format!("planning {stack} (workspace {workspace})"));
            let result = async {
                let outcome = prepared.tofu.plan(workspace, &plan_file, false).await?;
                let (summary, json) = prepared.tofu.show_plan_json(workspace, &plan_file).await?;
                Ok(match outcome {
                    PlanOutcome::NoChanges => (PlanSummary::default(), json),
                    PlanOutcome::Changes => (summary, json),
                })
            }
            .await;
            let report = match result {
                Ok((summary, json)) => match review(context, &prepared.stack, &json).await {
                    Ok((policy, cost)) => {
                        let mut report =
                            StackPlanReport::planned(stack, workspace, summary, Some(plan_file))
                                .at_rest(&prepared.stack);
                        report.policy = Some(policy);
                        report.cost = Some(cost);
                        report
                    }
                    Err(error) => StackPlanReport::failed(stack, workspace, error.to_string()),
                },
                Err(error) => StackPlanReport::failed(
                    stack,
                    workspace,
                    prepared.explain(error).await.to_string(),
                ),
            };
            (report, transcript.take())
        }
        Err(error) => (
            StackPlanReport::failed(stack, workspace, error.to_string()),
            String::new(),
        ),
    };
    let status = match report.status {
        PlanStatus::NoChanges => "no changes".to_string(),
        PlanStatus::Changes => {
            crate::views::count(report.changes.len() + report.output_changes.len(), "change")
        }
        PlanStatus::Failed => "FAILED".to_string(),
    };
    let status = match report.policy.as_ref().map(|policy| policy.denials.len()) {
        Some(denials) if denials > 0 => format!("{status}, {denials} policy denials"),
        _ => status,
    };
    let status = if report.over_budget() {
        format!("{status}, over budget")
    } else {
        status
    };
    let status = if report.state_encrypted {
        status
    } else {
        format!("{status}, state UNENCRYPTED")
    };
    let error = report
        .error
        .as_deref()
        .map(|error| format!("error: {error}\n"))
        .unwrap_or_default();
    eprint!("── {stack} (workspace {workspace}): {status}\n{transcript}{error}");
    report
}

/// Policies and cost of one stack's plan.
async fn review(
    context: &Context,
    stack: &crate::stack::Stack,
    json: &str,
) -> Result<(crate::policy::PolicyReport, crate::cost::CostDiff), Error> {
    let policy = check_plan(&context.project.policies_dir(), stack, json)?;
    let budget = stack.budget.map(|budget| budget.monthly_usd);
    let cost = crate::cost::plan_cost(&size_source(context)?, json, budget).await?;
    Ok((policy, cost))
}

fn write_report_files(
    dir: &Path,
    report: &StackPlanReport,
    args: &PlanSetArgs,
) -> Result<(), Error> {
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    write(&dir.join(format!("{}.json", report.stack)), &json)?;
    let marker = format!("<!-- wildside-tofu:plan:{} -->", report.stack);
    let markdown = render_comment(
        std::slice::from_ref(report),
        "wildside-tofu plan",
        &marker,
        &args.artifact,
        COMMENT_LIMIT,
    );
    write(&dir.join(format!("{}.md", report.stack)), &markdown)
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text)
        .map_err(|error| Error::io(format!("writing `{}`", path.display()), error))
}
