//! `init [DIR]`: scaffold a project a team can commit: `stacks/` with a commented dev stack and the stack JSON
//! Schema its editor completes from, `.gitignore`, the CI workflows, and `.taplo.toml` wiring the schema to
//! every stack file. Files that exist are kept, never overwritten, so `init` is safe to run again.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::report::Report;
use crate::error::Error;

/// Where the stack schema is written, relative to the project (the dev stack's `#:schema` line names it).
const SCHEMA_FILE: &str = "stacks/stack.schema.json";

/// The commented dev stack.
const DEV_STACK: &str = include_str!("../../templates/stacks/dev.toml");

/// The project's `.gitignore`.
const GITIGNORE: &str = include_str!("../../templates/gitignore");

/// The CI workflows, by file name.
const WORKFLOWS: [(&str, &str); 5] = [
    ("plan.yml", include_str!("../../.github/workflows/plan.yml")),
    (
        "apply.yml",
        include_str!("../../.github/workflows/apply.yml"),
    ),
    (
        "drift.yml",
        include_str!("../../.github/workflows/drift.yml"),
    ),
    (
        "manual.yml",
        include_str!("../../.github/workflows/manual.yml"),
    ),
    (
        "kubeconfig.yml",
        include_str!("../../.github/workflows/kubeconfig.yml"),
    ),
];

/// The action the workflows install a released wildside-tofu with (`uses: ./actions/setup`), by file name.
const SETUP_ACTION: [(&str, &str); 2] = [
    ("action.yml", include_str!("../../actions/setup/action.yml")),
    ("install.sh", include_str!("../../actions/setup/install.sh")),
];

/// `.taplo.toml`: taplo (and editors built on it, such as Even Better TOML) validate and complete the files
/// its rules include against their schema.
#[derive(Serialize)]
struct TaploConfig {
    rule: Vec<TaploRule>,
}

#[derive(Serialize)]
struct TaploRule {
    include: Vec<String>,
    schema: TaploSchema,
}

#[derive(Serialize)]
struct TaploSchema {
    path: String,
}

/// The files `init` writes, relative to the project, with their text.
fn scaffold() -> Result<Vec<(PathBuf, String)>, Error> {
    let schema = serde_json::to_string_pretty(&crate::stack::stack_schema())
        .map_err(|error| Error::Project(format!("writing the stack schema: {error}")))?;
    let taplo = toml::to_string(&TaploConfig {
        rule: vec![TaploRule {
            include: vec!["stacks/*.toml".into()],
            schema: TaploSchema {
                path: format!("./{SCHEMA_FILE}"),
            },
        }],
    })
    .map_err(|error| Error::Project(format!("writing .taplo.toml: {error}")))?;
    let mut files = vec![
        (PathBuf::from("stacks/dev.toml"), DEV_STACK.to_string()),
        (PathBuf::from(SCHEMA_FILE), format!("{schema}\n")),
        (PathBuf::from(".taplo.toml"), taplo),
        (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
    ];
    files.extend(WORKFLOWS.iter().map(|(name, text)| {
        (
            Path::new(".github/workflows").join(name),
            (*text).to_string(),
        )
    }));
    files.extend(
        SETUP_ACTION
            .iter()
            .map(|(name, text)| (Path::new("actions/setup").join(name), (*text).to_string())),
    );
    Ok(files)
}

pub fn init(dir: &Path) -> Result<Report, Error> {
    let dir = std::path::absolute(dir).map_err(|error| Error::io("resolving DIR", error))?;
    let mut written = Vec::new();
    let mut kept = Vec::new();
    for (path, text) in scaffold()? {
        let path = dir.join(path);
        if path.exists() {
            kept.push(path);
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| Error::io(format!("creating `{}`", parent.display()), error))?;
        }
        std::fs::write(&path, text)
            .map_err(|error| Error::io(format!("writing `{}`", path.display()), error))?;
        written.push(path);
    }
    Ok(Report::Init { dir, written, kept })
}

#[cfg(test)]
mod tests {
    use super::{DEV_STACK, scaffold};
    use std::path::Path;

    #[test]
    fn the_dev_stack_is_a_valid_platform_stack_wired_to_the_schema() {
        let names: Vec<String> = crate::modules::embedded_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let stack = crate::stack::parse_stack(Path::new("stacks/dev.toml"), DEV_STACK, &names)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(stack.platform.is_some());
        assert!(DEV_STACK.starts_with("#:schema ./stack.schema.json\n"));
        let files = scaffold().unwrap();
        let taplo = &files
            .iter()
            .find(|(path, _)| path == Path::new(".taplo.toml"))
            .unwrap()
            .1;
        let taplo: toml::Value = toml::from_str(taplo).unwrap();
        assert_eq!(
            taplo["rule"][0]["schema"]["path"].as_str(),
            Some("./stacks/stack.schema.json")
        );
    }
}
