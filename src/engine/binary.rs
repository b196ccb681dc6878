//! Finding the engine binary and knowing what it is: OpenTofu or Terraform, and which version.
//!
//! Detection runs `<binary> version` once and caches the answer next to the tools keyed by the binary's path,
//! size and modification time, so a repeated command does not pay for an extra process.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::error::EngineError;

/// Which engine a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    OpenTofu,
    Terraform,
}

impl EngineKind {
    /// The oldest version of this engine wildside-tofu supports.
    pub fn minimum_version(self) -> (u64, u64, u64) {
        match self {
            EngineKind::OpenTofu => (1, 10, 0),
            EngineKind::Terraform => (1, 6, 0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::OpenTofu => "OpenTofu",
            EngineKind::Terraform => "Terraform",
        }
    }
}

/// A detected engine binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineBinary {
    pub path: PathBuf,
    pub kind: EngineKind,
    pub version: String,
    /// Path, size and modification time: changes when the binary is replaced.
    pub identity: String,
}

impl EngineBinary {
    /// Detects what `path` is, using `cache_file` to remember earlier answers, and enforces the minimum version.
    pub async fn detect(path: &Path, cache_file: Option<&Path>) -> Result<Self, EngineError> {
        let identity = identity(path)?;
        if let Some(cached) = cache_file.and_then(|file| read_cached(file, &identity)) {
            return Ok(cached);
        }
        let output = tokio::process::Command::new(path)
            .arg("version")
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .await
            .map_err(|source| EngineError::Spawn {
                program: path.to_path_buf(),
                source,
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (kind, version) =
            parse_version_line(&text).ok_or_else(|| EngineError::UnknownEngine {
                path: path.to_path_buf(),
                output: text
                    .lines()
                    .find(|line| !line.trim().is_empty())
                    .unwrap_or_default()
                    .to_string(),
            })?;
        let binary = Self {
            path: path.to_path_buf(),
            kind,
            version,
            identity,
        };
        binary.check_minimum()?;
        if let Some(file) = cache_file
            && let Ok(json) = serde_json::to_string(&binary)
        {
            let _ = std::fs::write(file, json);
        }
        Ok(binary)
    }

    fn check_minimum(&self) -> Result<(), EngineError> {
        let minimum = self.kind.minimum_version();
        match parse_semver(&self.version) {
            Some(found) if found >= minimum => Ok(()),
            _ => Err(EngineError::TooOld {
                path: self.path.clone(),
                engine: self.kind.name(),
                found: self.version.clone(),
                minimum: format!("{}.{}.{}", minimum.0, minimum.1, minimum.2),
            }),
        }
    }
}

fn identity(path: &Path) -> Result<String, EngineError> {
    let metadata = std::fs::metadata(path).map_err(|source| EngineError::Spawn {
        program: path.to_path_buf(),
        source,
    })?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!(
        "{}:{}:{}",
        path.display(),
        metadata.len(),
        modified
    ))
}

fn read_cached(file: &Path, identity: &str) -> Option<EngineBinary> {
    let cached: EngineBinary = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    (cached.identity == identity).then_some(cached)
}

/// Finds the version line of `version` (`OpenTofu v1.12.6` or `Terraform v1.11.4`); configuration warnings
/// may come before it.
fn parse_version_line(text: &str) -> Option<(EngineKind, String)> {
    text.lines().find_map(|line| {
        let (name, version) = line.trim().split_once(" v")?;
        let kind = match name {
            "OpenTofu" => EngineKind::OpenTofu,
            "Terraform" => EngineKind::Terraform,
            _ => return None,
        };
        Some((kind, version.trim().to_string()))
    })
}

/// `1.12.6`, `1.12.6-dev` or `1.10.0-rc1` as a comparable triple; pre-releases count as their release.
fn parse_semver(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_engines() {
        assert_eq!(
            parse_version_line("OpenTofu v1.12.6\non linux_amd64"),
            Some((EngineKind::OpenTofu, "1.12.6".into()))
        );
        assert_eq!(
            parse_version_line("Terraform v1.11.4\n"),
            Some((EngineKind::Terraform, "1.11.4".into()))
        );
        assert_eq!(
            parse_version_line("Warning: no config\n\nOpenTofu v1.12.6"),
            Some((EngineKind::OpenTofu, "1.12.6".into()))
        );
        assert_eq!(parse_version_line("Pulumi v3"), None);
    }

    #[test]
    fn prereleases_compare_as_their_release() {
        assert_eq!(parse_semver("1.12.6-dev"), Some((1, 12, 6)));
        assert!(parse_semver("1.9.4").unwrap() < EngineKind::OpenTofu.minimum_version());
        assert_eq!(parse_semver("garbage"), None);
    }
}
