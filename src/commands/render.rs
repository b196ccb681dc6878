//! `render <stack> [--out DIR]`: write the generated root module for reading or review.

use std::path::{Path, PathBuf};

use super::context::write_if_changed;
use super::report::Report;
use crate::error::Error;
use crate::project::Project;
use crate::render::{backend_config, render_root};

pub fn render(project: &Project, stack: &str, out: Option<&Path>) -> Result<Report, Error> {
    let stack = project.load_stack(stack)?;
    let dir = match out {
        Some(dir) => {
            std::path::absolute(dir).map_err(|error| Error::io("resolving --out", error))?
        }
        None => project.build_dir(&stack.name),
    };
    let root = render_root(&stack, &dir, &project.modules_dir());
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, text) in &root.files {
        write_if_changed(&dir.join(name), text)?;
        files.push(dir.join(name));
    }
    let backend = dir.join("backend.tfbackend");
    write_if_changed(
        &backend,
        &backend_config(&stack.backend, &project.state_dir(&stack.name)),
    )?;
    files.push(backend);
    Ok(Report::Render {
        stack: stack.name,
        dir,
        files,
    })
}
