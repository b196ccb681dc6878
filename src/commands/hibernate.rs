//! `hibernate <stack>` and `wake <stack>`: a platform to its cheapest safe shape and back, in one command each.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::report::{Hibernation, HibernationAction, Report, StackRun};
use super::up::{UpReads, up_with};
use crate::cost::PriceTable;
use crate::error::Error;
use crate::hibernation::{self, PoolShape, Record, Records, Summary};
use crate::run::context::{Context, PrepareOptions, size_source};
use crate::stack::{Platform, Stack};

/// Records the stack's floor shapes and applies them; running it again converges on the same shapes.
pub async fn hibernate(
    context: &Context,
    stack_name: &str,
    workspace: &str,
) -> Result<Report, Error> {
    let (hibernation, _) = hibernate_with(
        context,
        stack_name,
        workspace,
        PrepareOptions::default(),
        UpReads::default(),
    )
    .await?;
    Ok(Report::Hibernation(hibernation))
}

/// Forgets the record and applies the stack file's shapes again.
pub async fn wake(context: &Context, stack_name: &str, workspace: &str) -> Result<Report, Error> {
    let (hibernation, _) = wake_with(
        context,
        stack_name,
        workspace,
        PrepareOptions::default(),
        UpReads::default(),
    )
    .await?;
    Ok(Report::Hibernation(hibernation))
}

/// [`hibernate`] with preparation options (a preview's variables, say).
pub(super) async fn hibernate_with(
    context: &Context,
    stack_name: &str,
    workspace: &str,
    options: PrepareOptions,
    reads: UpReads,
) -> Result<(Hibernation, Option<String>), Error> {
    let (stack, platform, records) = platform_stack(context, stack_name, "hibernate")?;
    let platform = &platform;
    let existing = records.read(workspace)?;
    let fresh = existing.is_none();
    let record = match existing {
        Some(record) => record,
        None => {
            let record = Record {
                stack: stack.name.clone(),
                workspace: workspace.to_string(),
                since: Timestamp::now()
                    .round(jiff::Unit::Second)
                    .unwrap_or_else(|_| Timestamp::now()),
                hibernated: hibernation::floor(platform),
                previous: hibernation::shapes(platform),
            };
            records.write(&record)?;
            record
        }
    };
    let (run, state) = match up_with(context, stack_name, workspace, options, reads).await {
        Ok(done) => done,
        // Nothing was applied: the stack is as awake as it was.
        Err(refused) if fresh && refused.is_refusal() => {
            records.delete(workspace)?;
            return Err(refused);
        }
        Err(error) => return Err(error),
    };
    let run = applied(run);
    let hibernation = Hibernation {
        action: HibernationAction::Hibernate,
        run,
        summary: summary(context, platform, &record.previous, &record.hibernated).await?,
        since: Some(record.since),
    };
    Ok((hibernation, state))
}

/// [`wake`] with preparation options.
pub(super) async fn wake_with(
    context: &Context,
    stack_name: &str,
    workspace: &str,
    options: PrepareOptions,
    reads: UpReads,
) -> Result<(Hibernation, Option<String>), Error> {
    let (stack, platform, records) = platform_stack(context, stack_name, "wake")?;
    let platform = &platform;
    let record = records.read(workspace)?;
    let awake = hibernation::shapes(platform);
    if let Some(record) = &record
        && record.previous != awake
    {
        tracing::warn!(
            "the stack file's node pools changed while {} was hibernated: waking to what the file says now",
            stack.name
        );
    }
    records.delete(workspace)?;
    let (run, state) = match up_with(context, stack_name, workspace, options, reads).await {
        Ok(done) => done,
        // Nothing was applied: the stack is still hibernated.
        Err(refused) if refused.is_refusal() => {
            if let Some(record) = &record {
                records.write(record)?;
            }
            return Err(refused);
        }
        Err(error) => return Err(error),
    };
    let run = applied(run);
    let hibernation = Hibernation {
        action: HibernationAction::Wake,
        run,
        summary: summary(
            context,
            platform,
            record.as_ref().map_or(&awake, |record| &record.hibernated),
            &awake,
        )
        .await?,
        since: record.map(|record| record.since),
    };
    Ok((hibernation, state))
}

/// The node pools from `before` to `after`, priced from the account's (or the sandbox's) `/v2/sizes`; a failed
/// read leaves the prices unknown, the reason in each.
async fn summary(
    context: &Context,
    platform: &Platform,
    before: &BTreeMap<String, PoolShape>,
    after: &BTreeMap<String, PoolShape>,
) -> Result<Summary, Error> {
    let catalog = size_source(context)?
        .catalog()
        .await
        .map_err(|error| error.to_string());
    Ok(hibernation::summarise(
        &platform.node_pools,
        before,
        after,
        catalog.as_ref().map_err(String::as_str),
        &PriceTable::embedded(),
    ))
}

/// Refuses to bring a hibernated stack up, unless asked to wake it (`up --wake`), which forgets the record.
pub fn check_awake(
    context: &Context,
    stack_name: &str,
    workspace: &str,
    wake: bool,
) -> Result<(), Error> {
    // A stack is named after its file, so the records are found without reading the stack (the run that follows
    // reads it).
    let Some(name) = std::path::Path::new(stack_name)
        .file_stem()
        .and_then(|stem| stem.to_str())
    else {
        return Ok(());
    };
    let records = Records::new(&context.project.work_dir(), name);
    match records.read(workspace)? {
        Some(_) if wake => Ok(records.delete(workspace)?),
        Some(record) => Err(Error::Hibernated {
            stack: name.to_string(),
            workspace: workspace.to_string(),
            since: record.since,
        }),
        None => Ok(()),
    }
}

/// The stack, which must be a platform, its platform sections, and its hibernation records; `action` names the
/// command in the error.
fn platform_stack(
    context: &Context,
    stack_name: &str,
    action: &'static str,
) -> Result<(Stack, Platform, Records), Error> {
    let stack = context.project.load_stack(stack_name)?;
    let Some(platform) = stack.platform.clone() else {
        return Err(Error::NotAPlatform {
            stack: stack.name,
            action,
        });
    };
    let records = Records::new(&context.project.work_dir(), &stack.name);
    Ok((stack, platform, records))
}

fn applied(report: Report) -> StackRun {
    match report {
        Report::Up { run, .. } => run,
        other => unreachable!("up reports Up, not {other:?}"),
    }
}
