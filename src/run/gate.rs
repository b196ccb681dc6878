//! The one gate between a plan and its apply. Every command that applies a plan (`up`, `apply` in each of its
//! forms, `down`, `hibernate`, `wake`, `preview up`, `preview down` and `preview gc`) passes the `show -json`
//! of the very plan it is about to apply through [`check`]: the project's policies with the stack's
//! exceptions, then the stack's `[budget]`. A refused plan is never applied, and the error exits 3, as `plan`
//! does. A plan without changes applies nothing, so callers skip the gate for it.

use crate::cost::{money, plan_cost};
use crate::error::Error;
use crate::policy::check_plan;
use crate::run::context::{Context, size_source};
use crate::stack::Stack;

/// Refuses a plan that breaks policy or exceeds the stack's budget; `plan_json` is the plan's `show -json`.
/// Policy warnings are logged, and the plan passes.
pub(crate) async fn check(context: &Context, stack: &Stack, plan_json: &str) -> Result<(), Error> {
    let policy = check_plan(&context.project.policies_dir(), stack, plan_json)?;
    if policy.denied() {
        return Err(Error::PolicyDenied {
            stack: stack.name.clone(),
            denials: policy
                .denials
                .iter()
                .map(|denial| format!("  - {}: {}", denial.rule, denial.message))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    for warning in &policy.warnings {
        tracing::warn!(
            "{}: policy {}: {}",
            stack.name,
            warning.rule,
            warning.message
        );
    }
    let budget = stack.budget.map(|budget| budget.monthly_usd);
    let cost = plan_cost(&size_source(context)?, plan_json, budget).await?;
    if let Some(breach) = cost.over_budget {
        return Err(Error::OverBudget {
            stack: stack.name.clone(),
            estimate_usd: breach.estimate_usd,
            monthly_usd: breach.monthly_usd,
            drivers: breach
                .drivers
                .iter()
                .map(|line| format!("  - {} {}", line.address, money(line.monthly_usd)))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    Ok(())
}
