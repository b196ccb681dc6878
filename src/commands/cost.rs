//! `cost <stack> [-w W]`: the monthly estimate of what the stack's state holds.

use super::report::Report;
use crate::cost::state_cost;
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, prepare_with, size_source};
use crate::stack::CredentialRole;

pub async fn cost(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let options = PrepareOptions {
        role: CredentialRole::Plan,
        ..PrepareOptions::default()
    };
    let mut prepared = prepare_with(context, stack, workspace, options).await?;
    let json = match prepared.tofu.show_state_json(workspace).await {
        Ok(json) => json,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let estimate = state_cost(&size_source(context)?, &json).await?;
    Ok(Report::Cost {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        estimate,
    })
}
