//! The pull-request comment: totals first, then every destroy and replace, errors, and per-stack details in
//! collapsed sections. It never exceeds GitHub's comment limit: when it would, lines are cut from the middle
//! of the details (deterministically), never from the totals, the destroys or the errors, and the comment
//! says where the full plans are.

use std::fmt::Write;

use super::addresses::collapse_indexes;
use super::report::{PlanStatus, StackPlanReport};
use crate::cost::{CostDiff, money};
use crate::engine::{ResourceAction, ResourceChange};
use crate::stack::SecretInState;

/// GitHub refuses comments longer than this many characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Errors longer than this are abridged in the middle (the artifact has them whole).
const ERROR_LIMIT: usize = 8_000;

/// The comment for a set of stack plans. `marker` identifies the sticky comment; `artifact` says where the
/// full plans are; `limit` is the maximum length in characters.
pub fn render_comment(
    reports: &[StackPlanReport],
    title: &str,
    marker: &str,
    artifact: &str,
    limit: usize,
) -> String {
    let head = head(reports, title, marker);
    let footer = format!("\n_Full plans: {artifact}_\n");
    let lines: Vec<(usize, String)> = reports
        .iter()
        .enumerate()
        .flat_map(|(index, report)| {
            report
                .changes
                .iter()
                .map(move |change| (index, change_line(change)))
        })
        .collect();
    let mut budget = limit.saturating_sub(chars(&head) + chars(&footer));
    loop {
        let details = details(reports, &lines, budget, artifact);
        let comment = format!("{head}{details}{footer}");
        if chars(&comment) <= limit || budget == 0 {
            return comment;
        }
        budget = budget.saturating_sub((chars(&comment) - limit).max(256));
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Everything that is never cut: title, totals, destroys and replaces, errors.
fn head(reports: &[StackPlanReport], title: &str, marker: &str) -> String {
    let mut text = format!("{marker}\n### {title}\n\n");
    policy_head(&mut text, reports);
    text.push_str("| Stack | Workspace | Add | Change | Replace | Destroy | Result |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n");
    for report in reports {
        let totals = report.totals;
        let result = match report.status {
            PlanStatus::NoChanges => "no changes",
            PlanStatus::Changes => "changes",
            PlanStatus::Failed => "**failed**",
        };
        let result = if report.denied() {
            "**denied**"
        } else if report.over_budget() {
            "**over budget**"
        } else {
            result
        };
        let _ = writeln!(
            text,
            "| `{}` | `{}` | {} | {} | {} | {} | {result} |",
            report.stack,
            report.workspace,
            totals.add,
            totals.change,
            totals.replace,
            totals.destroy
        );
    }
    cost_head(&mut text, reports);
    at_rest(&mut text, reports);
    let destructive: Vec<&StackPlanReport> = reports
        .iter()
        .filter(|report| report.totals.destroy + report.totals.replace > 0)
        .collect();
    if !destructive.is_empty() {
        text.push_str("\n#### Destroys and replaces\n");
        for report in destructive {
            let _ = writeln!(text, "\n**`{}`**", report.stack);
            for (verb, action) in [
                ("destroy", ResourceAction::Delete),
                ("replace", ResourceAction::Replace),
            ] {
                for (address, count) in collapse_indexes(report.addresses(action)) {
                    let plural = if count > 1 {
                        format!(" ({count} resources)")
                    } else {
                        String::new()
                    };
                    let _ = writeln!(text, "- {verb} `{address}`{plural}");
                }
            }
        }
    }
    let failed: Vec<&StackPlanReport> = reports
        .iter()
        .filter(|report| report.error.is_some())
        .collect();
    if !failed.is_empty() {
        text.push_str("\n#### Errors\n");
        for report in failed {
            let error = abridge(report.error.as_deref().unwrap_or_default());
            let fence = fence_for(&error);
            let _ = writeln!(
                text,
                "\n**`{}`**\n{fence}text\n{}\n{fence}",
                report.stack,
                error.trim_end()
            );
        }
    }
    text
}

/// Stacks whose state is not encrypted, and secrets that tofu keeps in state and saved plans.
fn at_rest(text: &mut String, reports: &[StackPlanReport]) {
    let unencrypted: Vec<&StackPlanReport> = reports
        .iter()
        .filter(|report| !report.state_encrypted)
        .collect();
    let kept: Vec<(&StackPlanReport, &SecretInState)> = reports
        .iter()
        .flat_map(|report| {
            report
                .secrets_in_state
                .iter()
                .map(move |kept| (report, kept))
        })
        .collect();
    if unencrypted.is_empty() && kept.is_empty() {
        return;
    }
    text.push_str("\n#### State at rest\n");
    for report in unencrypted {
        let _ = writeln!(
            text,
            "- `{}`: state is **UNENCRYPTED** (`[encryption] enabled = false`)",
            report.stack
        );
    }
    for (report, kept) in kept {
        let _ = writeln!(text, "- `{}`: {kept}", report.stack);
    }
}

/// Policy denials come before everything else, whole; warnings and exceptions follow in one line each.
fn policy_head(text: &mut String, reports: &[StackPlanReport]) {
    let with_policy = || {
        reports
            .iter()
            .filter_map(|report| report.policy.as_ref().map(|policy| (report, policy)))
    };
    if with_policy().any(|(_, policy)| policy.denied()) {
        text.push_str("#### :no_entry: Policy denials\n\n");
        for (report, policy) in with_policy() {
            for denial in &policy.denials {
                let _ = writeln!(
                    text,
                    "- `{}` **{}**: {}",
                    report.stack,
                    denial.rule,
                    denial.message.replace('\n', " ")
                );
            }
        }
        text.push('\n');
    }
    for (report, policy) in with_policy() {
        for warning in &policy.warnings {
            let _ = writeln!(
                text,
                "- :warning: `{}` {}: {}",
                report.stack,
                warning.rule,
                warning.message.replace('\n', " ")
            );
        }
        for excepted in &policy.excepted {
            let _ = writeln!(
                text,
                "- excepted until {} in `{}` ({}): {}",
                excepted.expires,
                report.stack,
                excepted.reason.replace('\n', " "),
                excepted.finding.message.replace('\n', " ")
            );
        }
    }
    if with_policy().any(|(_, policy)| !policy.warnings.is_empty() || !policy.excepted.is_empty()) {
        text.push('\n');
    }
}

/// Monthly cost per stack (before → after, difference) and the resources whose price moves; a stack over its
/// budget is named with the resources driving the cost.
fn cost_head(text: &mut String, reports: &[StackPlanReport]) {
    let costs: Vec<(&StackPlanReport, &CostDiff)> = reports
        .iter()
        .filter_map(|report| report.cost.as_ref().map(|cost| (report, cost)))
        .collect();
    if costs.is_empty() {
        return;
    }
    text.push_str("\n#### Monthly cost\n\n| Stack | Before | After | Difference |\n| --- | ---: | ---: | ---: |\n");
    for (report, cost) in &costs {
        let _ = writeln!(
            text,
            "| `{}` | {} | {} | {:+.2} |",
            report.stack,
            cost.before.display(),
            cost.after.display(),
            cost.delta()
        );
    }
    for (report, cost) in &costs {
        if let Some(breach) = &cost.over_budget {
            let drivers: Vec<String> = breach
                .drivers
                .iter()
                .map(|line| format!("`{}` {}", line.address, money(line.monthly_usd)))
                .collect();
            let _ = writeln!(
                text,
                "\n:no_entry: **`{}` is over budget**: ${:.2} a month against ${:.2}, driven by {}",
                report.stack,
                breach.estimate_usd,
                breach.monthly_usd,
                drivers.join(", ")
            );
        }
        if !cost.changes.is_empty() {
            let _ = writeln!(
                text,
                "\n<details><summary><code>{}</code>: cost per resource</summary>\n\n| Resource | Before | After | Difference | Price from |\n| --- | ---: | ---: | ---: | --- |",
                report.stack
            );
            for change in &cost.changes {
                let (before, after, delta) = change.shown();
                let _ = writeln!(
                    text,
                    "| `{}` | {before} | {after} | {delta} | {} |",
                    change.address,
                    change.source()
                );
            }
            text.push_str("\n</details>\n");
        }
    }
}

/// The collapsed per-stack sections, keeping the first and last lines within `budget` characters.
fn details(
    reports: &[StackPlanReport],
    lines: &[(usize, String)],
    budget: usize,
    artifact: &str,
) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let kept = kept_lines(lines, budget.saturating_sub(section_overhead(reports)));
    let mut text = String::from("\n#### Details\n");
    for (index, report) in reports.iter().enumerate() {
        let in_stack: Vec<usize> = (0..lines.len())
            .filter(|&line| lines[line].0 == index)
            .collect();
        if in_stack.is_empty() {
            continue;
        }
        let _ = write!(
            text,
            "\n<details><summary><code>{}</code>: {}</summary>\n\n```diff\n",
            report.stack,
            crate::views::count(in_stack.len(), "change")
        );
        let mut omitted = 0;
        for line in in_stack {
            if kept(line) {
                if omitted > 0 {
                    let _ = writeln!(
                        text,
                        "# … {} omitted here: see {artifact}",
                        crate::views::count(omitted, "change")
                    );
                    omitted = 0;
                }
                let _ = writeln!(text, "{}", lines[line].1);
            } else {
                omitted += 1;
            }
        }
        if omitted > 0 {
            let _ = writeln!(
                text,
                "# … {} omitted here: see {artifact}",
                crate::views::count(omitted, "change")
            );
        }
        text.push_str("```\n\n</details>\n");
    }
    text
}

/// Characters the section scaffolding takes, whatever lines are kept.
fn section_overhead(reports: &[StackPlanReport]) -> usize {
    30 + reports
        .iter()
        .map(|report| 120 + chars(&report.stack))
        .sum::<usize>()
}

/// Which lines to keep: as many from the start and from the end as fit in `budget` (half each).
fn kept_lines(lines: &[(usize, String)], budget: usize) -> impl Fn(usize) -> bool + use<> {
    let total: usize = lines.iter().map(|(_, line)| chars(line) + 1).sum();
    if total <= budget {
        return Box::new(|_| true) as Box<dyn Fn(usize) -> bool>;
    }
    let half = budget / 2;
    let mut head = 0;
    let mut used = 0;
    while head < lines.len() && used + chars(&lines[head].1) < half {
        used += chars(&lines[head].1) + 1;
        head += 1;
    }
    let mut tail = lines.len();
    let mut used = 0;
    while tail > head && used + chars(&lines[tail - 1].1) < half {
        used += chars(&lines[tail - 1].1) + 1;
        tail -= 1;
    }
    Box::new(move |line| line < head || line >= tail)
}

fn change_line(change: &ResourceChange) -> String {
    let sign = match change.action {
        ResourceAction::Create => "+",
        ResourceAction::Update => "!",
        ResourceAction::Replace => "-/+",
        ResourceAction::Delete => "-",
        ResourceAction::Read => "<=",
        ResourceAction::Forget => "#",
    };
    format!("{sign} {}", change.address)
}

fn abridge(error: &str) -> String {
    let count = chars(error);
    if count <= ERROR_LIMIT {
        return error.to_string();
    }
    let keep = ERROR_LIMIT / 2;
    let start: String = error.chars().take(keep).collect();
    let end: String = error.chars().skip(count - keep).collect();
    format!(
        "{start}\n… {} characters omitted: the full error is in the report …\n{end}",
        count - 2 * keep
    )
}

/// A code fence longer than any run of backticks inside the text.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PlanSummary;

    fn report(stack: &str, changes: Vec<ResourceChange>) -> StackPlanReport {
        StackPlanReport::planned(
            stack,
            "default",
            PlanSummary {
                changes,
                ..PlanSummary::default()
            },
            None,
        )
    }

    fn change(address: String, action: ResourceAction) -> ResourceChange {
        ResourceChange {
            address,
            action,
            digest: None,
        }
    }

    #[test]
    fn a_huge_plan_fits_and_keeps_totals_destroys_and_errors() {
        let mut changes: Vec<ResourceChange> = (0..4000)
            .map(|i| {
                change(
                    format!("module.app.terraform_data.widget_with_a_long_name[{i}]"),
                    ResourceAction::Create,
                )
            })
            .collect();
        changes.extend((0..1500).map(|i| {
            change(
                format!("module.app.terraform_data.old[{i}]"),
                ResourceAction::Delete,
            )
        }));
        changes.push(change(
            "module.app.terraform_data.singleton".into(),
            ResourceAction::Delete,
        ));
        let mut failed =
            StackPlanReport::failed("broken", "default", "Error: something went wrong".into());
        failed.workspace = "pr-7".into();
        let comment = render_comment(
            &[report("big", changes), failed],
            "wildside-tofu plan",
            "<!-- m -->",
            "the `plans` artifact",
            COMMENT_LIMIT,
        );
        assert!(
            comment.chars().count() <= COMMENT_LIMIT,
            "{} characters",
            comment.chars().count()
        );
        assert!(comment.contains("| `big` | `default` | 4000 | 0 | 0 | 1501 | changes |"));
        assert!(
            comment.contains("- destroy `module.app.terraform_data.old[0-1499]` (1500 resources)")
        );
        assert!(comment.contains("- destroy `module.app.terraform_data.singleton`"));
        assert!(comment.contains("Error: something went wrong"));
        assert!(comment.contains("changes omitted here: see the `plans` artifact"));
        assert!(
            comment.contains("+ module.app.terraform_data.widget_with_a_long_name[0]"),
            "the head is kept"
        );
        assert!(
            comment.contains("- module.app.terraform_data.singleton"),
            "the tail is kept"
        );
        assert_eq!(
            comment.matches("<details>").count(),
            comment.matches("</details>").count()
        );
        let again = render_comment(
            &[report("big", Vec::new())],
            "wildside-tofu plan",
            "<!-- m -->",
            "x",
            COMMENT_LIMIT,
        );
        assert!(!again.contains("omitted"));
    }

    #[test]
    fn small_plans_render_whole() {
        let changes = vec![
            change("module.a.terraform_data.x".into(), ResourceAction::Create),
            change("module.a.terraform_data.y".into(), ResourceAction::Replace),
        ];
        let comment = render_comment(
            &[report("dev", changes)],
            "wildside-tofu plan",
            "<!-- wildside-tofu:plan:dev -->",
            "the `plans` artifact",
            COMMENT_LIMIT,
        );
        let expected = "<!-- wildside-tofu:plan:dev -->
### wildside-tofu plan

| Stack | Workspace | Add | Change | Replace | Destroy | Result |
| --- | --- | ---: | ---: | ---: | ---: | --- |
| `dev` | `default` | 1 | 0 | 1 | 0 | changes |

#### Destroys and replaces

**`dev`**
- replace `module.a.terraform_data.y`

#### Details

<details><summary><code>dev</code>: 2 changes</summary>

```diff
+ module.a.terraform_data.x
-/+ module.a.terraform_data.y
```

</details>

_Full plans: the `plans` artifact_
";
        assert_eq!(comment, expected);
    }

    #[test]
    fn unencrypted_state_and_secrets_kept_in_state_are_named() {
        let mut open = report("dev", Vec::new());
        open.state_encrypted = false;
        let mut kept = report("prod", Vec::new());
        kept.secrets_in_state = vec![SecretInState {
            secret: "api_key".into(),
            module: "app".into(),
            input: "key".into(),
        }];
        let comment = render_comment(&[open, kept], "plan", "<!-- m -->", "there", COMMENT_LIMIT);
        assert!(comment.contains(
            "#### State at rest\n- `dev`: state is **UNENCRYPTED** (`[encryption] enabled = false`)\n- `prod`: secret `api_key` reaches module input `app.key`, which is not write-only"
        ), "{comment}");
        let quiet = render_comment(
            &[report("dev", Vec::new())],
            "plan",
            "<!-- m -->",
            "there",
            COMMENT_LIMIT,
        );
        assert!(!quiet.contains("State at rest"), "{quiet}");
    }

    #[test]
    fn error_fences_outlast_backticks_inside() {
        assert_eq!(fence_for("a ```` b"), "`````");
        assert_eq!(fence_for("plain"), "```");
    }
}
