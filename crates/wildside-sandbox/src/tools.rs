//! Where the sandbox finds the programs its droplets and clusters run (OpenBao; etcd and kube-apiserver): the
//! manifests `make tools` writes, so the sandbox runs the same pinned binaries as the tool and its tests.

use std::path::PathBuf;

/// The per-user cache directory `make tools` installs into (`WILDSIDE_TOOLS_DIR` overrides it).
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WILDSIDE_TOOLS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("wildside-tofu"))
}

/// The path `key` names in the manifest `tools.env`, if the manifest names one that exists.
pub(crate) fn installed(key: &str) -> Option<PathBuf> {
    installed_in("tools.env", key)
}

/// The path `key` names in the manifest `kube-tools.env` (the Kubernetes tools), if it names one that exists.
pub(crate) fn kube_installed(key: &str) -> Option<PathBuf> {
    installed_in("kube-tools.env", key)
}

fn installed_in(manifest: &str, key: &str) -> Option<PathBuf> {
    let manifest = std::fs::read_to_string(cache_dir()?.join(manifest)).ok()?;
    manifest
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(name, _)| name.trim() == key)
        .map(|(_, value)| PathBuf::from(value.trim()))
        .filter(|path| path.exists())
}
