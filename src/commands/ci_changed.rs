//! `ci changed`: the stacks a git change affects, as a list or a GitHub Actions matrix. Only stacks that load
//! go out: a stack file's name is whatever the pull request chose, and the matrix reaches workflow steps. For
//! a pull request, the stacks that only trusted refs plan stay out too: its plan role cannot read them.

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::run::stack_selection::changed_stacks;

/// `pull_request` leaves out the stacks only trusted refs plan.
pub fn ci_changed(
    project: &Project,
    base: &str,
    matrix: bool,
    pull_request: bool,
) -> Result<Report, Error> {
    let changed = changed_stacks(project, base)?;
    for (name, error) in &changed.unloadable {
        tracing::error!(
            "left out changed stack file `stacks/{}.toml`: it does not load: {error}",
            name.escape_default()
        );
    }
    let mut stacks = changed.loadable;
    if pull_request {
        stacks.retain(|name| {
            let plannable = project
                .load_stack(name)
                .is_ok_and(|stack| stack.pull_request_may_plan());
            if !plannable {
                tracing::warn!(
                    "left out `{name}`: pull requests may not plan it, so it is planned on trusted refs only"
                );
            }
            plannable
        });
    }
    stacks.sort();
    Ok(Report::CiChanged {
        stacks,
        matrix,
        unloadable: changed.unloadable.len(),
    })
}
