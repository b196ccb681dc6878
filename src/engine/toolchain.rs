//! Where `make tools` put things: the manifest `tools.env` in the per-user tools cache.
//!
//! `scripts/tools.sh` writes `KEY=value` lines there; reading them here is what lets `wildside-tofu` find the
//! pinned OpenTofu, the provider mirror and the test servers with no PATH edits.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The tools recorded by `make tools`, if it has run on this machine.
#[derive(Debug, Clone, Default)]
pub struct Toolchain {
    entries: BTreeMap<String, String>,
    pub manifest: Option<PathBuf>,
}

impl Toolchain {
    /// The per-user cache directory `make tools` installs into (`WILDSIDE_TOOLS_DIR` overrides it).
    pub fn cache_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("WILDSIDE_TOOLS_DIR") {
            return Some(PathBuf::from(dir));
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(cache.join("wildside-tofu"))
    }

    /// Reads the manifest; a missing manifest is an empty toolchain, not an error.
    pub fn discover() -> Self {
        let Some(manifest) = Self::cache_dir().map(|dir| dir.join("tools.env")) else {
            return Self::default();
        };
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            return Self::default();
        };
        let entries = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
            .collect();
        Self {
            entries,
            manifest: Some(manifest),
        }
    }

    /// A recorded path, such as `WILDSIDE_TOFU_BIN`, if it still exists.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.entries
            .get(key)
            .map(PathBuf::from)
            .filter(|path| path.exists())
    }
}
