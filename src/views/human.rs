//! The human view: short, readable summaries. Sensitive outputs show as `<sensitive>`.

use std::fmt::Write;

use crate::commands::{Hibernation, OutputEntry, Report, StackRun};
use secrecy::ExposeSecret;

use crate::ci::{PlanStatus, StickyOutcome};
use crate::commands::{ExpirySource, PreviewRow};
use crate::cost::{CostDiff, DAILY_BASIS, money};
use crate::engine::ResourceAction;
use crate::hibernation::{PoolSide, Summary};
use crate::policy::PolicyReport;
use crate::vault::OutputsPush;

use super::count;

/// Before → after and the difference, per resource whose price moves and in total; a budget breach first.
fn cost_section(text: &mut String, cost: &CostDiff) {
    if let Some(breach) = &cost.over_budget {
        let drivers: Vec<String> = breach
            .drivers
            .iter()
            .map(|line| format!("{} {}", line.address, money(line.monthly_usd)))
            .collect();
        let _ = writeln!(
            text,
            "OVER BUDGET: ${:.2} a month against a budget of ${:.2}; driven by {}",
            breach.estimate_usd,
            breach.monthly_usd,
            drivers.join(", ")
        );
    }
    for change in &cost.changes {
        let (before, after, delta) = change.shown();
        let _ = writeln!(
            text,
            "  cost {}: {before} -> {after} ({delta})  [{}]",
            change.address,
            change.source()
        );
    }
    let _ = writeln!(
        text,
        "monthly cost: {} -> {} ({:+.2})",
        cost.before.display(),
        cost.after.display(),
        cost.delta()
    );
}

/// Nodes as a range, `2–10`, or one number when the pool is fixed.
fn nodes((low, high): (u32, u32)) -> String {
    if low == high {
        low.to_string()
    } else {
        format!("{low}–{high}")
    }
}

/// The node pools' nodes and monthly cost before → after: in total on the line that `lead` starts, then per
/// pool with the source of its price.
fn hibernation_section(text: &mut String, lead: &str, summary: &Summary) {
    let _ = writeln!(
        text,
        "{lead}; nodes {} → {}; monthly cost {} → {} (autoscaled pools at their fewest nodes)",
        nodes(summary.nodes_before),
        nodes(summary.nodes_after),
        summary.cost_before.display(),
        summary.cost_after.display()
    );
    for pool in &summary.pools {
        let side = |side: &Option<PoolSide>, shown: fn(&PoolSide) -> String| {
            side.as_ref().map_or_else(|| "-".to_string(), shown)
        };
        let count = |side: &PoolSide| nodes((side.min_nodes, side.max_nodes));
        let price = |side: &PoolSide| money(side.monthly_usd);
        let source = pool
            .after
            .as_ref()
            .or(pool.before.as_ref())
            .map(|side| side.source.as_str())
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "  pool {} ({}): nodes {} → {}, {} → {} a month  [{source}]",
            pool.name,
            pool.size.as_deref().unwrap_or("size unknown"),
            side(&pool.before, count),
            side(&pool.after, count),
            side(&pool.before, price),
            side(&pool.after, price),
        );
    }
}

/// Where each preview's cost a day came from: the sources of its prices, or why it is unknown.
fn preview_cost_sources(text: &mut String, previews: &[PreviewRow]) {
    if previews.is_empty() {
        return;
    }
    let _ = writeln!(text, "cost a day: {DAILY_BASIS}, priced as `cost` prices");
    for row in previews {
        let sources = match &row.cost_per_day {
            None => "unknown: not estimated (no successful `preview up` recorded it)".to_string(),
            Some(cost) if cost.lines.is_empty() => "no DigitalOcean resources".to_string(),
            Some(cost) => cost.sources().join("; "),
        };
        let _ = writeln!(text, "  pr-{}: {sources}", row.pr);
    }
}

/// Denials first (they decide the exit status), then warnings, exceptions, and what ran.
fn policy_section(text: &mut String, policy: &PolicyReport) {
    for denial in &policy.denials {
        let _ = writeln!(text, "DENIED by {}: {}", denial.rule, denial.message);
    }
    for warning in &policy.warnings {
        let _ = writeln!(text, "warning from {}: {}", warning.rule, warning.message);
    }
    for excepted in &policy.excepted {
        let _ = writeln!(
            text,
            "excepted until {} ({}): {}",
            excepted.expires, excepted.reason, excepted.finding.message
        );
    }
    let rules: usize = policy.files.iter().map(|file| file.rules.len()).sum();
    let _ = writeln!(
        text,
        "policy: {}, {} evaluated, {}, {}, {} excepted",
        count(policy.files.len(), "file"),
        count(rules, "rule"),
        count(policy.denials.len(), "denial"),
        count(policy.warnings.len(), "warning"),
        policy.excepted.len()
    );
    for file in &policy.files {
        let rules: Vec<String> = file
            .rules
            .iter()
            .map(|rule| {
                format!(
                    "{} (line {}): {}, {}",
                    rule.name,
                    rule.line,
                    count(rule.findings, "finding"),
                    count(rule.resources, "resource")
                )
            })
            .collect();
        let _ = writeln!(
            text,
            "  {} [{}]: {}",
            file.file,
            file.package,
            rules.join("; ")
        );
    }
}

pub(super) fn render(report: &Report) -> String {
    let mut text = String::new();
    match report {
        Report::Plan {
            run,
            plan_file,
            policy,
            cost,
            ..
        } => {
            policy_section(&mut text, policy);
            summary(&mut text, run, "plan");
            cost_section(&mut text, cost);
            if run.changed {
                let _ = writeln!(text, "saved plan: {}", plan_file.display());
            }
        }
        Report::Apply {
            run,
            outputs,
            vault,
        }
        | Report::Up {
            run,
            outputs,
            vault,
        } => {
            summary(&mut text, run, "applied");
            outputs_section(&mut text, outputs);
            if let Some(push) = vault {
                vault_section(&mut text, push);
            }
        }
        Report::OutputsPush { vault, .. } => vault_section(&mut text, vault),
        Report::State {
            stack,
            action,
            encryption,
            key_version,
            workspaces,
        } => {
            let done = match action {
                crate::commands::StateAction::Encrypt => "encrypted",
                crate::commands::StateAction::Decrypt => "decrypted",
                crate::commands::StateAction::RotateKey => "re-encrypted",
            };
            if let Some(version) = key_version {
                let _ = writeln!(text, "{stack}: transit key rotated to version {version}");
            }
            for migration in workspaces {
                let plan = if migration.plan_clean {
                    "plan clean"
                } else {
                    "plan has changes (they were pending before)"
                };
                if migration.migrated {
                    let _ = writeln!(
                        text,
                        "{stack} (workspace {}): state {done} and verified (read back, {plan}, stored form checked)",
                        migration.workspace
                    );
                } else {
                    let _ = writeln!(
                        text,
                        "{stack} (workspace {}): no state yet, nothing to do",
                        migration.workspace
                    );
                }
            }
            if *action == crate::commands::StateAction::Decrypt {
                let _ = writeln!(
                    text,
                    "the stack file still says: state {encryption}\n  hint: set `[encryption] enabled = false` in stacks/{stack}.toml to keep the state unencrypted"
                );
            }
        }
        Report::Hibernation(Hibernation {
            action,
            run,
            summary: pools,
            since,
        }) => {
            summary(&mut text, run, "applied");
            let state = match (action, since) {
                (crate::commands::HibernationAction::Hibernate, Some(since)) => {
                    format!("hibernated since {since}")
                }
                (crate::commands::HibernationAction::Hibernate, None) => "hibernated".to_string(),
                (crate::commands::HibernationAction::Wake, _) => "awake".to_string(),
            };
            hibernation_section(
                &mut text,
                &format!("{} (workspace {}): {state}", run.stack, run.workspace),
                pools,
            );
        }
        Report::PolicyCheck { policy } => policy_section(&mut text, policy),
        Report::Cost {
            stack,
            workspace,
            estimate,
        } => {
            for line in &estimate.lines {
                let _ = writeln!(
                    text,
                    "{:<60} {:>12}  {}",
                    line.address,
                    money(line.monthly_usd),
                    line.source
                );
            }
            let _ = writeln!(
                text,
                "{stack} (workspace {workspace}): {} a month",
                estimate.total.display()
            );
        }
        Report::PolicyTest {
            passed,
            failed,
            tests,
        } => {
            for test in tests {
                let _ = writeln!(
                    text,
                    "{:<5} {}:{} {}.{}{}",
                    format!("{:?}", test.outcome).to_uppercase(),
                    test.file,
                    test.line,
                    test.package,
                    test.name,
                    test.error
                        .as_deref()
                        .map(|error| format!("\n{error}"))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(text, "{passed} passed, {failed} failed");
        }
        Report::Preview {
            action, pr, record, ..
        } => match record {
            Some(record) => {
                let pinned = record
                    .pinned_until
                    .map(|until| format!(", pinned until {until}"))
                    .unwrap_or_default();
                let url = record
                    .url
                    .as_deref()
                    .map(|url| format!(" at {url}"))
                    .unwrap_or_default();
                let cost = record
                    .cost_per_day
                    .as_ref()
                    .map(|cost| format!(", {}", cost.display()))
                    .unwrap_or_default();
                let _ = writeln!(
                    text,
                    "preview pr-{pr} ({action}): {}{url}, expires {}{pinned}{cost}",
                    record.status.as_str(),
                    record.expires
                );
            }
            None => {
                let _ = writeln!(text, "preview pr-{pr} ({action}): gone");
            }
        },
        Report::Gitops {
            action,
            stack,
            directory,
            remote,
            changed,
            commit,
        } => {
            let place = match (directory, remote) {
                (Some(directory), _) => format!(" in {}", directory.display()),
                (None, Some(remote)) => format!(" to {remote}"),
                (None, None) => String::new(),
            };
            let files = super::count(changed.len(), "file");
            let _ = match (commit, changed.len()) {
                (None, _) if action == "bootstrap" => writeln!(
                    text,
                    "gitops bootstrap {stack}: applied to the cluster; Flux reads {}",
                    remote.as_deref().unwrap_or("the platform repository")
                ),
                (Some(commit), _) => writeln!(
                    text,
                    "gitops {action} {stack}: committed {commit}{place} ({files} changed)"
                ),
                (None, 0) => writeln!(text, "gitops {action} {stack}: nothing changed{place}"),
                (None, _) => writeln!(text, "gitops {action} {stack}: {files} changed{place}"),
            };
            for path in changed {
                let _ = writeln!(text, "  {path}");
            }
        }
        Report::PreviewList { previews, .. } => {
            let _ = writeln!(
                text,
                "{:<8} {:<18} {:>6} {:<21} {:<21} {:>20} url",
                "pr", "status", "age h", "expires", "pinned until", "cost a day"
            );
            for row in previews {
                let _ = writeln!(
                    text,
                    "{:<8} {:<18} {:>6.1} {:<21} {:<21} {:>20} {}",
                    format!("pr-{}", row.pr),
                    row.status,
                    row.age_hours,
                    row.expires
                        .map_or_else(|| "-".into(), |time| time.to_string()),
                    row.pinned_until
                        .map_or_else(|| "-".into(), |time| time.to_string()),
                    row.cost_per_day.as_ref().map_or_else(
                        || "unknown".into(),
                        |cost| cost.display().trim_end_matches(" a day").to_string()
                    ),
                    row.url.as_deref().unwrap_or("-")
                );
            }
            preview_cost_sources(&mut text, previews);
        }
        Report::PreviewLedgerRebuild {
            stack,
            dry_run,
            found,
            kept,
            rebuilt,
        } => {
            let verb = if *dry_run { "would write" } else { "wrote" };
            let _ = writeln!(
                text,
                "the preview ledger of {stack} {found}: {verb} {} rebuilt record(s), kept {kept}",
                rebuilt.len()
            );
            for rebuilt in rebuilt {
                let expires_from = match rebuilt.expires_from {
                    ExpirySource::Tag => "its expiry tag",
                    ExpirySource::Ttl => "no expiry tag: the stack's ttl from now",
                };
                let _ = writeln!(
                    text,
                    "  pr-{}: {}, expires {} ({expires_from})",
                    rebuilt.record.pr,
                    rebuilt.record.status.as_str(),
                    rebuilt.record.expires
                );
            }
        }
        Report::PreviewGc {
            actions,
            dry_run,
            failures,
            hibernations,
            kept,
            ..
        } => {
            let verb = if *dry_run { "would remove" } else { "removed" };
            if actions.is_empty() {
                let _ = writeln!(text, "nothing to collect");
            }
            for action in actions {
                if let Some(kept) = kept.iter().find(|kept| kept.pr == action.pr) {
                    let _ = writeln!(
                        text,
                        "kept pr-{}: {:?} when gc read the ledger, {:?} when it looked again",
                        action.pr, action.reason, kept.reason
                    );
                    continue;
                }
                match failures.iter().find(|failure| failure.pr == action.pr) {
                    Some(failure) => {
                        let _ = writeln!(
                            text,
                            "failed to remove pr-{}: {:?}: {}",
                            action.pr, action.reason, failure.error
                        );
                    }
                    None => match hibernations
                        .iter()
                        .find(|hibernation| hibernation.pr == action.pr)
                    {
                        Some(hibernation) => hibernation_section(
                            &mut text,
                            &format!(
                                "hibernated pr-{}: {:?}, its pull request still open",
                                action.pr, action.reason
                            ),
                            &hibernation.summary,
                        ),
                        None => {
                            let _ = writeln!(text, "{verb} pr-{}: {:?}", action.pr, action.reason);
                        }
                    },
                }
            }
        }
        Report::Completions { script } => text.push_str(script),
        Report::Init { dir, written, kept } => {
            for file in written {
                let _ = writeln!(text, "wrote {}", file.display());
            }
            for file in kept {
                let _ = writeln!(text, "kept {} (it exists)", file.display());
            }
            let _ = writeln!(
                text,
                "next: edit stacks/dev.toml, then run `wildside-tofu doctor`, `wildside-tofu plan dev` and `wildside-tofu up dev` in {}",
                dir.display()
            );
        }
        Report::Schema { schema } => {
            let _ = writeln!(
                text,
                "{}",
                serde_json::to_string_pretty(schema).unwrap_or_default()
            );
        }
        Report::PlanSet {
            summary_file,
            stacks,
            drift,
            ..
        } => {
            for stack in stacks {
                for denial in stack.policy.iter().flat_map(|policy| &policy.denials) {
                    let _ = writeln!(
                        text,
                        "DENIED {} by {}: {}",
                        stack.stack, denial.rule, denial.message
                    );
                }
            }
            let _ = writeln!(
                text,
                "{:<24} {:<12} {:>6} {:>6} {:>7} {:>7}  result",
                "stack", "workspace", "add", "change", "replace", "destroy"
            );
            for stack in stacks {
                let totals = stack.totals;
                let result = match stack.status {
                    PlanStatus::NoChanges => "no changes",
                    PlanStatus::Changes if *drift => "DRIFTED",
                    PlanStatus::Changes => "changes",
                    PlanStatus::Failed => "FAILED",
                };
                let result = if stack.denied() { "DENIED" } else { result };
                let _ = writeln!(
                    text,
                    "{:<24} {:<12} {:>6} {:>6} {:>7} {:>7}  {result}",
                    stack.stack,
                    stack.workspace,
                    totals.add,
                    totals.change,
                    totals.replace,
                    totals.destroy
                );
            }
            let _ = writeln!(text, "summary: {}", summary_file.display());
        }
        Report::CiComment(StickyOutcome::Created { url, .. }) => {
            let _ = writeln!(text, "created comment {url}");
        }
        Report::CiComment(StickyOutcome::Updated { url, .. }) => {
            let _ = writeln!(text, "updated comment {url}");
        }
        Report::CiChanged {
            stacks,
            matrix: true,
            ..
        } => {
            let _ = writeln!(text, "{}", serde_json::json!({ "stack": stacks }));
        }
        Report::CiChanged {
            stacks,
            matrix: false,
            ..
        } => {
            for stack in stacks {
                let _ = writeln!(text, "{stack}");
            }
        }
        Report::Kubeconfig {
            written_to: Some(path),
            ..
        } => {
            let _ = writeln!(text, "kubeconfig written to {} (mode 0600)", path.display());
        }
        Report::Kubeconfig {
            text: kubeconfig, ..
        } => {
            // Asked for explicitly, as `kubectl config view --raw` would print it.
            text.push_str(
                kubeconfig
                    .as_ref()
                    .map(ExposeSecret::expose_secret)
                    .unwrap_or_default(),
            );
        }
        Report::KubeconfigRefresh {
            stack,
            workspace,
            cluster_id,
            vault,
        } => {
            let _ = writeln!(
                text,
                "kubeconfig of {stack} (workspace {workspace}) refreshed from cluster {cluster_id}"
            );
            vault_section(
                &mut text,
                &OutputsPush {
                    writes: vec![vault.clone()],
                },
            );
        }
        Report::KubeconfigRefreshAll { refreshed, skipped } => {
            for report in refreshed {
                text.push_str(&render(report));
            }
            for skipped in skipped {
                let _ = writeln!(
                    text,
                    "{}: skipped: {}",
                    skipped.stack,
                    skipped.reason.describe()
                );
            }
            if refreshed.is_empty() {
                let _ = writeln!(text, "no stack has a kubeconfig in Vault to refresh");
            }
        }
        Report::VaultBootstrap(report) => {
            let _ = writeln!(text, "address: {}", report.address);
            if let Some(ca) = &report.ca_cert {
                let _ = writeln!(text, "ca_cert: {}", ca.display());
            }
            for (kind, role) in [
                ("plan", &report.plan),
                ("preview", &report.preview),
                ("apply", &report.apply),
            ] {
                let _ = writeln!(text, "{kind} role {}: role_id {}", role.role, role.role_id);
                match &role.secret_id_file {
                    Some(file) => {
                        let _ = writeln!(text, "  secret_id: written to {}", file.display());
                    }
                    None => {
                        let _ = writeln!(
                            text,
                            "  secret_id: ******** (in {})",
                            report.state_file.display()
                        );
                    }
                }
                if role.writes.is_empty() {
                    let _ = writeln!(text, "  writes: nothing");
                } else {
                    let _ = writeln!(text, "  writes: {}", role.writes.join(", "));
                }
            }
            if report.root_token_revoked {
                let _ = writeln!(
                    text,
                    "root token: revoked (the unseal keys stay in {}; later runs need VAULT_TOKEN)",
                    report.state_file.display()
                );
            }
            if report.changed.is_empty() {
                let _ = writeln!(text, "already bootstrapped: nothing changed");
            } else {
                let _ = writeln!(text, "done: {}", report.changed.join(", "));
            }
        }
        Report::Down {
            run,
            workspace_deleted,
            vault_deleted,
        } => {
            let destroyed = run.summary.count(ResourceAction::Delete);
            let _ = writeln!(
                text,
                "{} (workspace {}): {} destroyed",
                run.stack,
                run.workspace,
                count(destroyed, "resource")
            );
            for address in run.summary.addresses(ResourceAction::Delete) {
                let _ = writeln!(text, "  - {address}");
            }
            if *workspace_deleted {
                let _ = writeln!(text, "workspace {} deleted", run.workspace);
            }
            if *vault_deleted > 0 {
                let _ = writeln!(
                    text,
                    "{} removed from Vault",
                    count(*vault_deleted, "output")
                );
            }
        }
        Report::Output { outputs, .. } => outputs_section(&mut text, outputs),
        Report::OutputRaw { value, .. } => {
            text.push_str(secrecy::ExposeSecret::expose_secret(&value.0));
        }
        Report::Render {
            files,
            check: false,
            ..
        } => {
            for file in files {
                let _ = writeln!(text, "{}", file.display());
            }
        }
        Report::Render { stale, dir, .. } if stale.is_empty() => {
            let _ = writeln!(text, "{} is up to date", dir.display());
        }
        Report::RenderAll {
            stacks,
            stale,
            check,
        } => {
            for file in stale {
                let _ = writeln!(text, "stale: {}", file.display());
            }
            let verb = if *check { "checked" } else { "rendered" };
            let _ = writeln!(text, "{verb} {}", count(stacks.len(), "stack"));
        }
        Report::Render { stale, .. } => {
            for file in stale {
                let _ = writeln!(text, "stale: {}", file.display());
            }
            let _ = writeln!(
                text,
                "hint: run `wildside-tofu render` without --check and commit the result"
            );
        }
        Report::ProvidersLock {
            stack,
            lock_file,
            mirror,
            providers,
            platforms,
            missing,
        } => {
            let from = match mirror {
                Some(mirror) => format!("the mirror `{}`", mirror.display()),
                None => "the providers' registries".to_string(),
            };
            if providers.is_empty() {
                let _ = writeln!(text, "{stack}: needs no provider; nothing to lock");
            } else {
                let _ = writeln!(
                    text,
                    "{stack}: locked for {} from {from}: {}",
                    platforms.join(", "),
                    lock_file.display()
                );
            }
            for provider in providers {
                let _ = writeln!(text, "  {} {}", provider.address, provider.version);
            }
            for platform in missing {
                let _ = writeln!(
                    text,
                    "not locked: {} (the mirror holds no package of {} for it)",
                    platform.platform,
                    platform.providers.join(", ")
                );
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
    if !run.state_encrypted {
        let _ = writeln!(
            text,
            "{head}: state is UNENCRYPTED ([encryption] enabled = false)"
        );
    }
    for kept in &run.secrets_in_state {
        let _ = writeln!(
            text,
            "{head}: {kept} ({})",
            if run.state_encrypted {
                "both encrypted"
            } else {
                "saved plans encrypted, state NOT"
            }
        );
    }
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

fn vault_section(text: &mut String, push: &OutputsPush) {
    for write in &push.writes {
        let state = if write.written {
            format!("written (version {})", write.version)
        } else {
            "unchanged".to_string()
        };
        let _ = writeln!(text, "vault: {} -> {}: {state}", write.output, write.path);
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
