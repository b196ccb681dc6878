//! `gitops render | push`: the platform repository's tree from a stack's `[gitops]` section and its outputs
//! (the Vault appliance's address and CA, the cluster's name), written into a directory or committed to the
//! repository when it changed.

use std::path::PathBuf;

use secrecy::ExposeSecret;

use super::report::Report;
use crate::error::Error;
use crate::gitops::{Branch, PlatformInputs, commit_and_push, git, render_platform};
use crate::run::context::Context;
use crate::stack::{GitopsSettings, Stack, ValueSource};
use crate::vault::{Vault, read_output};

/// The stack and its `[gitops]` section.
fn gitops_stack(context: &Context, name: &str) -> Result<(Stack, GitopsSettings), Error> {
    let stack = context.project.load_stack(name)?;
    let settings = stack
        .gitops
        .clone()
        .ok_or_else(|| crate::gitops::GitopsError::NotGitops {
            stack: stack.name.clone(),
        })?;
    Ok((stack, settings))
}

/// A value of the `[gitops]` section: as written, from a file, or from a stack output in Vault.
async fn resolve(
    context: &Context,
    stack: &Stack,
    workspace: &str,
    source: &ValueSource,
    vault: &mut Option<Vault>,
) -> Result<String, Error> {
    match source {
        ValueSource::Literal(text) => Ok(text.clone()),
        ValueSource::File(path) => {
            let path = context.project.root.join(path);
            std::fs::read_to_string(&path)
                .map_err(|error| Error::io(format!("reading `{}`", path.display()), error))
        }
        ValueSource::Output(output) => {
            let (Some(settings), Some(target)) = (
                &stack.vault,
                stack
                    .outputs_to_vault
                    .iter()
                    .find(|target| target.output == *output),
            ) else {
                return Err(Error::Usage(format!(
                    "[gitops] reads output `{output}` of stack `{}` from Vault, but the stack does not write it there\n  hint: add `{output} = \"<path>\"` to [outputs_to_vault]",
                    stack.name
                )));
            };
            if vault.is_none() {
                *vault = Some(Vault::connect(settings, &context.project.root).await?);
            }
            let connected = vault.as_ref().expect("connected above");
            let path = connected.output_path(&stack.name, workspace, &target.path);
            Ok(read_output(connected, &path)
                .await?
                .expose_secret()
                .to_string())
        }
    }
}

/// What the stack's outputs and platform sections tell the render.
pub(super) async fn platform_inputs(
    context: &Context,
    stack: &Stack,
    settings: &GitopsSettings,
    workspace: &str,
) -> Result<PlatformInputs, Error> {
    let mut vault = None;
    let vault_address = resolve(
        context,
        stack,
        workspace,
        &settings.vault.address,
        &mut vault,
    )
    .await?;
    let vault_ca = match &settings.vault.ca {
        Some(source) => Some(resolve(context, stack, workspace, source, &mut vault).await?),
        None => None,
    };
    Ok(PlatformInputs {
        stack: stack.name.clone(),
        cluster_name: stack.platform.as_ref().map_or_else(
            || stack.name.clone(),
            |platform| platform.cluster.name.clone(),
        ),
        vault_address,
        vault_ca,
    })
}

/// Writes the platform tree into `out` (default `.wildside/gitops/<stack>/`).
pub async fn gitops_render(
    context: &Context,
    name: &str,
    workspace: &str,
    out: Option<PathBuf>,
) -> Result<Report, Error> {
    let (stack, settings) = gitops_stack(context, name)?;
    let inputs = platform_inputs(context, &stack, &settings, workspace).await?;
    let tree = render_platform(&settings, &inputs)?;
    let directory = out.unwrap_or_else(|| {
        context
            .project
            .root
            .join(".wildside/gitops")
            .join(&stack.name)
    });
    let changed = tree.write_to(&directory)?;
    Ok(Report::Gitops {
        action: "render".into(),
        stack: stack.name,
        directory: Some(directory),
        remote: None,
        changed,
        commit: None,
    })
}

/// The project's commit, for commit messages: `unknown` outside a Git work tree.
pub(super) async fn project_commit(context: &Context) -> String {
    git(&context.project.root, &["rev-parse", "--short=12", "HEAD"])
        .await
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Commits the platform tree to the `[gitops]` repository when it changed.
pub async fn gitops_push(context: &Context, name: &str, workspace: &str) -> Result<Report, Error> {
    let (stack, settings) = gitops_stack(context, name)?;
    let inputs = platform_inputs(context, &stack, &settings, workspace).await?;
    let tree = render_platform(&settings, &inputs)?;
    let branch = Branch::of(
        &settings.repository,
        &settings.branch,
        &context.project.root,
    );
    let message = format!(
        "wildside-tofu: platform of stack {} at {}",
        stack.name,
        project_commit(context).await
    );
    let pushed = commit_and_push(&branch, &message, |work| tree.write_to(work)).await?;
    Ok(Report::Gitops {
        action: "push".into(),
        stack: stack.name,
        directory: None,
        remote: Some(format!("{} ({})", branch.remote, branch.name)),
        changed: pushed.changed,
        commit: pushed.commit,
    })
}
