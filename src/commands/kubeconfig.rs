//! `kubeconfig <stack>`: the cluster's kubeconfig, read back from Vault (never from local files).

use std::path::Path;

use secrecy::ExposeSecret;

use super::report::Report;
use crate::error::Error;
use crate::private_file::write_private;
use crate::project::Project;
use crate::vault::{Vault, read_output};

/// Reads the output `output` (normally `kubeconfig`) from Vault; writes it to `write` with mode 0600 if given.
pub async fn kubeconfig(
    project: &Project,
    stack: &str,
    workspace: &str,
    output: &str,
    write: Option<&Path>,
) -> Result<Report, Error> {
    let stack = project.load_stack(stack)?;
    let (Some(settings), Some(target)) = (
        &stack.vault,
        stack
            .outputs_to_vault
            .iter()
            .find(|target| target.output == output),
    ) else {
        return Err(Error::Usage(format!(
            "stack `{}` does not write an output `{output}` to Vault\n  hint: add `{output} = \"<path>\"` to [outputs_to_vault]",
            stack.name
        )));
    };
    let vault = Vault::connect(settings, &project.root).await?;
    let text = read_output(
        &vault,
        &vault.output_path(&stack.name, workspace, &target.path),
    )
    .await?;
    let written_to = match write {
        Some(path) => {
            write_private(path, text.expose_secret().as_bytes())
                .map_err(|(context, source)| Error::io(context, source))?;
            Some(path.to_path_buf())
        }
        None => None,
    };
    let text = written_to.is_none().then_some(text);
    Ok(Report::Kubeconfig {
        stack: stack.name,
        workspace: workspace.to_string(),
        written_to,
        text,
    })
}
