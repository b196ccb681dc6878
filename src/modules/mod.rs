//! The platform modules (`vpc`, `doks`, `vault_appliance`) ship inside the binary, versioned with it, so a
//! project needs no copy of them: before a root is rendered they are written into the project's
//! `.wildside/modules/`, where the rendered root calls them. A project's own `modules/<name>/` takes the
//! place of the embedded module of that name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::stack::ModuleVariables;

/// One file of an embedded module.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    pub module: &'static str,
    pub name: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded_modules.rs"));

/// The version of the platform modules: they are versioned with the tool.
pub const MODULES_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The names of the embedded modules.
pub fn embedded_names() -> BTreeSet<&'static str> {
    FILES.iter().map(|file| file.module).collect()
}

/// Where the modules a rendered root calls live: the project's own `modules/`, else the embedded copies.
#[derive(Debug, Clone)]
pub struct ModuleDirs {
    project: PathBuf,
    embedded: PathBuf,
}

impl ModuleDirs {
    /// `project` is the project's `modules/`, `embedded` where [`materialise`] writes the embedded modules.
    pub fn new(project: PathBuf, embedded: PathBuf) -> Self {
        Self { project, embedded }
    }

    /// The directory of module `name`: the project's own when it has one, else the embedded copy.
    pub fn dir(&self, name: &str) -> PathBuf {
        let own = self.project.join(name);
        if own.exists() || !embedded_names().contains(name) {
            own
        } else {
            self.embedded.join(name)
        }
    }

    /// The variables module `name` declares, read from its `.tf` files with hcl-rs; `None` when it has no
    /// readable files or one that does not parse (tofu then reports the problem itself).
    pub fn variables(&self, name: &str) -> Option<ModuleVariables> {
        let dir = self.dir(name);
        let texts: Vec<String> = if dir.starts_with(&self.embedded) {
            FILES
                .iter()
                .filter(|file| file.module == name && file.name.ends_with(".tf"))
                .map(|file| file.text.to_string())
                .collect()
        } else {
            std::fs::read_dir(&dir)
                .ok()?
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
                .map(|path| std::fs::read_to_string(path).ok())
                .collect::<Option<Vec<String>>>()?
        };
        if texts.is_empty() {
            return None;
        }
        let mut variables = ModuleVariables::default();
        for text in texts {
            let body = hcl::parse(&text).ok()?;
            for block in body
                .blocks()
                .filter(|block| block.identifier() == "variable")
            {
                let Some(label) = block.labels().first() else {
                    continue;
                };
                let variable = label.as_str().to_string();
                if !block
                    .body()
                    .attributes()
                    .any(|attribute| attribute.key() == "default")
                {
                    variables.required.insert(variable.clone());
                }
                variables.declared.insert(variable);
            }
        }
        Some(variables)
    }

    /// The embedded modules' directory.
    pub fn embedded_dir(&self) -> &Path {
        &self.embedded
    }

    /// Checks that each of `names` is a readable directory with OpenTofu files, as tofu will need at init.
    pub fn check_readable<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Error> {
        for name in names {
            let dir = self.dir(name);
            let unreadable = |reason: String| Error::ModuleUnreadable {
                module: name.to_string(),
                dir: dir.clone(),
                reason,
            };
            let entries = std::fs::read_dir(&dir).map_err(|error| unreadable(error.to_string()))?;
            let mut has_tf = false;
            for entry in entries {
                let path = entry.map_err(|error| unreadable(error.to_string()))?.path();
                if path.extension().is_some_and(|ext| ext == "tf") {
                    std::fs::File::open(&path)
                        .map_err(|error| unreadable(format!("`{}`: {error}", path.display())))?;
                    has_tf = true;
                }
            }
            if !has_tf {
                return Err(unreadable("it holds no `.tf` files".to_string()));
            }
        }
        Ok(())
    }
}

/// Writes the embedded modules named in `modules` into `dir` (one directory per module), leaving files that
/// are already current alone and removing files an embedded module no longer has. Only the modules a root
/// calls are written: the others are brought up to date when a root calls them.
pub fn materialise<'a>(
    dir: &Path,
    modules: impl IntoIterator<Item = &'a str>,
) -> Result<(), Error> {
    let embedded = embedded_names();
    let modules: BTreeSet<&str> = modules
        .into_iter()
        .filter(|module| embedded.contains(module))
        .collect();
    for module in modules {
        let module_dir = dir.join(module);
        let files: Vec<&EmbeddedFile> = FILES.iter().filter(|file| file.module == module).collect();
        for file in &files {
            crate::run::context::write_if_changed(&module_dir.join(file.name), file.text)?;
        }
        let entries = std::fs::read_dir(&module_dir)
            .map_err(|error| Error::io(format!("reading `{}`", module_dir.display()), error))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let stale = name
                .to_str()
                .is_none_or(|name| files.iter().all(|file| file.name != name));
            if stale && entry.path().is_file() {
                std::fs::remove_file(entry.path()).map_err(|error| {
                    Error::io(format!("removing `{}`", entry.path().display()), error)
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{FILES, ModuleDirs, embedded_names, materialise};

    #[test]
    fn the_platform_modules_are_embedded_with_their_shared_pins() {
        assert_eq!(
            embedded_names().into_iter().collect::<Vec<_>>(),
            ["doks", "vault_appliance", "vpc"]
        );
        for module in embedded_names() {
            let versions = FILES
                .iter()
                .find(|file| file.module == module && file.name == "versions.tf")
                .unwrap_or_else(|| panic!("{module} has versions.tf"));
            assert!(versions.text.contains("required_providers"), "{module}");
        }
    }

    #[test]
    fn materialised_modules_replace_stale_files_and_a_project_module_overrides() {
        let project = tempfile::tempdir().unwrap();
        let embedded = project.path().join(".wildside/modules");
        std::fs::create_dir_all(embedded.join("vpc")).unwrap();
        std::fs::write(embedded.join("vpc/old.tf"), "# gone").unwrap();
        std::fs::write(embedded.join("vpc/main.tf"), "# edited").unwrap();
        materialise(&embedded, ["vpc", "doks", "example"]).unwrap();
        assert!(!embedded.join("vpc/old.tf").exists());
        assert!(
            !embedded.join("vault_appliance").exists(),
            "a module no root calls is not written"
        );
        let main = FILES
            .iter()
            .find(|file| file.module == "vpc" && file.name == "main.tf")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(embedded.join("vpc/main.tf")).unwrap(),
            main.text
        );

        let dirs = ModuleDirs::new(project.path().join("modules"), embedded.clone());
        assert_eq!(dirs.dir("vpc"), embedded.join("vpc"));
        dirs.check_readable(["vpc", "doks"]).unwrap();
        let error = dirs.check_readable(["example"]).unwrap_err().to_string();
        assert!(error.contains("example"), "{error}");

        let doks = dirs.variables("doks").unwrap();
        assert!(doks.declared.contains("region") && doks.declared.contains("kubernetes_version"));

        std::fs::create_dir_all(project.path().join("modules/vpc")).unwrap();
        assert_eq!(dirs.dir("vpc"), project.path().join("modules/vpc"));
        let error = dirs.check_readable(["vpc"]).unwrap_err().to_string();
        assert!(error.contains("no `.tf` files"), "{error}");
    }
}
