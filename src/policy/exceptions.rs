//! Exceptions from the stack file: a denial of a rule on an address moves to `excepted` while its exception
//! holds; an expired exception leaves the denial in place and is itself a denial that says so.

use super::report::{Excepted, Finding, PolicyReport};
use crate::stack::PolicyException;

pub(super) fn apply_exceptions(
    report: &mut PolicyReport,
    exceptions: &[PolicyException],
    today: jiff::civil::Date,
) {
    let mut kept = Vec::new();
    for denial in std::mem::take(&mut report.denials) {
        let holding = exceptions.iter().find(|exception| {
            exception.expires >= today
                && exception.rule == denial.rule
                && denial.resource.as_deref() == Some(exception.address.as_str())
        });
        match holding {
            Some(exception) => report.excepted.push(Excepted {
                finding: denial,
                reason: exception.reason.clone(),
                expires: exception.expires.to_string(),
            }),
            None => kept.push(denial),
        }
    }
    for exception in exceptions
        .iter()
        .filter(|exception| exception.expires < today)
    {
        kept.push(Finding {
            rule: exception.rule.clone(),
            file: "stack file [[policy.exceptions]]".into(),
            message: format!(
                "the exception for rule `{}` on `{}` expired on {} (reason given: {}); renew it with a new `expires` date or remove it",
                exception.rule, exception.address, exception.expires, exception.reason
            ),
            resource: Some(exception.address.clone()),
        });
    }
    report.denials = kept;
}
