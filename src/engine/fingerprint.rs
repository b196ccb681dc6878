//! The fingerprint that decides whether `tofu init` must run again.
//!
//! It covers everything init depends on: the rendered files, the dependency lock file, the backend
//! configuration, the CLI configuration (mirror and plugin cache), the engine binary and the local modules'
//! files. The environment is not part of it: which secrets a run passes (its credentials, a state encryption
//! that a run creating the key leaves out at first) changes nothing init writes, and runs of one stack that
//! differ only there would otherwise take turns re-initialising the directory other runs are planning in.

use std::path::Path;

use sha2::{Digest, Sha256};

#[derive(Default)]
pub(crate) struct Fingerprint(Sha256);

impl Fingerprint {
    pub(crate) fn add(&mut self, label: &str, bytes: &[u8]) {
        self.0.update((label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// Adds a file's content; a missing file counts as empty, so creating it changes the fingerprint.
    pub(crate) fn add_file(&mut self, path: &Path) {
        let bytes = std::fs::read(path).unwrap_or_default();
        self.add(&path.display().to_string(), &bytes);
    }

    /// Adds every `.tf` and `.tf.json` file directly in `dir`, in name order.
    pub(crate) fn add_module_dir(&mut self, dir: &Path) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext == "tf" || ext == "json")
            })
            .collect();
        files.sort();
        for file in files {
            self.add_file(&file);
        }
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}
