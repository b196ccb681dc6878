//! The human view: short, readable summaries. Sensitive outputs show as `<sensitive>`.

use std::fmt::Write;

use crate::commands::{OutputEntry, Report, StackRun};
use crate::engine::ResourceAction;

pub(super) fn render(report: &Report) -> String {
    let mut text = String::new();
    match report {
        Report::Plan { run, plan_file, .. } => {
            summary(&mut text, run, "plan");
            if run.changed {
                let _ = writeln!(text, "saved plan: {}", plan_file.display());
            }
        }
        Report::Apply { run, outputs } | Report::Up { run, outputs } => {
            summary(&mut text, run, "applied");
            outputs_section(&mut text, outputs);
        }
        Report::Down {
            run,
            workspace_deleted,
        } => {
            let destroyed = run.summary.count(ResourceAction::Delete);
            let _ = writeln!(
                text,
                "{} (workspace {}): {destroyed} resources destroyed",
                run.stack, run.workspace
            );
            for address in run.summary.addresses(ResourceAction::Delete) {
                let _ = writeln!(text, "  - {address}");
            }
            if *workspace_deleted {
                let _ = writeln!(text, "workspace {} deleted", run.workspace);
            }
        }
        Report::Output { outputs, .. } => outputs_section(&mut text, outputs),
        Report::Render { files, .. } => {
            for file in files {
                let _ = writeln!(text, "{}", file.display());
            }
        }
        Report::Doctor { healthy, checks } => {
            for check in checks {
                let mark = if check.ok { "ok  " } else { "FAIL" };
                let _ = writeln!(
                    text,
                    "{mark} {}: {}",
                    check.name,
                    check.detail.replace('\n', "\n     ")
                );
            }
            let _ = writeln!(text, "{}", if *healthy { "healthy" } else { "not healthy" });
        }
    }
    text
}

fn summary(text: &mut String, run: &StackRun, verb: &str) {
    let head = format!("{} (workspace {})", run.stack, run.workspace);
    if !run.changed {
        let _ = writeln!(text, "{head}: no changes");
        return;
    }
    let count = |action| run.summary.count(action);
    let _ = writeln!(
        text,
        "{head}: {verb}: {} to add, {} to change, {} to replace, {} to destroy",
        count(ResourceAction::Create),
        count(ResourceAction::Update),
        count(ResourceAction::Replace),
        count(ResourceAction::Delete)
    );
    for change in &run.summary.changes {
        let sign = match change.action {
            ResourceAction::Create => "+",
            ResourceAction::Update => "~",
            ResourceAction::Replace => "-/+",
            ResourceAction::Delete => "-",
            ResourceAction::Read => "<=",
            ResourceAction::Forget => "forget",
        };
        let _ = writeln!(text, "  {sign} {}", change.address);
    }
}

fn outputs_section(text: &mut String, outputs: &[OutputEntry]) {
    if outputs.is_empty() {
        return;
    }
    let _ = writeln!(text, "outputs:");
    for output in outputs {
        let value = match &output.value {
            Some(value) => value.to_string(),
            None => "<sensitive>".to_string(),
        };
        let _ = writeln!(text, "  {} = {value}", output.name);
    }
}
