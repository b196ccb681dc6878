//! The policy files of one run: the enabled built-in rules and the project's `policies/**/*.rego` (files in
//! `policies/builtin/` are the readable copies of the built-ins and are not loaded again; `*_test.rego` files
//! are loaded only by `policy test`).

use std::path::{Path, PathBuf};

use super::builtin::BUILTIN_POLICIES;
use super::config::PolicyConfig;
use super::error::PolicyError;

/// One Rego file and where it came from.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// How reports and errors name it: `policies/deny_public.rego`, or `builtin/no_public_admin.rego`.
    pub name: String,
    pub source: String,
    /// The built-in rule's name, for built-ins.
    pub builtin: Option<String>,
    pub test: bool,
}

/// Everything a run evaluates.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub config: PolicyConfig,
    pub files: Vec<PolicyFile>,
}

impl PolicySet {
    /// The built-ins not in `disabled`, and the project's policies under `dir` (if it exists).
    pub fn load(dir: &Path, disabled: &[String], tests: bool) -> Result<Self, PolicyError> {
        let mut set = Self::builtins(disabled);
        if dir.is_dir() {
            set.config = PolicyConfig::load(dir)?;
            let mut paths = Vec::new();
            collect(dir, &dir.join("builtin"), &mut paths)?;
            paths.sort();
            for path in paths {
                let test = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.ends_with("_test.rego"));
                if test && !tests {
                    continue;
                }
                let source =
                    std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
                        file: path.clone(),
                        source,
                    })?;
                let relative = path
                    .strip_prefix(dir.parent().unwrap_or(dir))
                    .unwrap_or(&path);
                set.files.push(PolicyFile {
                    name: relative.display().to_string(),
                    source,
                    builtin: None,
                    test,
                });
            }
        }
        Ok(set)
    }

    /// Only the built-in rules not in `disabled`.
    pub fn builtins(disabled: &[String]) -> Self {
        let files = BUILTIN_POLICIES
            .iter()
            .filter(|(name, _)| !disabled.iter().any(|off| off == name))
            .map(|(name, source)| PolicyFile {
                name: format!("builtin/{name}.rego"),
                source: (*source).to_string(),
                builtin: Some((*name).to_string()),
                test: false,
            })
            .collect();
        Self {
            config: PolicyConfig::default(),
            files,
        }
    }
}

fn collect(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) -> Result<(), PolicyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| PolicyError::Read {
        file: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| PolicyError::Read {
                file: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            if path != skip {
                collect(&path, skip, out)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "rego") {
            out.push(path);
        }
    }
    Ok(())
}
