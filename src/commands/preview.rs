//! `preview up | down | list | pin | unpin`: one preview per pull request, in workspace `pr-<n>` of the preview
//! stack, with its record in the Vault ledger.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use super::down::down_with;
use super::report::{Hibernation, Report};
use super::up::{UpReads, up_with};
use crate::ci::preview_comment;
use crate::cost::{DailyCost, state_cost};
use crate::error::Error;
use crate::preview::{
    Clock, Ledger, PreviewRecord, PreviewStatus, admit, check_pin, pr_of, workspace_of,
};
use crate::run::context::{Context, PrepareOptions, prepare_with, size_source};
use crate::stack::{PreviewSettings, Stack};
use crate::vault::Vault;

/// A preview stack, its settings and a connected Vault.
pub(super) struct PreviewStack {
    pub(super) stack: Stack,
    pub(super) settings: PreviewSettings,
    pub(super) vault: Vault,
    pub(super) clock: Clock,
}

impl PreviewStack {
    pub(super) async fn open(context: &Context, name: &str) -> Result<Self, Error> {
        let stack = context.project.load_stack(name)?;
        let (Some(settings), Some(vault_settings)) = (stack.preview.clone(), stack.vault.clone())
        else {
            return Err(Error::NotAPreview { stack: stack.name });
        };
        let vault = Vault::connect(&vault_settings, &context.project.root).await?;
        let clock = Clock::from_env()?;
        Ok(Self {
            stack,
            settings,
            vault,
            clock,
        })
    }

    pub(super) fn ledger(&self) -> Ledger<'_> {
        Ledger::new(&self.vault, &self.stack.name)
    }

    /// Pull requests that have a workspace in the stack's backend.
    pub(super) async fn workspaces(&self, context: &Context) -> Result<BTreeSet<u64>, Error> {
        let options = PrepareOptions {
            shared: true,
            ..PrepareOptions::default()
        };
        let mut prepared = prepare_with(context, &self.stack.name, "default", options).await?;
        match prepared.tofu.workspaces().await {
            Ok(names) => Ok(names.iter().filter_map(|name| pr_of(name)).collect()),
            Err(error) => Err(prepared.explain(error).await),
        }
    }

    fn url(&self, pr: u64) -> Option<String> {
        self.settings
            .url
            .as_ref()
            .map(|template| template.replace("{pr}", &pr.to_string()))
    }

    /// The variables a preview's root module gets.
    fn variables(pr: u64, sha: &str, expires: Option<Timestamp>) -> Vec<(String, String)> {
        vec![
            ("pr_number".into(), pr.to_string()),
            ("commit_sha".into(), sha.into()),
            (
                "expires_at".into(),
                expires.map(|time| time.to_string()).unwrap_or_default(),
            ),
        ]
    }

    /// Destroys the preview of `pr` (if its workspace exists), deletes the workspace and its Vault outputs, and
    /// removes its record. Idempotent.
    pub(super) async fn destroy(
        &self,
        context: &Context,
        pr: u64,
        workspace_exists: bool,
    ) -> Result<(), Error> {
        let record = self
            .ledger()
            .update(|records| {
                let record = records.get_mut(&pr).map(|record| {
                    record.status = PreviewStatus::Destroying;
                    record.clone()
                });
                let dirty = record.is_some();
                Ok::<_, Error>((record, dirty))
            })
            .await?;
        if workspace_exists {
            // An orphan workspace has no record: its module inputs still need values to plan the destruction.
            let (sha, expires) = record.map_or_else(
                || ("unknown".to_string(), None),
                |record| (record.sha, Some(record.expires)),
            );
            let options = PrepareOptions {
                variables: Self::variables(pr, &sha, expires),
                workspace_known: true,
                ..PrepareOptions::default()
            };
            if let Err(error) =
                down_with(context, &self.stack.name, &workspace_of(pr), true, options).await
            {
                // The workspace still holds resources: the record must say so, not stay `destroying`.
                self.ledger()
                    .update(|records| {
                        let record = records.get_mut(&pr);
                        let dirty = record.is_some();
                        if let Some(record) = record {
                            record.status = PreviewStatus::Failed;
                        }
                        Ok::<_, Error>(((), dirty))
                    })
                    .await?;
                return Err(error);
            }
        }
        self.ledger()
            .update(|records| Ok::<_, Error>(((), records.remove(&pr).is_some())))
            .await
    }
}

pub struct PreviewUpArgs {
    pub stack: String,
    pub pr: u64,
    pub sha: String,
    pub ttl: Option<String>,
    /// Where to write the pull request's preview comment.
    pub comment: Option<std::path::PathBuf>,
}

/// Creates the preview of a pull request, or updates it in place (a new commit, a new expiry).
pub async fn preview_up(context: &Context, args: PreviewUpArgs) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, &args.stack).await?;
    let ttl = match &args.ttl {
        Some(text) => humantime::parse_duration(text)
            .map_err(|source| Error::InvalidDuration {
                flag: "--ttl",
                text: text.clone(),
                source,
            })?
            .as_secs(),
        None => preview.settings.ttl_seconds,
    };
    let now = preview.clock.now();
    let expires = preview.clock.after(ttl)?;
    let creator = std::env::var("GITHUB_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    let url = preview.url(args.pr);
    let max = preview.settings.max_concurrent;
    preview
        .ledger()
        .update(|records| {
            admit(records, args.pr, max).map_err(Error::Usage)?;
            let record = records.entry(args.pr).or_insert_with(|| PreviewRecord {
                pr: args.pr,
                sha: args.sha.clone(),
                creator: creator.clone(),
                created: now,
                updated: now,
                expires,
                pinned_until: None,
                status: PreviewStatus::Creating,
                url: url.clone(),
                cost_per_day: None,
            });
            record.sha.clone_from(&args.sha);
            record.updated = now;
            record.expires = expires;
            record.status = PreviewStatus::Creating;
            Ok::<_, Error>(((), true))
        })
        .await?;
    let options = PrepareOptions {
        variables: PreviewStack::variables(args.pr, &args.sha, Some(expires)),
        ..PrepareOptions::default()
    };
    let reads = UpReads {
        outputs: false,
        state: true,
    };
    let result = up_with(
        context,
        &preview.stack.name,
        &workspace_of(args.pr),
        options,
        reads,
    )
    .await;
    let (status, cost_per_day) = match &result {
        Ok((_, state)) => (
            PreviewStatus::Ready,
            daily_cost(context, state.as_deref()).await,
        ),
        Err(_) => (PreviewStatus::Failed, None),
    };
    let record = preview
        .ledger()
        .update(|records| {
            let record = records.get_mut(&args.pr).map(|record| {
                record.status = status;
                record.cost_per_day.clone_from(&cost_per_day);
                record.clone()
            });
            let dirty = record.is_some();
            Ok::<_, Error>((record, dirty))
        })
        .await?;
    if let (Some(path), Some(record)) = (&args.comment, &record) {
        let error = result.as_ref().err().map(ToString::to_string);
        std::fs::write(path, preview_comment(record, error.as_deref()))
            .map_err(|error| Error::io(format!("writing `{}`", path.display()), error))?;
    }
    result?;
    Ok(Report::Preview {
        action: "up".into(),
        stack: preview.stack.name,
        pr: args.pr,
        record,
    })
}

/// What a preview's state costs a day, priced as `cost` prices it; `None`, with a warning, when the state or
/// the estimate could not be read (the preview's run succeeded all the same).
async fn daily_cost(context: &Context, state_json: Option<&str>) -> Option<DailyCost> {
    let estimate = match size_source(context) {
        Ok(source) => state_cost(&source, state_json?).await.map_err(Error::from),
        Err(error) => Err(error),
    };
    match estimate {
        Ok(estimate) => Some(DailyCost::of(&estimate)),
        Err(error) => {
            tracing::warn!("the preview's cost a day could not be estimated: {error}");
            None
        }
    }
}

/// Destroys a pull request's preview; nothing to do is not an error.
pub async fn preview_down(context: &Context, stack: &str, pr: u64) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let exists = preview.workspaces(context).await?.contains(&pr);
    preview.destroy(context, pr, exists).await?;
    Ok(Report::Preview {
        action: "down".into(),
        stack: preview.stack.name,
        pr,
        record: None,
    })
}

/// Pins (`hours = Some`) or unpins a preview.
pub async fn preview_pin(
    context: &Context,
    stack: &str,
    pr: u64,
    duration: Option<&str>,
) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let seconds = match duration {
        Some(text) => Some(
            humantime::parse_duration(text)
                .map_err(|source| Error::InvalidDuration {
                    flag: "--for",
                    text: text.to_string(),
                    source,
                })?
                .as_secs(),
        ),
        None => None,
    };
    let (now, settings) = (preview.clock.now(), preview.settings.clone());
    let pinned_until = seconds
        .map(|seconds| preview.clock.after(seconds))
        .transpose()?;
    let record = preview
        .ledger()
        .update(|records| {
            if let Some(seconds) = seconds {
                check_pin(
                    records,
                    pr,
                    seconds,
                    settings.max_pin_seconds,
                    settings.max_pins,
                    now,
                )
                .map_err(Error::Usage)?;
            }
            let record = records.get_mut(&pr).ok_or_else(|| Error::NoPreview {
                stack: stack.to_string(),
                pr,
            })?;
            record.pinned_until = pinned_until;
            Ok::<_, Error>((record.clone(), true))
        })
        .await?;
    let action = if seconds.is_some() { "pin" } else { "unpin" };
    Ok(Report::Preview {
        action: action.into(),
        stack: preview.stack.name,
        pr,
        record: Some(record),
    })
}

/// One line of `preview list`.
#[derive(Debug, Serialize)]
pub struct PreviewRow {
    pub pr: u64,
    pub status: String,
    pub age_hours: f64,
    pub expires: Option<Timestamp>,
    pub pinned_until: Option<Timestamp>,
    pub url: Option<String>,
    pub sha: Option<String>,
    /// Whether the workspace exists (a record without one, or the reverse, is an orphan for `gc`).
    pub workspace: bool,
    /// What the preview cost a day when it last came up, each price with its source; `None` when it has not
    /// been estimated (an orphan workspace, a failed `up`), which the views show as unknown.
    pub cost_per_day: Option<DailyCost>,
}

/// Every preview: records reconciled with the workspaces that exist.
pub async fn preview_list(context: &Context, stack: &str) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let workspaces = preview.workspaces(context).await?;
    let (records, _) = preview.ledger().read().await?;
    let now = preview.clock.now();
    let mut rows: Vec<PreviewRow> = records
        .values()
        .map(|record| {
            let age = now.duration_since(record.created).as_secs_f64().max(0.0) / 3600.0;
            let status = record.status.as_str().to_string();
            PreviewRow {
                pr: record.pr,
                status: if workspaces.contains(&record.pr) {
                    status
                } else {
                    "orphan record".into()
                },
                age_hours: (age * 10.0).round() / 10.0,
                expires: Some(record.expires),
                pinned_until: record.pinned_until,
                url: record.url.clone(),
                sha: Some(record.sha.clone()),
                workspace: workspaces.contains(&record.pr),
                cost_per_day: record.cost_per_day.clone(),
            }
        })
        .collect();
    rows.extend(
        workspaces
            .iter()
            .filter(|pr| !records.contains_key(pr))
            .map(|pr| PreviewRow {
                pr: *pr,
                status: "orphan workspace".into(),
                age_hours: 0.0,
                expires: None,
                pinned_until: None,
                url: None,
                sha: None,
                workspace: true,
                cost_per_day: None,
            }),
    );
    rows.sort_by_key(|row| row.pr);
    Ok(Report::PreviewList {
        stack: preview.stack.name,
        previews: rows,
    })
}

/// `preview hibernate --pr N` (or, with `wake`, `preview wake --pr N`): the pull request's cluster to its
/// floor, or back, with the preview's own variables.
pub async fn preview_hibernate(
    context: &Context,
    stack: &str,
    pr: u64,
    wake: bool,
) -> Result<Report, Error> {
    preview_hibernation(context, stack, pr, wake)
        .await
        .map(Report::Hibernation)
}

/// [`preview_hibernate`], before it becomes a report.
pub(super) async fn preview_hibernation(
    context: &Context,
    stack: &str,
    pr: u64,
    wake: bool,
) -> Result<Hibernation, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let (records, _) = preview.ledger().read().await?;
    let record = records.get(&pr).ok_or_else(|| Error::NoPreview {
        stack: preview.stack.name.clone(),
        pr,
    })?;
    let options = PrepareOptions {
        variables: PreviewStack::variables(pr, &record.sha, Some(record.expires)),
        ..PrepareOptions::default()
    };
    let workspace = workspace_of(pr);
    let reads = UpReads {
        outputs: false,
        state: true,
    };
    let (hibernation, state) = if wake {
        super::hibernate::wake_with(context, &preview.stack.name, &workspace, options, reads)
            .await?
    } else {
        super::hibernate::hibernate_with(context, &preview.stack.name, &workspace, options, reads)
            .await?
    };
    // The preview's cost a day follows its new shape.
    let cost_per_day = daily_cost(context, state.as_deref()).await;
    preview
        .ledger()
        .update(|records| {
            let record = records.get_mut(&pr);
            let dirty = record.is_some();
            if let Some(record) = record {
                record.cost_per_day.clone_from(&cost_per_day);
            }
            Ok::<_, Error>(((), dirty))
        })
        .await?;
    Ok(hibernation)
}
