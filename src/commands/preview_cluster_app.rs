//! Cluster previews that carry the application. A platform preview whose stack has `[gitops.apps]` gets, once
//! its cluster is up, a directory of its own in the platform repository (`<cluster_path>-pr-<n>`): the
//! platform's Kustomizations and the pull request's application overlay, the same overlay a namespace preview
//! commits to the application repository. `gitops bootstrap <stack> -w pr-<n>` points the preview cluster's
//! Flux there. Bringing the preview down removes the directory before the cluster goes.

use jiff::Timestamp;

use super::gitops::platform_inputs;
use super::preview::PreviewStack;
use super::preview_namespace::{delete_credentials, preview_overlay};
use crate::error::Error;
use crate::gitops::{Branch, Tree, commit_and_push, preview_cluster_path, render_preview_cluster};
use crate::preview::workspace_of;
use crate::run::context::Context;
use crate::stack::{AppsSettings, GitopsSettings, PreviewKind, Stack};

/// The stack's `[gitops]` and `[gitops.apps]`, when its cluster previews carry the application.
pub(super) fn carried_app(stack: &Stack) -> Option<(&GitopsSettings, &AppsSettings)> {
    if stack.preview.as_ref()?.kind != PreviewKind::Platform {
        return None;
    }
    let gitops = stack.gitops.as_ref()?;
    Some((gitops, gitops.apps.as_ref()?))
}

fn platform_branch(context: &Context, gitops: &GitopsSettings) -> Branch {
    Branch::of(&gitops.repository, &gitops.branch, &context.project.root)
}

/// Commits the preview cluster's directory, with the pull request's overlay, to the platform repository.
pub(super) async fn cluster_app_up(
    context: &Context,
    preview: &PreviewStack,
    pr: u64,
    sha: &str,
    expires: Timestamp,
) -> Result<(), Error> {
    let Some((gitops, apps)) = carried_app(&preview.stack) else {
        return Ok(());
    };
    let stack = &preview.stack.name;
    let overlay = preview_overlay(preview, (gitops, apps), pr, sha, expires).await?;
    let inputs = platform_inputs(context, &preview.stack, gitops, &workspace_of(pr)).await?;
    let tree = render_preview_cluster(gitops, &inputs, &overlay)?;
    let message = format!("wildside-tofu: preview cluster pr-{pr} of stack {stack} at {sha}");
    commit_and_push(&platform_branch(context, gitops), &message, |work| {
        tree.write_to(work)
    })
    .await?;
    Ok(())
}

/// Removes the preview cluster's directory from the platform repository, then its credentials from Vault.
/// Idempotent.
pub(super) async fn cluster_app_down(
    context: &Context,
    preview: &PreviewStack,
    pr: u64,
) -> Result<(), Error> {
    let Some((gitops, _)) = carried_app(&preview.stack) else {
        return Ok(());
    };
    let gone = Tree::owning([preview_cluster_path(gitops, pr)]);
    let message = format!(
        "wildside-tofu: remove preview cluster pr-{pr} of stack {}",
        preview.stack.name
    );
    commit_and_push(&platform_branch(context, gitops), &message, |work| {
        gone.write_to(work)
    })
    .await?;
    delete_credentials(&preview.vault, &preview.stack.name, pr).await
}
