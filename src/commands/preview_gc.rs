//! `preview gc`: destroy previews whose pull request closed or whose TTL passed without a pin, and orphans
//! either way (a workspace without a record, a record without a workspace once it is older than the orphan
//! grace period). What gc read at the start only proposes: each removal is decided again on the record as it
//! is when the removal is written down, so a preview renewed or pinned meanwhile is kept. A missing ledger
//! while preview workspaces exist is refused, never read as empty. A failed destroy does not stop the others:
//! every failure is reported, its record is marked `failed`, and the command exits 1. Previews are collected
//! four at a time; a stack with `idle = "hibernate"` keeps expired previews of open pull requests, hibernated.
//!
//! In builds with the `test-hooks` feature (the test suite's, never a release), `WILDSIDE_GC_PAUSE=<file>`
//! makes gc, once it has planned, create `<file>.planned` and wait until `<file>` exists, so that a test can
//! change previews between gc's read of the ledger and its removals.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use jiff::SignedDuration;

use super::ci_comment::github_token;
use super::preview::{PreviewStack, Removal};
use super::report::{GcFailure, GcHibernation, GcKept, Report};
use crate::ci::GitHub;
use crate::error::Error;
use crate::preview::{GcAction, GcKeep, GcReason, plan_gc, recheck};
use crate::run::context::Context;
use crate::stack::IdleAction;

/// Where to learn which pull requests are open, if anywhere.
pub enum OpenPrs {
    Unknown,
    Listed(Vec<u64>),
    GitHub { repo: String, api_url: String },
}

/// How many previews gc removes or hibernates at once.
const GC_PARALLELISM: usize = 4;

/// What became of one collected preview.
enum Collected {
    Removed,
    Hibernated(Box<GcHibernation>),
    Kept(GcKeep),
}

/// `orphan_grace`: the `--orphan-grace` given, else the stack's.
pub async fn preview_gc(
    context: &Context,
    stack: &str,
    open: OpenPrs,
    dry_run: bool,
    orphan_grace: Option<SignedDuration>,
) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let grace = orphan_grace.unwrap_or(preview.settings.orphan_grace);
    let open: Option<BTreeSet<u64>> = match open {
        OpenPrs::Unknown => None,
        OpenPrs::Listed(numbers) => Some(numbers.into_iter().collect()),
        OpenPrs::GitHub { repo, api_url } => {
            let github = GitHub::new(&api_url, github_token()?)?;
            Some(
                github
                    .open_pull_requests(&repo)
                    .await?
                    .into_iter()
                    .collect(),
            )
        }
    };
    let workspaces = preview.workspaces(context).await?;
    let snapshot = preview.ledger().read().await?;
    preview.check_present(&snapshot, &workspaces)?;
    let now = preview.clock.now();
    let actions = plan_gc(&snapshot.records, &workspaces, open.as_ref(), now, grace);
    pause_after_planning().await;
    let keep_hibernated = preview.settings.idle == IdleAction::Hibernate
        && preview.stack.platform.is_some()
        && open.is_some();
    let mut failures = Vec::new();
    let mut hibernated = Vec::new();
    let mut hibernations = Vec::new();
    let mut kept = Vec::new();
    if !dry_run {
        let collect = |action: &GcAction| {
            let preview = &preview;
            let pr = action.pr;
            let reason = action.reason;
            async move {
                let outcome = if keep_hibernated && reason == GcReason::Expired {
                    hibernate_idle(context, preview, stack, pr, grace).await
                } else {
                    tracing::info!("gc: removing the preview of pull request {pr} ({reason:?})");
                    let workspace_exists = reason != GcReason::OrphanRecord;
                    preview
                        .destroy(
                            context,
                            pr,
                            workspace_exists,
                            Removal::Collected { reason, grace },
                        )
                        .await
                        .map(|keep| keep.map_or(Collected::Removed, Collected::Kept))
                };
                (pr, outcome)
            }
        };
        let mut outcomes = futures_util::stream::iter(&actions)
            .map(collect)
            .buffer_unordered(GC_PARALLELISM);
        while let Some((pr, outcome)) = outcomes.next().await {
            match outcome {
                Ok(Collected::Hibernated(hibernation)) => {
                    hibernated.push(pr);
                    hibernations.push(*hibernation);
                }
                Ok(Collected::Removed) => {}
                Ok(Collected::Kept(reason)) => {
                    tracing::info!("gc: kept the preview of pull request {pr} ({reason:?})");
                    kept.push(GcKept { pr, reason });
                }
                Err(error) if error.is_interrupted() => return Err(error),
                Err(error) => {
                    tracing::error!("gc: pull request {pr}: {error}");
                    failures.push(GcFailure {
                        pr,
                        error: error.to_string(),
                    });
                }
            }
        }
        hibernated.sort_unstable();
        hibernations.sort_by_key(|hibernation| hibernation.pr);
        failures.sort_by_key(|failure| failure.pr);
        kept.sort_by_key(|kept| kept.pr);
    }
    Ok(Report::PreviewGc {
        stack: preview.stack.name,
        dry_run,
        actions,
        failures,
        hibernated,
        hibernations,
        kept,
    })
}

/// Hibernates the idle preview of an open pull request, unless it was renewed or pinned since gc read the
/// ledger (hibernating changes no record, so the record read just before decides).
async fn hibernate_idle(
    context: &Context,
    preview: &PreviewStack,
    stack: &str,
    pr: u64,
    grace: SignedDuration,
) -> Result<Collected, Error> {
    let snapshot = preview.ledger().read().await?;
    let now = preview.clock.now();
    if let Err(keep) = recheck(GcReason::Expired, snapshot.records.get(&pr), now, grace) {
        return Ok(Collected::Kept(keep));
    }
    tracing::info!("gc: hibernating the idle preview of pull request {pr}");
    let hibernation = super::preview::preview_hibernation(context, stack, pr, false).await?;
    Ok(Collected::Hibernated(Box::new(GcHibernation {
        pr,
        summary: hibernation.summary,
    })))
}

#[cfg(feature = "test-hooks")]
async fn pause_after_planning() {
    let Some(release) = std::env::var_os("WILDSIDE_GC_PAUSE").map(std::path::PathBuf::from) else {
        return;
    };
    let mut planned = release.clone().into_os_string();
    planned.push(".planned");
    let _ = std::fs::write(&planned, "");
    while !release.exists() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(not(feature = "test-hooks"))]
async fn pause_after_planning() {}
