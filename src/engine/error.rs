//! Engine errors, each naming what failed and, where the user can act, how.

use std::path::PathBuf;

use super::ui::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no OpenTofu binary found (looked at --tofu, WILDSIDE_TOFU_BIN, the `make tools` manifest and PATH)\n  hint: run `make tools` to install the pinned OpenTofu"
    )]
    NotFound,
    #[error("cannot run `{}`: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not OpenTofu or Terraform (it printed `{output}`)\n  hint: point --tofu at an OpenTofu binary, or run `make tools`", path.display())]
    UnknownEngine { path: PathBuf, output: String },
    #[error("{engine} {found} at `{}` is too old: wildside-tofu needs {minimum} or newer\n  hint: run `make tools` to install the pinned OpenTofu", path.display())]
    TooOld {
        path: PathBuf,
        engine: &'static str,
        found: String,
        minimum: String,
    },
    #[error(
        "tofu speaks JSON UI version {0}, which this wildside-tofu does not understand\n  hint: use the OpenTofu version pinned in scripts/versions.env"
    )]
    UiVersion(String),
    #[error("`tofu {command}` failed{}", format_diagnostics(diagnostics, stderr))]
    Failed {
        command: String,
        diagnostics: Vec<Diagnostic>,
        stderr: String,
    },
    #[error("interrupted: tofu stopped after saving its state and releasing its lock")]
    Interrupted,
    #[error("cannot decode `tofu {command}` output: {source}")]
    Decode {
        command: String,
        source: serde_json::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the {what} path `{}` is not valid UTF-8, which OpenTofu's configuration cannot hold", path.display())]
    NotUnicode { what: String, path: PathBuf },
    #[error(transparent)]
    DigestKey(#[from] super::digest::DigestKeyError),
    #[error(transparent)]
    Mirror(#[from] super::provider_installation::MirrorError),
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Error diagnostics reported by tofu, if this is a failed command.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Failed { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

fn format_diagnostics(diagnostics: &[Diagnostic], stderr: &str) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == "error")
        .map(|diagnostic| {
            let mut text = format!(":\n  {}", diagnostic.summary);
            if !diagnostic.detail.is_empty() {
                text.push_str(&format!(
                    "\n    {}",
                    diagnostic.detail.trim().replace('\n', "\n    ")
                ));
            }
            text
        })
        .collect();
    if !errors.is_empty() {
        return errors.concat();
    }
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(":\n  {}", stderr.replace('\n', "\n  "))
    }
}
