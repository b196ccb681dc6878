//! `output <stack>`: the stack's outputs from state; sensitive values are named, never shown.

use super::report::{OutputEntry, Report};
use crate::error::Error;
use crate::run::context::{Context, prepare};

pub async fn output(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let mut prepared = prepare(context, stack, workspace).await?;
    let outputs = match prepared.tofu.outputs(workspace).await {
        Ok(outputs) => outputs,
        Err(error) => return Err(prepared.explain(error).await),
    };
    Ok(Report::Output {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        outputs: OutputEntry::from_outputs(&outputs),
    })
}
