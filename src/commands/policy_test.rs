//! `policy test [--stack S]`: runs the `test_` rules of the project's policies (with the built-ins loaded, so
//! tests can query them), like `opa test`. `data.wildside` describes `--stack` when given.

use super::report::Report;
use crate::error::Error;
use crate::policy::{PolicySet, TestOutcome, run_tests, wildside_data};
use crate::project::Project;

pub fn policy_test(project: &Project, stack: Option<&str>) -> Result<Report, Error> {
    let data = match stack {
        Some(name) => wildside_data(&project.load_stack(name)?),
        None => serde_json::json!({ "wildside": { "stack_name": "", "stack": {}, "settings": {
            "production": false, "required_tags": [], "max_node_count": 20, "max_size_vcpus": 16, "disabled": []
        }}}),
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
