//! `policy test`: the `test_` rules of the project's policy files (and of `*_test.rego` files), like
//! `opa test`: a test passes when its rule is true.

use serde::Serialize;

use super::error::PolicyError;
use super::evaluate::load;
use super::source::PolicySet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Pass,
    Fail,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub file: String,
    pub package: String,
    pub name: String,
    pub line: usize,
    pub outcome: TestOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs every `test_` rule of `set` with `data` as data.
pub fn run_tests(
    set: &PolicySet,
    data: &serde_json::Value,
) -> Result<Vec<TestResult>, PolicyError> {
    let (mut engine, loaded) = load(set, data)?;
    let mut results = Vec::new();
    for entry in &loaded {
        for head in entry
            .heads
            .iter()
            .filter(|head| head.name.starts_with("test_"))
        {
            let rule = format!("data.{}.{}", entry.package, head.name);
            let (outcome, error) = match engine.eval_rule(rule) {
                Ok(regorus::Value::Bool(true)) => (TestOutcome::Pass, None),
                Ok(_) => (TestOutcome::Fail, None),
                Err(error) => (TestOutcome::Error, Some(error.to_string())),
            };
            results.push(TestResult {
                file: entry.file.name.clone(),
                package: entry.package.clone(),
                name: head.name.clone(),
                line: head.line,
                outcome,
                error,
            });
        }
    }
    Ok(results)
}
