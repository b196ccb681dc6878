//! `ci changed`: the stacks a git change affects, as a list or a GitHub Actions matrix.

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::run::stack_selection::changed_stacks;

pub fn ci_changed(project: &Project, base: &str, matrix: bool) -> Result<Report, Error> {
    let mut stacks = changed_stacks(project, base)?;
    stacks.sort();
    Ok(Report::CiChanged { stacks, matrix })
}
