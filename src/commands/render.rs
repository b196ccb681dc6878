//! `render <stack> [--out DIR] [--check]`: write the generated root module for reading or review, or check
//! that the tree on disk is current (for repositories that commit rendered code).

use std::path::Path;

use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::render::{backend_config, render_root};
use crate::run::context::write_if_changed;

pub fn render(
    project: &Project,
    stack: &str,
    out: Option<&Path>,
    check: bool,
) -> Result<Report, Error> {
    let stack = project.load_stack(stack)?;
    let dir = match out {
        Some(dir) => {
            std::path::absolute(dir).map_err(|error| Error::io("resolving --out", error))?
        }
        None => project.build_dir(&stack.name),
    };
    let modules = project.prepare_modules(&stack)?;
    let mut files = render_root(&stack, &dir, &modules).files;
    files.push((
        "backend.tfbackend".to_string(),
        backend_config(&stack.backend, &dir, &project.state_dir(&stack)),
    ));
    let mut written = Vec::new();
    let mut stale = Vec::new();
    for (name, text) in &files {
        let path = dir.join(name);
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path);
            }
        } else {
            write_if_changed(&path, text)?;
            written.push(path);
        }
    }
    Ok(Report::Render {
        stack: stack.name,
        dir,
        files: written,
        stale,
        check,
    })
}

/// `render --all`: every stack into its build directory (or, with `check`, whether each is current).
pub fn render_all(project: &Project, check: bool) -> Result<Report, Error> {
    let mut stacks = Vec::new();
    let mut stale = Vec::new();
    for name in project.stack_names() {
        if let Report::Render {
            stale: mut stack_stale,
            ..
        } = render(project, &name, None, check)?
        {
            stale.append(&mut stack_stale);
        }
        stacks.push(name);
    }
    Ok(Report::RenderAll {
        stacks,
        stale,
        check,
    })
}
