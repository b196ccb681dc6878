//! Committing to a Git repository with the `git` command: a fresh clone of the branch, the change applied,
//! a commit only when the tree differs, and a push. When the branch moved meanwhile (another job pushed
//! first), the clone is reset to the new tip and the change applied again on top, so concurrent writers to
//! different paths never lose each other's commits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use super::error::GitopsError;

/// How many times a push overtaken by others is replayed before giving up.
const ATTEMPTS: u32 = 30;

/// A branch of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// A URL, or an absolute path.
    pub remote: String,
    pub name: String,
}

impl Branch {
    /// Branch `name` of the repository a stack names (a path is made absolute from the project root).
    pub fn of(remote: &crate::stack::GitRemote, name: &str, project_root: &Path) -> Self {
        Self {
            remote: remote_of(remote, project_root),
            name: name.to_string(),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pushed {
    /// The commit made, or `None` when the branch already held the change.
    pub commit: Option<String>,
    /// The paths the change touched.
    pub changed: Vec<String>,
    /// Pushes tried (more than one when others pushed first).
    pub attempts: u32,
}

/// Clones `branch`, applies `change` to the work tree (returning the paths it touched), and commits and pushes
/// with `message` if anything differs.
pub async fn commit_and_push<F>(
    branch: &Branch,
    message: &str,
    change: F,
) -> Result<Pushed, GitopsError>
where
    F: Fn(&Path) -> Result<Vec<String>, GitopsError>,
{
    let scratch = tempfile::tempdir().map_err(|source| GitopsError::Io {
        what: "creating a scratch directory for",
        path: std::env::temp_dir(),
        source,
    })?;
    let work = scratch.path().join("repository");
    let exists = remote_has_branch(branch, scratch.path()).await?;
    if exists {
        git(
            scratch.path(),
            &[
                "clone",
                "--quiet",
                "--single-branch",
                "--branch",
                &branch.name,
                "--",
                &branch.remote,
                "repository",
            ],
        )
        .await?;
    } else {
        std::fs::create_dir_all(&work).map_err(|source| GitopsError::Io {
            what: "creating",
            path: work.clone(),
            source,
        })?;
        git(
            &work,
            &["init", "--quiet", "--initial-branch", &branch.name],
        )
        .await?;
        git(&work, &["remote", "add", "origin", "--", &branch.remote]).await?;
    }
    let tracking = format!("refs/remotes/origin/{}", branch.name);
    for attempt in 1..=ATTEMPTS {
        let changed = change(&work)?;
        git(&work, &["add", "--all"]).await?;
        if !staged_changes(&work).await? {
            return Ok(Pushed {
                commit: None,
                changed: Vec::new(),
                attempts: attempt,
            });
        }
        git(&work, &["commit", "--quiet", "--no-verify", "-m", message]).await?;
        let pushed = git(
            &work,
            &[
                "push",
                "--quiet",
                "origin",
                &format!("HEAD:refs/heads/{}", branch.name),
            ],
        )
        .await;
        match pushed {
            Ok(_) => {
                let commit = git(&work, &["rev-parse", "HEAD"]).await?;
                return Ok(Pushed {
                    commit: Some(commit),
                    changed,
                    attempts: attempt,
                });
            }
            Err(error) => {
                // Overtaken when the branch now holds a commit ours does not descend from; anything else
                // (no access, no such repository) is the push's own failure.
                git(
                    &work,
                    &[
                        "fetch",
                        "--quiet",
                        "origin",
                        &format!("+refs/heads/{}:{tracking}", branch.name),
                    ],
                )
                .await?;
                if is_ancestor(&work, &tracking).await? {
                    return Err(error);
                }
                git(&work, &["reset", "--quiet", "--hard", &tracking]).await?;
                git(&work, &["clean", "--quiet", "-fdx"]).await?;
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
    Err(GitopsError::Overtaken {
        remote: branch.remote.clone(),
        branch: branch.name.clone(),
        attempts: ATTEMPTS,
    })
}

/// A short, randomised wait, so writers overtaken together do not collide again in step.
fn backoff(attempt: u32) -> Duration {
    let ceiling = 50 * u64::from(attempt.min(10));
    Duration::from_millis(rand::random_range(10..=ceiling.max(20)))
}

async fn remote_has_branch(branch: &Branch, directory: &Path) -> Result<bool, GitopsError> {
    let heads = git(
        directory,
        &[
            "ls-remote",
            "--heads",
            "--",
            &branch.remote,
            &format!("refs/heads/{}", branch.name),
        ],
    )
    .await?;
    Ok(!heads.is_empty())
}

async fn staged_changes(work: &Path) -> Result<bool, GitopsError> {
    let status = command(work, &["diff", "--cached", "--quiet"])
        .status()
        .await
        .map_err(GitopsError::GitMissing)?;
    match status.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(GitopsError::Git {
            command: "diff --cached --quiet".into(),
            directory: work.to_path_buf(),
            status,
            stderr: String::new(),
        }),
    }
}

/// Whether `reference` is an ancestor of HEAD (exit status 0 of `merge-base --is-ancestor`, 1 when not).
async fn is_ancestor(work: &Path, reference: &str) -> Result<bool, GitopsError> {
    let status = command(work, &["merge-base", "--is-ancestor", reference, "HEAD"])
        .status()
        .await
        .map_err(GitopsError::GitMissing)?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(GitopsError::Git {
            command: format!("merge-base --is-ancestor {reference} HEAD"),
            directory: work.to_path_buf(),
            status,
            stderr: String::new(),
        }),
    }
}

fn command(directory: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "user.name=wildside-tofu",
            "-c",
            "user.email=wildside-tofu@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(directory)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs git; its trimmed standard output, or an error with its standard error.
pub async fn git(directory: &Path, args: &[&str]) -> Result<String, GitopsError> {
    let output = command(directory, args)
        .output()
        .await
        .map_err(GitopsError::GitMissing)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(GitopsError::Git {
            command: args.join(" "),
            directory: directory.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// The remote a stack names: a URL as it is, a path made absolute from the project root.
fn remote_of(remote: &crate::stack::GitRemote, project_root: &Path) -> String {
    match remote {
        crate::stack::GitRemote::Url(url) => url.clone(),
        crate::stack::GitRemote::Path(path) => {
            let absolute: PathBuf = if path.is_absolute() {
                path.clone()
            } else {
                project_root.join(path)
            };
            absolute.display().to_string()
        }
    }
}
