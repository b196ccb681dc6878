//! Namespace previews (`[preview] kind = "namespace"`): a pull request's preview is its overlay in the
//! application repository, which Flux applies to the shared cluster. Bringing one up writes the overlay and
//! pushes it; bringing it down removes it and pushes, and the cluster's reconciler prunes the namespace. The
//! overlays in the repository play the part a platform preview's workspaces play: `list` and `gc` compare
//! them with the ledger. The preview's database credentials are generated once and kept in Vault, where
//! External Secrets reads them.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use jiff::Timestamp;
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::preview::PreviewStack;
use crate::error::Error;
use crate::gitops::{
    Branch, EPHEMERAL, GitopsError, PreviewOverlay, Pushed, Tree, commit_and_push, git,
    overlay_directory, render_base, render_index, render_overlay,
};
use crate::preview::workspace_of;
use crate::run::context::Context;
use crate::stack::{AppsSettings, GitopsSettings, PreviewDatabase};
use crate::vault::{Vault, VaultError};

/// The stack's `[gitops]` and `[gitops.apps]` sections.
pub(super) fn apps_of(preview: &PreviewStack) -> Result<(&GitopsSettings, &AppsSettings), Error> {
    let gitops = preview
        .stack
        .gitops
        .as_ref()
        .ok_or_else(|| GitopsError::NotGitops {
            stack: preview.stack.name.clone(),
        })?;
    let apps = gitops.apps.as_ref().ok_or_else(|| GitopsError::NoApps {
        stack: preview.stack.name.clone(),
    })?;
    Ok((gitops, apps))
}

fn apps_branch(context: &Context, apps: &AppsSettings) -> Branch {
    Branch::of(&apps.repository, &apps.branch, &context.project.root)
}

/// The pull requests that have an overlay in the application repository.
pub(super) async fn overlays(
    context: &Context,
    preview: &PreviewStack,
) -> Result<BTreeSet<u64>, Error> {
    let (_, apps) = apps_of(preview)?;
    let branch = apps_branch(context, apps);
    let scratch =
        tempfile::tempdir().map_err(|error| Error::io("creating a scratch directory", error))?;
    let heads = git(
        scratch.path(),
        &[
            "ls-remote",
            "--heads",
            "--",
            &branch.remote,
            &format!("refs/heads/{}", branch.name),
        ],
    )
    .await?;
    if heads.is_empty() {
        return Ok(BTreeSet::new());
    }
    git(
        scratch.path(),
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--single-branch",
            "--branch",
            &branch.name,
            "--",
            &branch.remote,
            "repository",
        ],
    )
    .await?;
    let directory = scratch.path().join("repository").join(EPHEMERAL);
    let entries = match std::fs::read_dir(&directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(error) => {
            return Err(Error::io(
                format!("listing `{}`", directory.display()),
                error,
            ));
        }
    };
    Ok(entries
        .flatten()
        .filter_map(|entry| crate::preview::pr_of(entry.file_name().to_str()?))
        .collect())
}

/// Where the preview's credentials are kept, under the KV mount.
fn credentials_path(vault: &Vault, stack: &str, pr: u64, database: PreviewDatabase) -> String {
    let service = match database {
        PreviewDatabase::Postgres => "postgres",
        PreviewDatabase::Redis => "redis",
    };
    vault.output_path(stack, &workspace_of(pr), &format!("services/{service}"))
}

/// The base of [`credentials_path`], as the overlay's `ExternalSecret`s name it.
fn credentials_base(vault: &Vault, stack: &str, pr: u64) -> String {
    vault.output_path(stack, &workspace_of(pr), "services")
}

/// Writes each database's credentials to Vault unless they are there already (a new commit keeps them).
async fn ensure_credentials(
    vault: &Vault,
    stack: &str,
    pr: u64,
    apps: &AppsSettings,
) -> Result<(), Error> {
    for database in &apps.databases {
        let path = credentials_path(vault, stack, pr, *database);
        let full_path = format!("{}/data/{path}", vault.mount);
        let existing: Result<HashMap<String, Value>, _> =
            vaultrs::kv2::read(&vault.client, &vault.mount, &path).await;
        match existing {
            Ok(_) => continue,
            Err(error) if crate::vault::http_status(&error) == Some(404) => {}
            Err(error) => {
                return Err(VaultError::from_client(&vault.address, &full_path, error).into());
            }
        }
        let password = SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 32));
        let username = crate::gitops::database_name(&apps.project, pr);
        let data = HashMap::from([
            ("username", username.as_str()),
            ("password", password.expose_secret()),
        ]);
        vaultrs::kv2::set(&vault.client, &vault.mount, &path, &data)
            .await
            .map_err(|error| VaultError::from_client(&vault.address, &full_path, error))?;
    }
    Ok(())
}

pub(super) async fn delete_credentials(vault: &Vault, stack: &str, pr: u64) -> Result<(), Error> {
    for database in [PreviewDatabase::Postgres, PreviewDatabase::Redis] {
        let path = credentials_path(vault, stack, pr, database);
        match vaultrs::kv2::delete_metadata(&vault.client, &vault.mount, &path).await {
            Ok(()) => {}
            Err(error) if crate::vault::http_status(&error) == Some(404) => {}
            Err(error) => {
                let full_path = format!("{}/metadata/{path}", vault.mount);
                return Err(VaultError::from_client(&vault.address, &full_path, error).into());
            }
        }
    }
    Ok(())
}

/// The pull request's overlay, once its database credentials are in Vault (generated the first time).
pub(super) async fn preview_overlay<'a>(
    preview: &PreviewStack,
    (gitops, apps): (&'a GitopsSettings, &'a AppsSettings),
    pr: u64,
    sha: &'a str,
    expires: Timestamp,
) -> Result<PreviewOverlay<'a>, Error> {
    ensure_credentials(&preview.vault, &preview.stack.name, pr, apps).await?;
    Ok(PreviewOverlay {
        apps,
        domain: &gitops.domain,
        pr,
        sha,
        expires,
        vault_path: credentials_base(&preview.vault, &preview.stack.name, pr),
        redis_chart: &gitops.redis.version,
    })
}

/// Writes the pull request's overlay (and the base, where the repository has none) and pushes it; returns the
/// push and the preview's address.
pub(super) async fn namespace_up(
    context: &Context,
    preview: &PreviewStack,
    pr: u64,
    sha: &str,
    expires: Timestamp,
) -> Result<(Pushed, String), Error> {
    let (gitops, apps) = apps_of(preview)?;
    let overlay = preview_overlay(preview, (gitops, apps), pr, sha, expires).await?;
    let tree = render_overlay(&overlay)?;
    let base = render_base(apps)?;
    let url = format!("https://{}", overlay.hostname());
    let message = format!(
        "wildside-tofu: preview pr-{pr} of stack {} at {sha}",
        preview.stack.name
    );
    let pushed = commit_and_push(&apps_branch(context, apps), &message, |work| {
        let mut changed = Vec::new();
        if !work.join("base/kustomization.yaml").exists() {
            changed.extend(base.write_to(work)?);
        }
        changed.extend(tree.write_to(work)?);
        changed.extend(render_index(work)?.write_to(work)?);
        Ok(changed)
    })
    .await?;
    Ok((pushed, url))
}

/// Removes the pull request's overlay and pushes, then its credentials from Vault. Idempotent.
pub(super) async fn namespace_down(
    context: &Context,
    preview: &PreviewStack,
    pr: u64,
) -> Result<Pushed, Error> {
    let (_, apps) = apps_of(preview)?;
    let message = format!(
        "wildside-tofu: remove preview pr-{pr} of stack {}",
        preview.stack.name
    );
    let gone = Tree::owning([overlay_directory(pr)]);
    let pushed = commit_and_push(&apps_branch(context, apps), &message, |work: &Path| {
        let mut changed = gone.write_to(work)?;
        changed.extend(render_index(work)?.write_to(work)?);
        Ok(changed)
    })
    .await?;
    delete_credentials(&preview.vault, &preview.stack.name, pr).await?;
    Ok(pushed)
}
