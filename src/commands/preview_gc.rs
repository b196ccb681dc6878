//! `preview gc`: destroy previews whose pull request closed or whose TTL passed without a pin, and orphans
//! either way (a workspace without a record, a record without a workspace). A failed destroy does not stop the
//! others: every failure is reported, its record is marked `failed`, and the command exits 1. Previews are
//! collected four at a time; a stack with `idle = "hibernate"` keeps expired previews of open pull requests,
//! hibernated.

use std::collections::BTreeSet;

use futures_util::StreamExt;

use super::ci_comment::github_token;
use super::preview::PreviewStack;
use super::report::{GcFailure, GcHibernation, Report};
use crate::ci::GitHub;
use crate::error::Error;
use crate::preview::{GcAction, GcReason, plan_gc};
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
}

pub async fn preview_gc(
    context: &Context,
    stack: &str,
    open: OpenPrs,
    dry_run: bool,
) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
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
    let (records, _) = preview.ledger().read().await?;
    let actions = plan_gc(&records, &workspaces, open.as_ref(), preview.clock.now());
    let keep_hibernated = preview.settings.idle == IdleAction::Hibernate
        && preview.stack.platform.is_some()
        && open.is_some();
    let mut failures = Vec::new();
    let mut hibernated = Vec::new();
    let mut hibernations = Vec::new();
    if !dry_run {
        let collect = |action: &GcAction| {
            let preview = &preview;
            let pr = action.pr;
            let reason = action.reason;
            async move {
                let outcome = if keep_hibernated && reason == GcReason::Expired {
                    tracing::info!("gc: hibernating the idle preview of pull request {pr}");
                    super::preview::preview_hibernation(context, stack, pr, false)
                        .await
                        .map(|hibernation| {
                            Collected::Hibernated(Box::new(GcHibernation {
                                pr,
                                summary: hibernation.summary,
                            }))
                        })
                } else {
                    tracing::info!("gc: removing the preview of pull request {pr} ({reason:?})");
                    let workspace_exists = reason != GcReason::OrphanRecord;
                    preview
                        .destroy(context, pr, workspace_exists)
                        .await
                        .map(|()| Collected::Removed)
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
    }
    Ok(Report::PreviewGc {
        stack: preview.stack.name,
        dry_run,
        actions,
        failures,
        hibernated,
        hibernations,
    })
}
