//! What can go wrong rendering a repository tree and committing it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GitopsError {
    #[error("{what} `{}` failed: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a manifest could not be serialized: {0}")]
    Yaml(#[source] serde_norway::Error),
    #[error("`git` could not be run: {0}\n  hint: install git (`apt-get install git`)")]
    GitMissing(#[source] std::io::Error),
    #[error("`git {command}` in {} failed ({status}): {stderr}", directory.display())]
    Git {
        command: String,
        directory: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error(
        "the push to {remote} ({branch}) was overtaken {attempts} times in a row\n  hint: others are pushing to the branch; run the command again"
    )]
    Overtaken {
        remote: String,
        branch: String,
        attempts: u32,
    },
    #[error(
        "kubectl could not apply {what} ({status}): {stderr}\n  hint: check that the cluster's API server is reachable with the stack's kubeconfig"
    )]
    Kubectl {
        what: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error(
        "stack `{stack}` has no [gitops] section\n  hint: add [gitops] with `repository`, `domain`, [gitops.cert_manager] and [gitops.vault]"
    )]
    NotGitops { stack: String },
    #[error(
        "stack `{stack}` has no [gitops.apps] section: there is no application repository for previews\n  hint: add [gitops.apps] with `repository`, `project` and `image`"
    )]
    NoApps { stack: String },
}
