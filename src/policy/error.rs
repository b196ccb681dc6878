//! What can go wrong with policies; each error names the file (and line, when Rego gives one) and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read `{}`: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Config { file: PathBuf, message: String },
    /// A syntax error or an undefined reference; regorus's message carries `file:line:column`.
    #[error("policy {file} does not load:\n{message}")]
    Load { file: String, message: String },
    /// A rule that errors while it is evaluated (a conflict, a built-in function given the wrong type).
    #[error("policy rule `{rule}` failed while it was evaluated:\n{message}")]
    Evaluate { rule: String, message: String },
    #[error(
        "configured package `{package}` has no `deny`, `violation` or `warn` rules{}\n  hint: check the `package` line of the policy files, or the `packages` of policies/config.toml",
        if files.is_empty() { " (no policy file declares it)".to_string() } else { format!(" (declared by {})", files.join(", ")) }
    )]
    NoRules { package: String, files: Vec<String> },
    #[error(
        "policy {file} declares package `{package}`, which no configured package loads ({}), so it would never run\n  hint: change its `package` line, or add `{package}` to `packages` in policies/config.toml",
        configured.join(", ")
    )]
    NotLoaded {
        file: String,
        package: String,
        configured: Vec<String>,
    },
    #[error("the plan JSON cannot be read: {0}")]
    Plan(String),
    #[error(transparent)]
    Clock(#[from] crate::preview::ClockError),
}
