//! `policies/config.toml`: which packages hold the project's rules (conftest's `--namespace`, default `main`)
//! and which Rego syntax its files use (`v1`, the default of OPA 1.0 and conftest, or `v0`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::PolicyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    pub packages: Vec<String>,
    pub rego_v0: bool,
    /// Whether `policies/config.toml` exists: packages it names must have rules even when the project has no
    /// policy files, while without it a project may have none.
    pub written: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            packages: vec!["main".into()],
            rego_v0: false,
            written: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    packages: Option<Vec<String>>,
    rego_version: Option<String>,
}

impl PolicyConfig {
    /// Reads `<dir>/config.toml`; its absence means the defaults.
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let file = dir.join("config.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => return Err(PolicyError::Read { file, source }),
        };
        Self::parse(&file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Self, PolicyError> {
        let bad = |message: String| PolicyError::Config {
            file: PathBuf::from(file),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(0, |span| {
                text[..span.start.min(text.len())].matches('\n').count() + 1
            });
            bad(format!("line {line}: {}", error.message().trim()))
        })?;
        let packages = raw.packages.unwrap_or_else(|| vec!["main".into()]);
        if packages.is_empty() {
            return Err(bad(
                "`packages` is empty, so no project policy would run; list at least one, such as `packages = [\"main\"]`".into(),
            ));
        }
        let rego_v0 = match raw.rego_version.as_deref() {
            None | Some("v1") => false,
            Some("v0") => true,
            Some(other) => {
                return Err(bad(format!(
                    "`rego_version = \"{other}\"`: write \"v1\" (the default) or \"v0\""
                )));
            }
        };
        Ok(Self {
            packages,
            rego_v0,
            written: true,
        })
    }

    /// Whether a file of `package` is loaded: the package or one below it (`main.lib` under `main`).
    pub fn loads(&self, package: &str) -> bool {
        self.packages.iter().any(|configured| {
            package == configured
                || package
                    .strip_prefix(configured.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}
