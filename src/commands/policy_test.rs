//! `policy test [--stack S]`: runs the `test_` rules of the project's policies (with the built-ins loaded, so
//! tests can query them), like `opa test`. `data.wildside` describes `--stack` when given.

use super::report::Report;
use crate::error::Error;
use crate::policy::{PolicySet, TestOutcome, run_tests, wildside_data};
use crate::project::Project;

/// `policy check --plan FILE [--stack S]`: the policies of `--stack` (or the built-ins with default settings
/// and the project's policies) on a plan JSON file written by `tofu show -json`.
pub fn policy_check(
    project: &Project,
    plan: &std::path::Path,
    stack: Option<&str>,
) -> Result<Report, Error> {
    let json = std::fs::read_to_string(plan)
        .map_err(|error| Error::io(format!("reading `{}`", plan.display()), error))?;
    let policy = match stack {
        Some(name) => {
            crate::policy::check_plan(&project.policies_dir(), &project.load_stack(name)?, &json)?
        }
        None => {
            let set = PolicySet::load(&project.policies_dir(), &[], false)?;
            crate::policy::evaluate(&set, &json, &default_data())?
        }
    };
    Ok(Report::PolicyCheck { policy })
}

fn default_data() -> serde_json::Value {
    serde_json::json!({ "wildside": { "stack_name": "", "stack": {}, "settings": {
        "production": false, "required_tags": [], "max_node_count": 20, "max_size_vcpus": 16, "disabled": []
    }}})
}

pub fn policy_test(project: &Project, stack: Option<&str>) -> Result<Report, Error> {
    let data = match stack {
        Some(name) => wildside_data(&project.load_stack(name)?),
        None => default_data(),
    };
    let set = PolicySet::load(&project.policies_dir(), &[], true)?;
    let tests = run_tests(&set, &data)?;
    let passed = tests
        .iter()
        .filter(|test| test.outcome == TestOutcome::Pass)
        .count();
    Ok(Report::PolicyTest {
        failed: tests.len() - passed,
        passed,
        tests,
    })
}
