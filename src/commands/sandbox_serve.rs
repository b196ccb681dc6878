//! `sandbox serve`: a local DigitalOcean API until Ctrl-C or SIGTERM.

use crate::commands::Report;
use crate::engine::Interrupts;
use crate::error::Error;
use crate::sandbox::{self, ServeOptions};

pub async fn sandbox_serve(
    options: ServeOptions,
    mut interrupts: Interrupts,
) -> Result<Report, Error> {
    let state_file = options.state_file.clone();
    let delay = options.delay;
    let read_tokens = options.read_tokens.len();
    let bound = sandbox::bind(options).await?;
    let url = bound.url();
    tracing::info!(
        "wildside-tofu sandbox: a local stand-in for DigitalOcean's API, not DigitalOcean, listening on {url} \
         (any bearer token, {read_tokens} of them read-only; async work settles after {}; point tofu at it with \
         --sandbox {url})",
        humantime::format_duration(delay)
    );
    let resources = bound.resources();
    bound
        .serve(async move {
            interrupts.next().await;
        })
        .await?;
    Ok(Report::SandboxStopped {
        url,
        resources: resources(),
        state_file,
    })
}
