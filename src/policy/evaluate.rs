//! Evaluating a [`PolicySet`] against one plan: load every file into one regorus engine (so helpers are
//! shared within a package, as conftest does), check that every file runs and every configured package has
//! rules, evaluate each package's `deny`/`violation`/`warn` rules, and attribute the findings to files.

use std::collections::{BTreeMap, BTreeSet};

use regorus::{Engine, Value};

use super::error::PolicyError;
use super::exceptions::apply_exceptions;
use super::report::{FileReport, Finding, PolicyReport, RuleReport};
use super::source::{PolicyFile, PolicySet};
use crate::stack::Stack;

/// Runs the stack's policies (built-ins it has not switched off, and the project's `policies/`) on a plan's
/// `show -json` text, then applies the stack's exceptions as of today (`WILDSIDE_NOW` moves the clock).
pub fn check_plan(
    policies_dir: &std::path::Path,
    stack: &Stack,
    plan_json: &str,
) -> Result<PolicyReport, PolicyError> {
    let set = PolicySet::load(policies_dir, &stack.policy.disabled, false)?;
    let data = super::input::wildside_data(stack);
    let mut report = evaluate(&set, plan_json, &data)?;
    let today = utc_date(crate::preview::Clock::from_env()?.now());
    apply_exceptions(&mut report, &stack.policy.exceptions, today);
    Ok(report)
}

/// The UTC calendar date of a moment, as the exceptions' expiry dates are written.
pub fn utc_date(moment: jiff::Timestamp) -> jiff::civil::Date {
    moment.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// A rule head found in a file: its name and 1-based line.
#[derive(Debug, Clone)]
pub(super) struct RuleHead {
    pub(super) name: String,
    pub(super) line: usize,
}

/// A loaded file: its package (without `data.`) and the rule heads it declares.
pub(super) struct Loaded<'a> {
    pub(super) file: &'a PolicyFile,
    pub(super) package: String,
    pub(super) heads: Vec<RuleHead>,
}

/// A regorus engine with every file of `set` added, and what each file declares.
pub(super) fn load<'a>(
    set: &'a PolicySet,
    data: &serde_json::Value,
) -> Result<(Engine, Vec<Loaded<'a>>), PolicyError> {
    let mut engine = Engine::new();
    engine.set_rego_v0(set.config.rego_v0);
    engine.set_strict_builtin_errors(true);
    let mut loaded = Vec::new();
    for file in &set.files {
        let package = engine
            .add_policy(file.name.clone(), file.source.clone())
            .map_err(|error| PolicyError::Load {
                file: file.name.clone(),
                message: error.to_string(),
            })?;
        let package = package
            .strip_prefix("data.")
            .unwrap_or(&package)
            .to_string();
        loaded.push(Loaded {
            file,
            heads: rule_heads(&file.source),
            package,
        });
    }
    engine
        .add_data(Value::from(data.clone()))
        .map_err(|error| PolicyError::Plan(error.to_string()))?;
    Ok((engine, loaded))
}

/// Evaluates `set` with `plan_json` as `input` and `data` (see [`super::wildside_data`]) as data.
pub fn evaluate(
    set: &PolicySet,
    plan_json: &str,
    data: &serde_json::Value,
) -> Result<PolicyReport, PolicyError> {
    let (mut engine, loaded) = load(set, data)?;
    check_coverage(set, &loaded)?;
    let input =
        Value::from_json_str(plan_json).map_err(|error| PolicyError::Plan(error.to_string()))?;
    let resources = input["resource_changes"]
        .as_array()
        .map_or(0, |changes| changes.len());
    engine.set_input(input);
    // Each (package, rule) once, with the file that declares it first.
    let mut checks: Vec<(String, String)> = Vec::new();
    let mut declared_in: Vec<&Loaded<'_>> = Vec::new();
    for entry in &loaded {
        for head in entry.heads.iter().filter(|head| is_check(&head.name)) {
            let key = (entry.package.clone(), head.name.clone());
            if !checks.contains(&key) {
                checks.push(key);
                declared_in.push(entry);
            }
        }
    }
    let values = eval_rules(&engine, &checks, resources >= PARALLEL_FROM)?;
    let mut report = PolicyReport::default();
    let mut evaluated: BTreeMap<(String, String), Vec<Finding>> = BTreeMap::new();
    for (((package, rule), value), entry) in checks.into_iter().zip(values).zip(declared_in) {
        let owner = entry
            .file
            .builtin
            .clone()
            .unwrap_or_else(|| package.clone());
        let findings = findings(&value, &owner, &entry.file.name);
        if rule.starts_with("warn") {
            report.warnings.extend(findings.iter().cloned());
        } else {
            report.denials.extend(findings.iter().cloned());
        }
        evaluated.insert((package, rule), findings);
    }
    for entry in &loaded {
        let rules = entry
            .heads
            .iter()
            .filter(|head| is_check(&head.name))
            .map(|head| {
                let findings = &evaluated[&(entry.package.clone(), head.name.clone())];
                let resources: BTreeSet<&str> = findings
                    .iter()
                    .filter_map(|finding| finding.resource.as_deref())
                    .collect();
                RuleReport {
                    name: head.name.clone(),
                    line: head.line,
                    findings: findings.len(),
                    resources: resources.len(),
                    shared_with: loaded
                        .iter()
                        .filter(|other| {
                            other.file.name != entry.file.name
                                && other.package == entry.package
                                && other.heads.iter().any(|h| h.name == head.name)
                        })
                        .map(|other| other.file.name.clone())
                        .collect(),
                }
            })
            .collect();
        report.files.push(FileReport {
            file: entry.file.name.clone(),
            package: entry.package.clone(),
            builtin: entry.file.builtin.clone(),
            rules,
        });
    }
    Ok(report)
}

/// The number of planned resources from which rules are evaluated on several threads; below it, a second
/// engine costs more memory than it saves time.
const PARALLEL_FROM: usize = 500;

/// Evaluates `data.<package>.<rule>` for every check, on as many threads as the machine has when `parallel`
/// (each with its own copy of the loaded engine: rules are independent, and the input is shared, not copied),
/// else on this one. Results come back in the order of `checks`.
fn eval_rules(
    engine: &Engine,
    checks: &[(String, String)],
    parallel: bool,
) -> Result<Vec<Value>, PolicyError> {
    let threads = if parallel {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        1
    }
    .min(checks.len())
    .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<Value, PolicyError>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let mut engine = engine.clone();
                let next = &next;
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((package, rule)) = checks.get(index) else {
                            return done;
                        };
                        let rule = format!("data.{package}.{rule}");
                        let value =
                            engine
                                .eval_rule(rule.clone())
                                .map_err(|error| PolicyError::Evaluate {
                                    rule,
                                    message: error.to_string(),
                                });
                        done.push((index, value));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut values: Vec<(usize, Result<Value, PolicyError>)> =
        results.into_iter().flatten().collect();
    values.sort_by_key(|(index, _)| *index);
    values.into_iter().map(|(_, value)| value).collect()
}

/// No silent skips: every project file is in a configured package, and every configured package has rules.
fn check_coverage(set: &PolicySet, loaded: &[Loaded<'_>]) -> Result<(), PolicyError> {
    let project: Vec<&Loaded<'_>> = loaded
        .iter()
        .filter(|entry| entry.file.builtin.is_none() && !entry.file.test)
        .collect();
    if project.is_empty() && !set.config.written {
        return Ok(());
    }
    for entry in &project {
        if !set.config.loads(&entry.package) {
            return Err(PolicyError::NotLoaded {
                file: entry.file.name.clone(),
                package: entry.package.clone(),
                configured: set.config.packages.clone(),
            });
        }
    }
    for package in &set.config.packages {
        let declaring: Vec<&&Loaded<'_>> = project
            .iter()
            .filter(|entry| entry.package == *package)
            .collect();
        if !declaring
            .iter()
            .any(|entry| entry.heads.iter().any(|head| is_check(&head.name)))
        {
            return Err(PolicyError::NoRules {
                package: package.clone(),
                files: declaring
                    .iter()
                    .map(|entry| entry.file.name.clone())
                    .collect(),
            });
        }
    }
    Ok(())
}

/// conftest's rule names: `deny`, `violation` or `warn`, optionally followed by `_` and a suffix.
pub(super) fn is_check(name: &str) -> bool {
    ["deny", "violation", "warn"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
    })
}

/// The rule heads of a file: identifiers at the start of a line followed by a rule body or value, found in
/// the text (with their lines) rather than regorus's unstable syntax tree.
pub(super) fn rule_heads(source: &str) -> Vec<RuleHead> {
    let mut heads: Vec<RuleHead> = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let line = line.strip_prefix("default ").unwrap_or(line);
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        if matches!(name.as_str(), "package" | "import" | "default") {
            continue;
        }
        let rest = line[name.len()..].trim_start();
        let head = ["contains", "if", "[", "{", ":=", "=", "("]
            .iter()
            .any(|token| rest.starts_with(token));
        if head && !heads.iter().any(|seen| seen.name == name) {
            heads.push(RuleHead {
                name,
                line: index + 1,
            });
        }
    }
    heads
}

/// The findings of one rule's value: a set (or array) of messages, each a string or an object with `msg`
/// (conftest's form) and optionally `resource`, the address it concerns.
fn findings(value: &Value, rule: &str, file: &str) -> Vec<Finding> {
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let items = match json {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Bool(false) => Vec::new(),
        serde_json::Value::String(text) if text == "<undefined>" => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let (message, resource) = match &item {
                serde_json::Value::String(text) => (text.clone(), None),
                serde_json::Value::Object(fields) => (
                    fields
                        .get("msg")
                        .and_then(serde_json::Value::as_str)
                        .map_or_else(|| item.to_string(), str::to_string),
                    fields
                        .get("resource")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                ),
                other => (other.to_string(), None),
            };
            Finding {
                rule: rule.to_string(),
                file: file.to_string(),
                message,
                resource,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rule_heads_and_their_lines() {
        let heads = rule_heads(
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  true\n}\nwarn_x[msg] {\n}\nhelper(x) := x\ndefault allow := false\n",
        );
        let names: Vec<(&str, usize)> = heads.iter().map(|h| (h.name.as_str(), h.line)).collect();
        assert_eq!(
            names,
            [("deny", 5), ("warn_x", 8), ("helper", 10), ("allow", 11)]
        );
        assert!(is_check("deny") && is_check("warn_x") && is_check("violation"));
        assert!(!is_check("denylist") && !is_check("helper"));
    }
}
