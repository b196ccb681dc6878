//! The question before a change. On a terminal, every command that applies a plan it made itself (`up`,
//! `apply` without a reviewed plan, `down`, `hibernate`, `wake`, `preview up`, `preview down`, `preview gc`)
//! shows the plan and asks, as `tofu apply` does; `--yes` answers in advance. Without a terminal and without
//! `--yes` it refuses, so a script never applies what nobody approved. A reviewed plan (`apply --plan`,
//! `apply --expect-report`) was approved when it was reviewed, and is not asked about again.

use std::io::{BufRead, IsTerminal, Write};

use crate::engine::{PlanSummary, ResourceAction};
use crate::error::Error;
use crate::run::context::Context;

/// Whether a change may go ahead without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approval {
    /// Ask on a terminal; refuse without one.
    #[default]
    Ask,
    /// `--yes`: approved in advance.
    Given,
}

/// What the plan about to be approved does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Apply,
    Destroy,
}

impl Effect {
    fn verb(self) -> &'static str {
        match self {
            Effect::Apply => "apply",
            Effect::Destroy => "destroy",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Effect::Apply => "applied",
            Effect::Destroy => "destroyed",
        }
    }
}

/// The plan as the question shows it: one line per resource change, then the outputs that change.
fn describe(summary: &PlanSummary) -> String {
    let mut text = String::new();
    for change in &summary.changes {
        let mark = match change.action {
            ResourceAction::Create => "+ create ",
            ResourceAction::Update => "~ update ",
            ResourceAction::Replace => "-/+ replace",
            ResourceAction::Delete => "- destroy",
            ResourceAction::Read => "<= read  ",
            ResourceAction::Forget => ". forget ",
        };
        text.push_str(&format!("  {mark} {}\n", change.address));
    }
    for output in &summary.output_changes {
        text.push_str(&format!("  ~ output   {output}\n"));
    }
    text
}

/// Asks before `effect` on `stack`'s `workspace`, unless approved in advance; `Ok` means go ahead.
pub(crate) async fn approve(
    context: &Context,
    stack: &str,
    workspace: &str,
    summary: &PlanSummary,
    effect: Effect,
) -> Result<(), Error> {
    if context.approval == Approval::Given {
        return Ok(());
    }
    let changes = crate::views::count(summary.changes.len(), "change");
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::ApprovalRequired {
            stack: stack.to_string(),
            workspace: workspace.to_string(),
            effect: effect.verb(),
            changes,
        });
    }
    let question = format!(
        "\n{stack} (workspace {workspace}) will {} {changes}:\n{}\nDo you want to {} them? Only `yes` goes ahead: ",
        effect.verb(),
        describe(summary),
        effect.verb(),
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(question.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let mut interrupts = context.interrupts.clone();
    let answer = tokio::select! {
        answer = answer => answer,
        _ = interrupts.next() => return Err(Error::Interrupted { during: "waiting for an answer" }),
    };
    match answer {
        Ok(Ok(line)) if line.trim() == "yes" => Ok(()),
        _ => Err(Error::NotApproved {
            stack: stack.to_string(),
            workspace: workspace.to_string(),
            done: effect.done(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::engine::{PlanSummary, ResourceAction, ResourceChange};

    #[test]
    fn the_question_lists_every_change() {
        let summary = PlanSummary {
            changes: vec![
                ResourceChange {
                    address: "module.vpc.digitalocean_vpc.this".into(),
                    action: ResourceAction::Create,
                    digest: None,
                },
                ResourceChange {
                    address: "module.cluster.digitalocean_kubernetes_cluster.this".into(),
                    action: ResourceAction::Delete,
                    digest: None,
                },
            ],
            output_changes: vec!["kubeconfig".into()],
            ..Default::default()
        };
        let text = describe(&summary);
        assert!(
            text.contains("+ create  module.vpc.digitalocean_vpc.this"),
            "{text}"
        );
        assert!(text.contains("- destroy module.cluster."), "{text}");
        assert!(text.contains("~ output   kubeconfig"), "{text}");
    }
}
