//! `preview gc`: destroy previews whose pull request closed or whose TTL passed without a pin, and orphans
//! either way (a workspace without a record, a record without a workspace). A failed destroy does not stop the
//! others: every failure is reported, its record is marked `failed`, and the command exits 1.

use std::collections::BTreeSet;

use secrecy::SecretString;

use super::context::Context;
use super::preview::PreviewStack;
use super::report::{GcFailure, Report};
use crate::ci::GitHub;
use crate::error::Error;
use crate::preview::{GcReason, plan_gc};

/// Where to learn which pull requests are open, if anywhere.
pub enum OpenPrs {
    Unknown,
    Listed(Vec<u64>),
    GitHub { repo: String, api_url: String },
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
            let token = std::env::var("GITHUB_TOKEN")
                .map_err(|_| Error::Usage("$GITHUB_TOKEN is not set".into()))?;
            let github = GitHub::new(&api_url, SecretString::from(token))
                .map_err(|error| Error::Usage(error.to_string()))?;
            Some(
                github
                    .open_pull_requests(&repo)
                    .await
                    .map_err(|error| Error::Usage(error.to_string()))?
                    .into_iter()
                    .collect(),
            )
        }
    };
    let workspaces = preview.workspaces(context).await?;
    let (records, _) = preview.ledger().read().await?;
    let actions = plan_gc(&records, &workspaces, open.as_ref(), preview.clock.now());
    let mut failures = Vec::new();
    if !dry_run {
        for action in &actions {
            tracing::info!(
                "gc: removing the preview of pull request {} ({:?})",
                action.pr,
                action.reason
            );
            let workspace_exists = action.reason != GcReason::OrphanRecord;
            match preview.destroy(context, action.pr, workspace_exists).await {
                Ok(()) => {}
                Err(error) if error.is_interrupted() => return Err(error),
                Err(error) => {
                    tracing::error!("gc: pull request {}: {error}", action.pr);
                    failures.push(GcFailure {
                        pr: action.pr,
                        error: error.to_string(),
                    });
                }
            }
        }
    }
    Ok(Report::PreviewGc {
        stack: preview.stack.name,
        dry_run,
        actions,
        failures,
    })
}
