//! The generated root module: a `terraform` block, one `module` block per instance and the stack's outputs.

use std::path::Path;

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};

use super::format::tofu_style;
use super::paths::relative_path;
use super::platform::{platform_blocks, required_providers};
use super::value::{literal, text};
use crate::modules::ModuleDirs;
use crate::stack::{ModuleSource, PreviewVariable, Stack};

/// The `required_version` of a root module with an ephemeral variable (OpenTofu 1.11 introduced them).
const EPHEMERAL_REQUIRED_VERSION: &str = ">= 1.11.0";

/// The `required_version` constraint of every other generated root module.
pub const REQUIRED_VERSION: &str = ">= 1.10.0";

/// The files of a rendered root module, by file name, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRoot {
    pub files: Vec<(String, String)>,
}

/// Renders `stack` as a root module that will live in `root_dir` and call the modules in `modules`.
pub fn render_root(stack: &Stack, root_dir: &Path, modules: &ModuleDirs) -> RenderedRoot {
    let required = if stack
        .secrets
        .iter()
        .any(|secret| ephemeral(stack, &secret.variable))
    {
        EPHEMERAL_REQUIRED_VERSION
    } else {
        REQUIRED_VERSION
    };
    let mut terraform = Block::builder("terraform").add_attribute(("required_version", required));
    if stack.platform.is_some() {
        terraform = terraform.add_block(required_providers());
    }
    let terraform = terraform.add_block(
        Block::builder("backend")
            .add_label(stack.backend.kind())
            .build(),
    );
    let mut body = Body::builder().add_block(terraform.build());
    for secret in &stack.secrets {
        let mut variable = Block::builder("variable")
            .add_label(secret.variable.as_str())
            .add_attribute((
                "description",
                text(&format!(
                    "From Vault: {} (key `{}`), supplied at run time.",
                    secret.path, secret.key
                )),
            ))
            .add_attribute(("type", Expression::from(Variable::unchecked("string"))))
            .add_attribute(("sensitive", true));
        if ephemeral(stack, &secret.variable) {
            variable = variable.add_attribute(("ephemeral", true));
        }
        body = body.add_block(variable.build());
    }
    if stack.preview.is_some() {
        for (name, kind, default) in [
            ("pr_number", "number", Expression::from(0)),
            ("commit_sha", "string", Expression::from("")),
            ("expires_at", "string", Expression::from("")),
        ] {
            let variable = Block::builder("variable")
                .add_label(name)
                .add_attribute((
                    "description",
                    "Set per pull request by `wildside-tofu preview up`.",
                ))
                .add_attribute(("type", Expression::from(Variable::unchecked(kind))))
                .add_attribute(("default", default))
                .build();
            body = body.add_block(variable);
        }
    }
    if let Some(platform) = &stack.platform {
        body = body.add_blocks(platform_blocks(stack, platform, root_dir, modules));
    }
    for module in &stack.modules {
        let source = match &module.source {
            ModuleSource::Project(name) => project_source(root_dir, &modules.dir(name)),
            ModuleSource::External(source) => source.clone(),
        };
        let mut block = Block::builder("module")
            .add_label(module.name.as_str())
            .add_attribute(("source", text(&source)));
        let mut inputs: Vec<(&str, Expression)> = module
            .inputs
            .iter()
            .map(|(name, value)| (name.as_str(), literal(value)))
            .collect();
        for (name, secret) in &module.secret_inputs {
            let reference = Traversal::builder(Variable::unchecked("var"))
                .attr(secret.as_str())
                .build();
            inputs.push((name.as_str(), Expression::from(reference)));
        }
        for (name, variable) in &module.preview_inputs {
            let reference = match variable {
                PreviewVariable::Workspace => Traversal::builder(Variable::unchecked("terraform"))
                    .attr("workspace")
                    .build(),
                other => Traversal::builder(Variable::unchecked("var"))
                    .attr(other.name())
                    .build(),
            };
            inputs.push((name.as_str(), Expression::from(reference)));
        }
        inputs.sort_by(|a, b| a.0.cmp(b.0));
        for attribute in inputs {
            block = block.add_attribute(attribute);
        }
        body = body.add_block(block.build());
    }
    for output in &stack.outputs {
        let reference = Traversal::builder(Variable::unchecked("module"))
            .attr(output.module.as_str())
            .attr(output.output.as_str())
            .build();
        let mut block = Block::builder("output")
            .add_label(output.name.as_str())
            .add_attribute(("value", Expression::from(reference)));
        if output.sensitive {
            block = block.add_attribute(("sensitive", true));
        }
        body = body.add_block(block.build());
    }
    let header = format!(
        "# Generated by wildside-tofu from {}. Do not edit.\n\n",
        display_file(stack)
    );
    let main = header + &tofu_style(&hcl::format::to_string(&body.build()).unwrap_or_default());
    RenderedRoot {
        files: vec![("main.tf".to_string(), main)],
    }
}

/// Local module sources must start with `./` or `../`; relative paths keep rendered files machine-independent.
pub(super) fn project_source(root_dir: &Path, module_dir: &Path) -> String {
    match relative_path(root_dir, module_dir) {
        Some(path) if path.starts_with("..") => path.display().to_string(),
        Some(path) => format!("./{}", path.display()),
        None => module_dir.display().to_string(),
    }
}

fn display_file(stack: &Stack) -> String {
    stack.file.file_name().map_or_else(
        || stack.name.clone(),
        |name| format!("stacks/{}", name.to_string_lossy()),
    )
}

/// Whether a secret variable is declared `ephemeral`, which keeps it out of saved plans and state: all but
/// those that module inputs take (see [`Stack::secrets_kept_in_state`]).
fn ephemeral(stack: &Stack, variable: &str) -> bool {
    !stack
        .secrets_kept_in_state()
        .iter()
        .any(|kept| kept.secret == variable)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::render_root;
    use crate::stack::parse_stack;

    #[test]
    fn only_secrets_no_module_takes_are_ephemeral() {
        let source = r#"
[vault]
address = "https://vault.example:8200"

[secrets]
do_token = { path = "wildside/digitalocean", key = "token" }
api = { path = "wildside/api", key = "token" }

[[modules]]
name = "app"
source = "example"
secret_inputs = { message = "api" }
"#;
        let stack = parse_stack(Path::new("stacks/eph.toml"), source, &["example".into()])
            .unwrap_or_else(|error| panic!("{error}"));
        let root = render_root(
            &stack,
            Path::new("/p/.wildside/build/eph"),
            &crate::modules::ModuleDirs::new("/p/modules".into(), "/p/.wildside/modules".into()),
        );
        let main = &root
            .files
            .iter()
            .find(|(name, _)| name == "main.tf")
            .unwrap()
            .1;
        let body = hcl::parse(main).unwrap();
        let ephemeral = |name: &str| {
            body.blocks()
                .find(|block| {
                    block.identifier() == "variable" && block.labels()[0].as_str() == name
                })
                .unwrap()
                .body()
                .attributes()
                .any(|attribute| attribute.key() == "ephemeral")
        };
        assert!(ephemeral("do_token"), "{main}");
        assert!(!ephemeral("api"), "{main}");
        assert!(main.contains(">= 1.11.0"), "{main}");
    }
}
