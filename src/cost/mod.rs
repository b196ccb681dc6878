//! Monthly cost estimates: what a stack's state costs (`cost`), and what a plan changes (before → after and
//! the difference, per resource and in total), checked against the stack's `[budget]`.
//!
//! Droplet and node sizes are priced from the account's own `GET /v2/sizes` (the sandbox serves the same),
//! cached with the date of the read; what that endpoint does not price comes from the table in
//! `cost/prices.toml`, each entry with its source and date. Every figure names where its price came from, and
//! an unknown price stays unknown: it is never counted as zero. Previews carry the same estimate as a cost a
//! day ([`DailyCost`]).

mod daily;
mod error;
mod estimate;
mod prices;
mod sizes;

pub use daily::{DAILY_BASIS, DailyCost, DailyLine};
pub use error::CostError;
pub use estimate::{
    BudgetBreach, CostChange, CostDiff, CostLine, Estimate, Total, estimate_plan, estimate_state,
    money, price_resource,
};
pub use prices::{PriceEntry, PriceTable};
pub use sizes::{SizeCatalog, SizePrice, SizeSource};

/// The cost of a plan's `show -json` text; `/v2/sizes` is read only when the plan has sized resources, and a
/// failed read leaves those prices unknown (the reason in each line).
pub async fn plan_cost(
    source: &SizeSource,
    plan_json: &str,
    budget: Option<f64>,
) -> Result<CostDiff, CostError> {
    let table = PriceTable::embedded();
    let catalog = catalog_if_needed(source, plan_json).await;
    estimate_plan(plan_json, as_result(&catalog), &table, budget)
}

/// The estimate of a state's `show -json` text.
pub async fn state_cost(source: &SizeSource, state_json: &str) -> Result<Estimate, CostError> {
    let table = PriceTable::embedded();
    let catalog = catalog_if_needed(source, state_json).await;
    estimate_state(state_json, as_result(&catalog), &table)
}

async fn catalog_if_needed(source: &SizeSource, json: &str) -> Result<SizeCatalog, String> {
    if !estimate::needs_sizes(json) {
        return Err("not read: nothing sized".into());
    }
    source.catalog().await.map_err(|error| error.to_string())
}

fn as_result(catalog: &Result<SizeCatalog, String>) -> Result<&SizeCatalog, &str> {
    catalog.as_ref().map_err(String::as_str)
}
