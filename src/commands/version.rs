//! `--version`: what this binary is and what it would run, found as a command finds it. Never fails: an
//! engine that cannot be found or used is reported as such.

use crate::engine::{EngineBinary, Toolchain};
use crate::settings::{GlobalSettings, locate_engine};

pub use crate::modules::MODULES_VERSION;

/// What `--version` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub tool: &'static str,
    pub commit: &'static str,
    pub modules: &'static str,
    pub engine: EngineFound,
}

/// The engine a command would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineFound {
    Found(EngineBinary),
    NotFound,
    /// Found but not usable (not OpenTofu or Terraform, too old, cannot run): why.
    Unusable {
        path: std::path::PathBuf,
        why: String,
    },
}

/// Finds the engine as [`crate::settings::resolve_engine`] does, without writing anything.
pub async fn version(global: &GlobalSettings) -> VersionInfo {
    let engine = match locate_engine(global, &Toolchain::discover()) {
        None => EngineFound::NotFound,
        Some(path) => match EngineBinary::detect(&path, None).await {
            Ok(binary) => EngineFound::Found(binary),
            Err(error) => EngineFound::Unusable {
                path,
                why: error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
        },
    };
    VersionInfo {
        tool: env!("CARGO_PKG_VERSION"),
        commit: env!("WILDSIDE_GIT_COMMIT"),
        modules: MODULES_VERSION,
        engine,
    }
}
