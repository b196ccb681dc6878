//! Which stacks a multi-stack command runs on: named ones, `--all`, or those a git change affects.

use std::path::{Path, PathBuf};

use crate::ci::{GitRevision, affected_stacks};
use crate::error::Error;
use crate::project::Project;

/// How the stacks were chosen on the command line.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub names: Vec<String>,
    pub all: bool,
    /// `--changed --base REF`.
    pub changed_base: Option<String>,
}

/// The stack names, sorted and without duplicates.
pub(crate) fn select_stacks(
    project: &Project,
    selection: &Selection,
) -> Result<Vec<String>, Error> {
    let mut names = if selection.all {
        project.stack_names()
    } else if let Some(base) = &selection.changed_base {
        let changed = changed_stacks(project, base)?;
        let mut names = changed.loadable;
        names.extend(changed.unloadable.into_iter().map(|(name, _)| name));
        names
    } else if selection.names.is_empty() {
        return Err(Error::Usage(
            "name at least one stack, or pass --all or --changed --base REF".into(),
        ));
    } else {
        selection.names.clone()
    };
    names.sort();
    names.dedup();
    Ok(names)
}

/// The stacks a change from `base` to `HEAD` affects.
pub(crate) struct ChangedStacks {
    /// Affected stacks that load, by name.
    pub loadable: Vec<String>,
    /// Changed stack files that do not load, by file stem, with why: their names are whatever a file name
    /// can hold, so they must never reach a shell or a workflow matrix.
    pub unloadable: Vec<(String, Error)>,
}

/// Stacks affected by the change from `base` to `HEAD`. A stack file that changed and no longer loads is kept
/// apart, so its error reaches the report.
pub(crate) fn changed_stacks(project: &Project, base: &str) -> Result<ChangedStacks, Error> {
    let base = GitRevision::parse(base)?;
    let files = changed_files(&project.root, &base)?;
    let mut stacks = Vec::new();
    let mut unloadable = Vec::new();
    for name in project.stack_names() {
        match project.load_stack(&name) {
            Ok(stack) => stacks.push(stack),
            Err(error) if files.contains(&PathBuf::from("stacks").join(format!("{name}.toml"))) => {
                unloadable.push((name, error))
            }
            Err(_) => {}
        }
    }
    let loadable = affected_stacks(&project.root, &stacks, &files)
        .into_iter()
        .map(|stack| stack.name.clone())
        .collect();
    Ok(ChangedStacks {
        loadable,
        unloadable,
    })
}

/// Files changed between the merge base of `base` and `HEAD`, relative to the project directory.
fn changed_files(root: &Path, base: &GitRevision) -> Result<Vec<PathBuf>, Error> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "diff",
            "--name-only",
            "--relative",
            "--no-renames",
            "--end-of-options",
        ])
        .arg(format!("{base}...HEAD"))
        .output()
        .map_err(|error| Error::io("running git", error))?;
    if !output.status.success() {
        return Err(Error::GitDiff {
            base: base.to_string(),
            root: root.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(PathBuf::from)
        .collect())
}
