//! A rendered repository tree in memory, and writing it over a checkout: the directories it owns are made to
//! hold exactly its files, and a file whose bytes are already right is not touched, so a re-render is a no-op.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::GitopsError;

/// Files by their path relative to the repository root (`/`-separated), and the directories the render owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    owned: BTreeSet<String>,
}

/// One YAML file of one or more documents.
#[derive(Debug, Default)]
pub struct Documents {
    text: String,
}

impl Documents {
    pub fn push<T: Serialize>(mut self, document: &T) -> Result<Self, GitopsError> {
        if !self.text.is_empty() {
            self.text.push_str("---\n");
        }
        self.text
            .push_str(&serde_norway::to_string(document).map_err(GitopsError::Yaml)?);
        Ok(self)
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Tree {
    /// A tree that owns `directories`: files there that it does not hold are removed when it is written.
    pub fn owning<I: IntoIterator<Item = String>>(directories: I) -> Self {
        Self {
            files: BTreeMap::new(),
            owned: directories.into_iter().collect(),
        }
    }

    /// Adds `other`'s files and owned directories to this tree.
    pub fn extend(&mut self, other: Tree) {
        self.files.extend(other.files);
        self.owned.extend(other.owned);
    }

    pub fn put(&mut self, path: &str, documents: Documents) {
        self.files
            .insert(path.to_string(), documents.text.into_bytes());
    }

    /// A file of one document.
    pub fn put_one<T: Serialize>(&mut self, path: &str, document: &T) -> Result<(), GitopsError> {
        self.put(path, Documents::default().push(document)?);
        Ok(())
    }

    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    pub fn owned(&self) -> impl Iterator<Item = &str> {
        self.owned.iter().map(String::as_str)
    }

    /// Writes the tree under `root`; returns the paths added, changed or removed, sorted.
    pub fn write_to(&self, root: &Path) -> Result<Vec<String>, GitopsError> {
        let mut changed = Vec::new();
        for directory in &self.owned {
            for existing in files_under(&root.join(directory))? {
                let relative = existing
                    .strip_prefix(root)
                    .map(|path| path.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                if !self.files.contains_key(&relative) {
                    std::fs::remove_file(&existing).map_err(|source| GitopsError::Io {
                        what: "removing",
                        path: existing.clone(),
                        source,
                    })?;
                    changed.push(relative);
                }
            }
            remove_empty_directories(&root.join(directory))?;
        }
        for (relative, bytes) in &self.files {
            let path = root.join(relative);
            if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| GitopsError::Io {
                    what: "creating",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, bytes).map_err(|source| GitopsError::Io {
                what: "writing",
                path: path.clone(),
                source,
            })?;
            changed.push(relative.clone());
        }
        changed.sort();
        Ok(changed)
    }
}

/// Every file under `directory` (none when it does not exist).
fn files_under(directory: &Path) -> Result<Vec<PathBuf>, GitopsError> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = match std::fs::read_dir(&next) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(GitopsError::Io {
                    what: "listing",
                    path: next,
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| GitopsError::Io {
                what: "listing",
                path: next.clone(),
                source,
            })?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Removes the directories under `directory` (and it) that hold no files, deepest first.
fn remove_empty_directories(directory: &Path) -> Result<(), GitopsError> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Ok(());
    };
    let mut empty = true;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_empty_directories(&path)?;
        }
        if path.exists() {
            empty = false;
        }
    }
    if empty {
        std::fs::remove_dir(directory).map_err(|source| GitopsError::Io {
            what: "removing",
            path: directory.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Documents, Tree};

    #[test]
    fn a_second_write_changes_nothing_and_stale_files_in_owned_directories_go() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("platform/old")).unwrap();
        std::fs::write(root.path().join("platform/old/stale.yaml"), "x").unwrap();
        std::fs::write(root.path().join("README.md"), "kept").unwrap();
        let mut tree = Tree::owning(["platform".to_string()]);
        tree.put(
            "platform/a.yaml",
            Documents::default()
                .push(&serde_json::json!({"a": 1}))
                .unwrap()
                .push(&serde_json::json!({"b": 2}))
                .unwrap(),
        );
        let first = tree.write_to(root.path()).unwrap();
        assert_eq!(first, ["platform/a.yaml", "platform/old/stale.yaml"]);
        assert!(!root.path().join("platform/old").exists());
        assert_eq!(
            std::fs::read_to_string(root.path().join("platform/a.yaml")).unwrap(),
            "a: 1\n---\nb: 2\n"
        );
        assert!(tree.write_to(root.path()).unwrap().is_empty());
        assert!(root.path().join("README.md").exists());
    }
}
