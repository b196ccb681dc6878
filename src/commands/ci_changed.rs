//! `ci changed`: the stacks a git change affects, as a list or a GitHub Actions matrix. Only stacks that load
//! go out: a stack file's name is whatever the pull request chose, and the matrix reaches workflow steps.

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::run::stack_selection::changed_stacks;

pub fn ci_changed(project: &Project, base: &str, matrix: bool) -> Result<Report, Error> {
    let changed = changed_stacks(project, base)?;
    for (name, error) in &changed.unloadable {
        tracing::error!(
            "left out changed stack file `stacks/{}.toml`: it does not load: {error}",
            name.escape_default()
        );
    }
    let mut stacks = changed.loadable;
    stacks.sort();
    Ok(Report::CiChanged {
        stacks,
        matrix,
        unloadable: changed.unloadable.len(),
    })
}
