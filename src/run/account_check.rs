//! A platform stack checked against its DigitalOcean account before tofu plans it: sizes, regions, DOKS
//! versions, the project and VPC ranges that DigitalOcean would otherwise refuse only at apply, after the
//! resources before them were created. Every path that plans a platform for an apply runs it.

use crate::digitalocean::Api;
use crate::error::Error;
use crate::stack::{Stack, check_against_account};

/// Checks a run's stack, if it is a platform, against the account of `api` (the token the run has read); a run
/// without a DigitalOcean token skips the check (tofu's provider then says the token is missing).
pub(crate) async fn check(api: Option<&Api>, stack: &Stack) -> Result<(), Error> {
    if stack.platform.is_none() {
        return Ok(());
    }
    let Some(api) = api else {
        tracing::debug!("no DigitalOcean token: the account check is skipped");
        return Ok(());
    };
    check_with(api, stack).await
}

/// Checks `stack`'s platform (if it has one) against the account `api` answers for.
pub(crate) async fn check_with(api: &Api, stack: &Stack) -> Result<(), Error> {
    let Some(platform) = &stack.platform else {
        return Ok(());
    };
    let account = api.account().await?;
    let source = std::fs::read_to_string(&stack.file)
        .map_err(|error| Error::io(format!("reading `{}`", stack.file.display()), error))?;
    check_against_account(
        &stack.file,
        &source,
        platform,
        &account,
        stack.preview.is_none(),
    )?;
    Ok(())
}
