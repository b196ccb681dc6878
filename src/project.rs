//! The project on disk: where stacks, modules, rendered roots and local state live.
//!
//! Everything the tool generates goes under `.wildside/` (ignored by git): rendered root modules in
//! `.wildside/build/<stack>/`, local state in `.wildside/state/<stack>/`. A stack's dependency lock file is
//! the exception: it is committed beside the stack file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::modules::ModuleDirs;
use crate::stack::{ModuleSource, ModuleVariables, Stack, check_module_inputs, load_stack};

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// The project at `explicit`, or the nearest directory from the current one upwards that has `stacks/`.
    pub fn locate(explicit: Option<&Path>) -> Result<Self, Error> {
        let cwd = std::env::current_dir().map_err(|error| {
            Error::Project(format!("cannot read the current directory: {error}"))
        })?;
        if let Some(dir) = explicit {
            let root = cwd.join(dir);
            if !root.join("stacks").is_dir() {
                return Err(Error::Project(format!(
                    "`{}` has no `stacks/` directory",
                    root.display()
                )));
            }
            return Ok(Self { root });
        }
        cwd.ancestors()
            .find(|dir| dir.join("stacks").is_dir())
            .map(|root| Self { root: root.to_path_buf() })
            .ok_or_else(|| Error::Project(format!("no `stacks/` directory in `{}` or above it\n  hint: run from a wildside-tofu project or pass --project DIR", cwd.display())))
    }

    pub fn stacks_dir(&self) -> PathBuf {
        self.root.join("stacks")
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("modules")
    }

    /// Where the modules a rendered root calls live: the project's `modules/`, else the embedded copies in
    /// `.wildside/modules/`.
    pub fn module_dirs(&self) -> ModuleDirs {
        ModuleDirs::new(self.modules_dir(), self.work_dir().join("modules"))
    }

    /// Writes the embedded modules `stack` calls into `.wildside/modules/` and checks that every module it calls can be
    /// read, so a project whose modules tofu could not load is never called ready.
    pub fn prepare_modules(&self, stack: &Stack) -> Result<ModuleDirs, Error> {
        let dirs = self.module_dirs();
        let platform = stack
            .platform
            .iter()
            .flat_map(|platform| platform.calls())
            .map(|call| call.module);
        let own = stack
            .modules
            .iter()
            .filter_map(|module| match &module.source {
                ModuleSource::Project(name) => Some(name.as_str()),
                ModuleSource::External(_) => None,
            });
        let called: Vec<&str> = platform.chain(own).collect();
        crate::modules::materialise(
            dirs.embedded_dir(),
            called
                .iter()
                .copied()
                .filter(|name| dirs.dir(name).starts_with(dirs.embedded_dir())),
        )?;
        dirs.check_readable(called)?;
        Ok(dirs)
    }

    /// The project's Rego policies and their `config.toml`.
    pub fn policies_dir(&self) -> PathBuf {
        self.root.join("policies")
    }

    pub fn work_dir(&self) -> PathBuf {
        self.root.join(".wildside")
    }

    pub fn build_dir(&self, stack: &str) -> PathBuf {
        self.work_dir().join("build").join(stack)
    }

    /// Where a stack with the local backend keeps its state: its `path` (relative to the project), or
    /// `.wildside/state/<stack>/`.
    pub fn state_dir(&self, stack: &Stack) -> PathBuf {
        match &stack.backend {
            crate::stack::Backend::Local { path: Some(path) } => self.root.join(path),
            _ => self.work_dir().join("state").join(&stack.name),
        }
    }

    /// The stack's committed dependency lock file, beside its stack file: `stacks/<name>.terraform.lock.hcl`.
    pub fn lock_file(stack: &Stack) -> PathBuf {
        stack
            .file
            .with_file_name(format!("{}{}", stack.name, crate::engine::LOCK_FILE))
    }

    /// Names of the modules a stack may call: the directories in `modules/` and the embedded modules.
    pub fn module_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.modules_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .chain(
                crate::modules::embedded_names()
                    .into_iter()
                    .map(str::to_string),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Checks the inputs of the stack's `[[modules]]` against the variables their modules declare.
    fn check_module_inputs(&self, stack: &Stack) -> Result<(), Error> {
        let dirs = self.module_dirs();
        let variables: BTreeMap<String, ModuleVariables> = stack
            .modules
            .iter()
            .filter_map(|module| match &module.source {
                ModuleSource::Project(name) => Some(name),
                ModuleSource::External(_) => None,
            })
            .filter_map(|name| dirs.variables(name).map(|found| (name.clone(), found)))
            .collect();
        if variables.is_empty() {
            return Ok(());
        }
        let source = std::fs::read_to_string(&stack.file)
            .map_err(|error| Error::io(format!("reading `{}`", stack.file.display()), error))?;
        check_module_inputs(&stack.file, &source, &variables)?;
        Ok(())
    }

    /// Names of the stack files in `stacks/`.
    pub fn stack_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.stacks_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .filter_map(|path| {
                path.file_stem()
                    .and_then(|stem| stem.to_str())
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names
    }

    /// Loads `stacks/<name>.toml`; `name` may also be a path to a stack file.
    pub fn load_stack(&self, name: &str) -> Result<Stack, Error> {
        let path = if name.ends_with(".toml") {
            self.root.join(name)
        } else {
            self.stacks_dir().join(format!("{name}.toml"))
        };
        if !path.is_file() {
            let known = self.stack_names();
            let hint = match crate::stack::closest(name, known.iter().map(String::as_str)) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!("stacks in this project: {}", known.join(", ")),
            };
            return Err(Error::Project(format!(
                "no stack `{name}` (looked for `{}`)\n  hint: {hint}",
                path.display()
            )));
        }
        let stack = load_stack(&path, &self.module_names())?;
        self.check_module_inputs(&stack)?;
        Ok(stack)
    }
}
