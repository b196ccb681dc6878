//! `outputs push <stack>`: write the stack's outputs from state to Vault, for when Vault was down after an apply.

use super::report::Report;
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, Secrets, prepare_with};
use crate::run::vault_outputs;

pub async fn outputs_push(
    context: &Context,
    stack: &str,
    workspace: &str,
) -> Result<Report, Error> {
    let mut prepared = prepare_with(
        context,
        stack,
        workspace,
        PrepareOptions {
            secrets: Secrets::Skip,
            ..PrepareOptions::default()
        },
    )
    .await?;
    let Some(push) = vault_outputs::push(context, &mut prepared).await? else {
        return Err(Error::Usage(format!(
            "stack `{stack}` writes no outputs to Vault\n  hint: map outputs to Vault paths in [outputs_to_vault]"
        )));
    };
    Ok(Report::OutputsPush {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        vault: push,
    })
}
