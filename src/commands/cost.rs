//! `cost <stack> [-w W]`: the monthly estimate of what the stack's state holds.

use super::report::Report;
use crate::cost::state_cost;
use crate::error::Error;
use crate::run::context::{Context, prepare, size_source};

pub async fn cost(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let mut prepared = prepare(context, stack, workspace).await?;
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
