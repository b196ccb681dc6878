//! Policy checks: Rego policies evaluated in-process with `regorus` against a plan's JSON (`tofu show -json`),
//! as conftest would give it, with the stack's model and name in `data.wildside`.
//!
//! Two sources of policies: the built-in rules, embedded in the binary and shipped readable in
//! `policies/builtin/`, each switchable per stack; and the project's own `policies/*.rego`, evaluated with
//! conftest's semantics (`deny`, `violation` and `warn` rules in the packages `policies/config.toml` names,
//! `main` by default). Nothing is skipped silently: every run reports, per file, the rules evaluated and how
//! many findings and resources each matched, and a configured package with no rules, or a policy file no
//! configured package loads, is an error. Exceptions from the stack file move a denial aside until their
//! expiry date; an expired exception is itself a denial.

mod builtin;
mod config;
mod error;
mod evaluate;
mod exceptions;
mod input;
mod report;
mod source;
mod test_runner;

pub use builtin::{BUILTIN_POLICIES, builtin_source};
pub use config::PolicyConfig;
pub use error::PolicyError;
pub use evaluate::{check_plan, evaluate, utc_date};
pub use input::wildside_data;
pub use report::{Excepted, FileReport, Finding, FindingLevel, PolicyReport, RuleReport};
pub use source::{PolicyFile, PolicySet};
pub use test_runner::{TestOutcome, TestResult, run_tests};
