//! Which stacks a change affects: a stack file changed, or a file of any project module it uses, followed
//! through local module calls (`source = "../other"`) inside the modules. The module calls the platform sections
//! stand for count like explicit `[[modules]]`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::stack::{ModuleSource, Platform, Stack};

/// The project module directories (relative to the project, like `modules/vpc`) a stack depends on.
pub fn module_dependencies(project_root: &Path, stack: &Stack) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let platform_modules = stack
        .platform
        .iter()
        .flat_map(Platform::calls)
        .map(|call| PathBuf::from("modules").join(call.module));
    let mut pending: Vec<PathBuf> = stack
        .modules
        .iter()
        .filter_map(|module| match &module.source {
            ModuleSource::Project(name) => Some(PathBuf::from("modules").join(name)),
            ModuleSource::External(source)
                if source.starts_with("./") || source.starts_with("../") =>
            {
                Some(normalize(
                    &PathBuf::from(".wildside/build")
                        .join(&stack.name)
                        .join(source),
                ))
            }
            ModuleSource::External(_) => None,
        })
        .chain(platform_modules)
        .collect();
    while let Some(dir) = pending.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        for source in local_module_sources(&project_root.join(&dir)) {
            pending.push(normalize(&dir.join(source)));
        }
    }
    seen
}

/// Stacks whose file, lock file or module files appear in `changed_files` (paths relative to the project).
pub fn affected_stacks<'a>(
    project_root: &Path,
    stacks: &'a [Stack],
    changed_files: &[PathBuf],
) -> Vec<&'a Stack> {
    stacks
        .iter()
        .filter(|stack| {
            let stack_file = PathBuf::from("stacks").join(format!("{}.toml", stack.name));
            let lock_file =
                PathBuf::from("stacks").join(format!("{}{}", stack.name, crate::engine::LOCK_FILE));
            let modules = module_dependencies(project_root, stack);
            let linked: Vec<PathBuf> = modules
                .iter()
                .flat_map(|module| linked_files(project_root, module))
                .collect();
            changed_files.iter().any(|file| {
                *file == stack_file
                    || *file == lock_file
                    || ((modules.iter().any(|module| file.starts_with(module))
                        || linked.contains(file))
                        && file.extension().is_none_or(|ext| ext != "md"))
            })
        })
        .collect()
}

/// Files a module directory holds as symbolic links to files elsewhere in the project (the provider pins every
/// module shares, say), relative to the project: a change to them changes the module.
fn linked_files(project_root: &Path, module: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(project_root.join(module))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let target = std::fs::read_link(entry.path()).ok()?;
            Some(normalize(&module.join(target)))
        })
        .collect()
}

/// `source` values of `module` blocks in a directory's `.tf` files that are local paths.
fn local_module_sources(dir: &Path) -> Vec<String> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "tf") {
            continue;
        }
        let Ok(body) = std::fs::read_to_string(&path)
            .map_err(drop)
            .and_then(|text| hcl::parse(&text).map_err(drop))
        else {
            continue;
        };
        for block in body.blocks().filter(|block| block.identifier() == "module") {
            let source = block
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "source");
            if let Some(hcl::Expression::String(source)) = source.map(|attribute| attribute.expr())
                && (source.starts_with("./") || source.starts_with("../"))
            {
                sources.push(source.clone());
            }
        }
    }
    sources
}

/// Resolves `.` and `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}
