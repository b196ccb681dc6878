//! Resolved global settings: what the command line and environment asked for, made concrete once.

use std::path::{Path, PathBuf};

use crate::engine::{
    DigestKey, EngineBinary, EngineError, EngineSettings, LockfileMode, Mirror, Toolchain,
    cli_config, scan,
};

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

/// The token the engine gives the provider when it talks to a sandbox (`--sandbox`): a sandbox accepts any
/// bearer token, and a stack's real DigitalOcean token is never read or sent there.
pub const SANDBOX_TOKEN: &str = "wildside-sandbox-token";

/// Global options, after parsing and before anything is resolved against the machine.
#[derive(Debug, Clone, Default)]
pub struct GlobalSettings {
    pub project: Option<PathBuf>,
    pub output: OutputFormat,
    pub lock_timeout: String,
    pub tofu: Option<PathBuf>,
    pub provider_mirror: Option<PathBuf>,
    pub plugin_cache: Option<PathBuf>,
    /// A local DigitalOcean API to point the provider at, instead of DigitalOcean's.
    pub sandbox: Option<url::Url>,
    /// Whether `tofu init` may change the stacks' dependency lock files (`--lockfile`).
    pub lockfile: LockfileMode,
}

/// Finds and checks the engine and decides the CLI configuration, in this order of precedence:
/// `--tofu`/`WILDSIDE_TOFU`, the `make tools` manifest, `tofu` on PATH, `terraform` on PATH.
pub async fn resolve_engine(
    global: &GlobalSettings,
    work_dir: &Path,
) -> Result<EngineSettings, EngineError> {
    let toolchain = Toolchain::discover();
    let path = locate_engine(global, &toolchain).ok_or(EngineError::NotFound)?;
    std::fs::create_dir_all(work_dir)
        .map_err(|error| EngineError::io(format!("creating `{}`", work_dir.display()), error))?;
    let binary = EngineBinary::detect(&path, Some(&work_dir.join("engine.json"))).await?;
    let plugin_cache = global
        .plugin_cache
        .clone()
        .or_else(|| toolchain.path("WILDSIDE_PLUGIN_CACHE"));
    if let Some(cache) = &plugin_cache {
        std::fs::create_dir_all(cache).map_err(|error| {
            EngineError::io(
                format!("creating plugin cache `{}`", cache.display()),
                error,
            )
        })?;
    }
    let mirrors = provider_mirrors(global, &toolchain)?;
    let cli_config = if mirrors.is_empty() {
        None
    } else {
        Some(write_cli_config(work_dir, &mirrors)?)
    };
    Ok(EngineSettings {
        binary,
        cli_config,
        plugin_cache,
        lock_timeout: global.lock_timeout.clone(),
        sandbox: global.sandbox.clone(),
        provider_mirror: global
            .provider_mirror
            .as_ref()
            .map(|mirror| std::path::absolute(mirror).unwrap_or_else(|_| mirror.clone()))
            .or_else(|| toolchain.path("WILDSIDE_PROVIDER_MIRROR")),
        mirrors,
        lockfile: global.lockfile,
        digest_key: DigestKey::resolve(work_dir)?,
    })
}

/// The filesystem mirrors providers install from, in order of preference: `--provider-mirror`
/// (`WILDSIDE_PROVIDER_MIRROR`), then the one `make tools` keeps. Each serves only what it holds.
pub fn provider_mirrors(
    global: &GlobalSettings,
    toolchain: &Toolchain,
) -> Result<Vec<Mirror>, EngineError> {
    let mut mirrors: Vec<Mirror> = Vec::new();
    let tools_mirror = toolchain.path("WILDSIDE_PROVIDER_MIRROR");
    for path in global.provider_mirror.iter().chain(tools_mirror.iter()) {
        let mirror = scan(path)?;
        let same = |known: &Mirror| {
            std::fs::canonicalize(&known.path).ok() == std::fs::canonicalize(&mirror.path).ok()
        };
        if !mirrors.iter().any(same) {
            mirrors.push(mirror);
        }
    }
    Ok(mirrors)
}

/// Writes the CLI configuration for `mirrors` (see [`cli_config`]) into the work directory.
fn write_cli_config(work_dir: &Path, mirrors: &[Mirror]) -> Result<PathBuf, EngineError> {
    let path = work_dir.join("tofurc");
    let text = cli_config(mirrors);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text)
            .map_err(|error| EngineError::io("writing the CLI configuration", error))?;
    }
    Ok(path)
}

/// Where the engine binary is, by the precedence of [`resolve_engine`]; not checked beyond existing.
pub fn locate_engine(global: &GlobalSettings, toolchain: &Toolchain) -> Option<PathBuf> {
    global
        .tofu
        .clone()
        .or_else(|| toolchain.path("WILDSIDE_TOFU_BIN"))
        .or_else(|| on_path("tofu"))
        .or_else(|| on_path("terraform"))
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
