//! `preview up | down | list | pin | unpin`: one preview per pull request, in workspace `pr-<n>` of the preview
//! stack, with its record in the Vault ledger. A preview being destroyed (its record `destroying`) is neither
//! brought up again nor pinned, and a missing ledger is never taken for an empty one while previews exist.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::down::down_with;
use super::preview_cluster_app::{cluster_app_down, cluster_app_up};
use super::preview_namespace::{namespace_down, namespace_up, overlays};
use super::report::{Hibernation, Report};
use super::up::{UpReads, up_with};
use crate::ci::preview_comment;
use crate::cost::{DailyCost, state_cost};
use crate::error::Error;
use crate::preview::{
    Clock, GcKeep, GcReason, Ledger, LedgerError, PreviewRecord, PreviewStatus, Snapshot, admit,
    allocate_vpc_slot, check_pin, held_vpc_slot, pr_of, recheck, workspace_of,
};
use crate::run::context::{Context, PrepareOptions, prepare_with, size_source};
use crate::stack::{PreviewKind, PreviewSettings, Stack};
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

    /// Pull requests that have a workspace in the stack's backend (for namespace previews: an overlay in the
    /// application repository).
    pub(super) async fn workspaces(&self, context: &Context) -> Result<BTreeSet<u64>, Error> {
        if self.settings.kind == PreviewKind::Namespace {
            return overlays(context, self).await;
        }
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

    /// The ledger, refused when it is missing while preview workspaces (`workspaces`) exist: their records
    /// are lost, not absent.
    pub(super) fn check_present(
        &self,
        snapshot: &Snapshot,
        workspaces: &BTreeSet<u64>,
    ) -> Result<(), Error> {
        if snapshot.presence.is_missing() && !workspaces.is_empty() {
            let names: Vec<String> = workspaces.iter().map(|pr| workspace_of(*pr)).collect();
            return Err(self.ledger().missing(snapshot.presence, &names).into());
        }
        Ok(())
    }

    /// A namespace preview's address: its hostname under the `[gitops]` domain.
    fn namespace_url(&self, pr: u64) -> Option<String> {
        let gitops = self.stack.gitops.as_ref()?;
        let apps = gitops.apps.as_ref()?;
        (self.settings.kind == PreviewKind::Namespace).then(|| {
            format!(
                "https://{}.{}",
                crate::gitops::namespace_of(&apps.project, pr),
                gitops.domain
            )
        })
    }

    pub(super) fn url(&self, pr: u64) -> Option<String> {
        self.settings
            .url
            .as_ref()
            .map(|template| template.replace("{pr}", &pr.to_string()))
    }

    /// The variables a preview's root module gets.
    fn variables(
        pr: u64,
        sha: &str,
        expires: Option<Timestamp>,
        vpc_slot: Option<u32>,
    ) -> Vec<(String, String)> {
        let mut variables = vec![
            ("pr_number".into(), pr.to_string()),
            ("commit_sha".into(), sha.into()),
            (
                "expires_at".into(),
                expires.map(|time| time.to_string()).unwrap_or_default(),
            ),
        ];
        if let Some(slot) = vpc_slot {
            variables.push((crate::render::VPC_SLOT.into(), slot.to_string()));
        }
        variables
    }

    /// The VPC range slot a record holds, for a stack whose previews each have their own VPC.
    fn vpc_slot(&self, record: &PreviewRecord) -> Option<u32> {
        Some(held_vpc_slot(record, self.stack.preview_ranges()?.slots()))
    }

    /// Destroys the preview of `pr` (if its workspace exists), deletes the workspace and its Vault outputs, and
    /// removes its record. Idempotent. The record is marked `destroying` first, in one check-and-set update
    /// that, for gc, decides again on the record as it is then: a preview renewed, pinned or just created since
    /// gc read the ledger is kept (`Ok(Some(why))`). A workspace without a record gets a `destroying` record
    /// while it goes, so that no `preview up` takes it over meanwhile.
    pub(super) async fn destroy(
        &self,
        context: &Context,
        pr: u64,
        workspace_exists: bool,
        removal: Removal,
    ) -> Result<Option<GcKeep>, Error> {
        let now = self.clock.now();
        let claim = self
            .ledger()
            .update(|records| {
                if let Removal::Collected { reason, grace } = removal
                    && let Err(keep) = recheck(reason, records.get(&pr), now, grace)
                {
                    return Ok::<_, Error>((Err(keep), false));
                }
                if let Some(record) = records.get_mut(&pr) {
                    record.status = PreviewStatus::Destroying;
                    record.updated = now;
                    return Ok((Ok(Some(record.clone())), true));
                }
                if !workspace_exists {
                    return Ok((Ok(None), false));
                }
                records.insert(pr, tombstone(pr, now, removal));
                Ok((Ok(None), true))
            })
            .await?;
        let record = match claim {
            Ok(record) => record,
            Err(keep) => return Ok(Some(keep)),
        };
        if workspace_exists && self.settings.kind == PreviewKind::Namespace {
            if let Err(error) = namespace_down(context, self, pr).await {
                self.mark_failed(pr).await?;
                return Err(error);
            }
        } else if workspace_exists {
            // An orphan workspace has no record: its module inputs still need values to plan the destruction.
            let (sha, expires, vpc_slot) = record.map_or_else(
                || ("unknown".to_string(), None, None),
                |record| {
                    let slot = self.vpc_slot(&record);
                    (record.sha, Some(record.expires), slot)
                },
            );
            let options = PrepareOptions {
                variables: Self::variables(pr, &sha, expires, vpc_slot),
                workspace_known: true,
                ..PrepareOptions::default()
            };
            let removed = async {
                cluster_app_down(context, self, pr).await?;
                down_with(context, &self.stack.name, &workspace_of(pr), true, options).await
            }
            .await;
            if let Err(error) = removed {
                self.mark_failed(pr).await?;
                return Err(error);
            }
        }
        self.ledger()
            .update(|records| Ok::<_, Error>(((), records.remove(&pr).is_some())))
            .await?;
        Ok(None)
    }

    /// The preview still holds resources after a failed destruction: its record must say so, not stay
    /// `destroying`.
    async fn mark_failed(&self, pr: u64) -> Result<(), Error> {
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
        Ok(())
    }
}

/// Who destroys a preview, and on what grounds.
#[derive(Debug, Clone, Copy)]
pub(super) enum Removal {
    /// `preview down`: asked for by name.
    Asked,
    /// `preview gc`, for `reason`, if that still holds when the record is marked.
    Collected {
        reason: GcReason,
        grace: SignedDuration,
    },
}

/// The record a workspace without one gets while it is destroyed.
fn tombstone(pr: u64, now: Timestamp, removal: Removal) -> PreviewRecord {
    let creator = match removal {
        Removal::Asked => "wildside-tofu preview down",
        Removal::Collected { .. } => "wildside-tofu preview gc",
    };
    PreviewRecord {
        pr,
        sha: "unknown".into(),
        creator: creator.into(),
        created: now,
        updated: now,
        expires: now,
        pinned_until: None,
        status: PreviewStatus::Destroying,
        url: None,
        cost_per_day: None,
        vpc_slot: None,
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
        Some(text) => crate::duration::parse(text)
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
    let url = preview.url(args.pr).or(preview.namespace_url(args.pr));
    let max = preview.settings.max_concurrent;
    let slots = preview.stack.preview_ranges().map(|ranges| ranges.slots());
    // The first preview of a stack creates the ledger; a ledger missing while previews exist is not empty.
    let snapshot = preview.ledger().read().await?;
    let admit_change = |records: &mut crate::preview::Records| {
        if let Some(record) = records.get(&args.pr)
            && record.status == PreviewStatus::Destroying
        {
            return Err(Error::from(LedgerError::BeingDestroyed {
                pr: args.pr,
                since: record.updated,
            }));
        }
        admit(records, args.pr, max).map_err(Error::Usage)?;
        let vpc_slot = slots
            .map(|slots| allocate_vpc_slot(records, args.pr, slots))
            .transpose()
            .map_err(Error::Usage)?;
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
            vpc_slot,
        });
        record.sha.clone_from(&args.sha);
        record.updated = now;
        record.expires = expires;
        record.status = PreviewStatus::Creating;
        record.vpc_slot = vpc_slot;
        Ok::<_, Error>((vpc_slot, true))
    };
    let vpc_slot = if snapshot.presence.is_missing() {
        // Read again after listing: a concurrent first `preview up` writes its record before its workspace.
        let workspaces = preview.workspaces(context).await?;
        preview.check_present(&preview.ledger().read().await?, &workspaces)?;
        preview.ledger().update_or_create(admit_change).await?
    } else {
        preview.ledger().update(admit_change).await?
    };
    let result = match preview.settings.kind {
        PreviewKind::Platform => {
            let options = PrepareOptions {
                variables: PreviewStack::variables(args.pr, &args.sha, Some(expires), vpc_slot),
                ..PrepareOptions::default()
            };
            let reads = UpReads {
                outputs: false,
                state: true,
            };
            let workspace = workspace_of(args.pr);
            async {
                let (_, state) =
                    up_with(context, &preview.stack.name, &workspace, options, reads).await?;
                cluster_app_up(context, &preview, args.pr, &args.sha, expires).await?;
                Ok::<_, Error>(state)
            }
            .await
        }
        PreviewKind::Namespace => namespace_up(context, &preview, args.pr, &args.sha, expires)
            .await
            .map(|_| None),
    };
    let (status, cost_per_day) = match &result {
        Ok(state) => (
            PreviewStatus::Ready,
            match preview.settings.kind {
                PreviewKind::Platform => daily_cost(context, state.as_deref()).await,
                PreviewKind::Namespace => None,
            },
        ),
        Err(_) => (PreviewStatus::Failed, None),
    };
    // A `preview down` (or a gc of a closed pull request) that marked the record meanwhile owns it now.
    let record = preview
        .ledger()
        .update(|records| {
            let record = records
                .get_mut(&args.pr)
                .filter(|record| record.status != PreviewStatus::Destroying)
                .map(|record| {
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
    if record.is_none() {
        return Err(LedgerError::Overtaken { pr: args.pr }.into());
    }
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
    preview.destroy(context, pr, exists, Removal::Asked).await?;
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
            crate::duration::parse(text)
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
            // A pin cannot save a preview that is already going.
            if seconds.is_some() && record.status == PreviewStatus::Destroying {
                return Err(LedgerError::BeingDestroyed {
                    pr,
                    since: record.updated,
                }
                .into());
            }
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
    let snapshot = preview.ledger().read().await?;
    preview.check_present(&snapshot, &workspaces)?;
    let records = snapshot.records;
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
    let snapshot = preview.ledger().read().await?;
    if snapshot.presence.is_missing() {
        return Err(preview.ledger().absent(snapshot.presence).into());
    }
    let record = snapshot.records.get(&pr).ok_or_else(|| Error::NoPreview {
        stack: preview.stack.name.clone(),
        pr,
    })?;
    let options = PrepareOptions {
        variables: PreviewStack::variables(
            pr,
            &record.sha,
            Some(record.expires),
            preview.vpc_slot(record),
        ),
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
