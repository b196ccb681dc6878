//! Files that hold secrets (unseal keys, secret ids, kubeconfigs): mode 0600, written atomically.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` with mode 0600 through a synced temporary file and a rename: the file is either
/// the old one or the complete new one, never half written. Errors carry what was being done.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), (String, std::io::Error)> {
    let context = |what: &str| format!("{what} `{}`", path.display());
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|error| (context("creating the directory of"), error))?;
    // NamedTempFile creates its file with mode 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|error| (context("creating a temporary file for"), error))?;
    file.write_all(bytes)
        .map_err(|error| (context("writing"), error))?;
    file.as_file()
        .sync_all()
        .map_err(|error| (context("syncing"), error))?;
    file.persist(path)
        .map_err(|error| (context("replacing"), error.error))?;
    Ok(())
}
