//! The per-stack plan report: a versioned JSON document that CI keeps as an artifact and comments are made from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cost::CostDiff;
use crate::engine::{DigestKey, PlanSummary, ResourceAction, ResourceChange};
use crate::policy::PolicyReport;
use crate::stack::SecretInState;

/// Bumped on any incompatible change of [`StackPlanReport`]. Version 2 added each change's digest.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Why a reviewed report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("`{path}` is not a plan report of wildside-tofu: {source}")]
    Unreadable {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the reviewed report `{path}` has schema version {found}; this wildside-tofu reads version {expected}\n  hint: plan again with this version and get the new plan reviewed"
    )]
    SchemaVersion {
        path: PathBuf,
        found: u64,
        expected: u32,
    },
    #[error(
        "the reviewed report `{path}` was made with another digest key, so its digests cannot be compared with this plan's\n  hint: give the job that plans and the one that applies the same ${}, or the same $WILDSIDE_PLAN_PASSPHRASE",
        crate::engine::DIGEST_KEY_ENV
    )]
    DigestKey { path: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    NoChanges,
    Changes,
    Failed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackPlanReport {
    pub schema_version: u32,
    pub stack: String,
    pub workspace: String,
    pub status: PlanStatus,
    pub totals: Totals,
    pub changes: Vec<ResourceChange>,
    pub output_changes: Vec<String>,
    /// The digest of each changing output's values (see [`PlanSummary::output_digests`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output_digests: BTreeMap<String, String>,
    /// The id of the key the digests were made with (see [`DigestKey::id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_key: Option<String>,
    /// `false` only for stacks with `[encryption] enabled = false`: the comment says so.
    #[serde(default = "encrypted")]
    pub state_encrypted: bool,
    /// Secrets that module inputs take, which tofu keeps in state and saved plans (names only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_in_state: Vec<SecretInState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<PathBuf>,
    /// What the policies found (absent when the stack failed before they ran).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<PolicyReport>,
    /// Monthly cost before → after (absent when the stack failed before it was estimated).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost: Option<CostDiff>,
}

fn encrypted() -> bool {
    true
}

impl StackPlanReport {
    /// Records how `stack` keeps its state at rest.
    pub fn at_rest(mut self, stack: &crate::stack::Stack) -> Self {
        self.state_encrypted = stack.encryption.is_enabled();
        self.secrets_in_state = stack.secrets_kept_in_state();
        self
    }

    pub fn planned(
        stack: &str,
        workspace: &str,
        summary: PlanSummary,
        plan_file: Option<PathBuf>,
    ) -> Self {
        let totals = Totals {
            add: summary.count(ResourceAction::Create),
            change: summary.count(ResourceAction::Update),
            replace: summary.count(ResourceAction::Replace),
            destroy: summary.count(ResourceAction::Delete),
        };
        let status = if summary.changes.is_empty() && summary.output_changes.is_empty() {
            PlanStatus::NoChanges
        } else {
            PlanStatus::Changes
        };
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            stack: stack.to_string(),
            workspace: workspace.to_string(),
            status,
            totals,
            changes: summary.changes,
            output_changes: summary.output_changes,
            output_digests: summary.output_digests,
            digest_key: summary.digest_key,
            state_encrypted: true,
            secrets_in_state: Vec::new(),
            error: None,
            plan_file,
            policy: None,
            cost: None,
        }
    }

    pub fn failed(stack: &str, workspace: &str, error: String) -> Self {
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            stack: stack.to_string(),
            workspace: workspace.to_string(),
            status: PlanStatus::Failed,
            totals: Totals::default(),
            changes: Vec::new(),
            output_changes: Vec::new(),
            output_digests: BTreeMap::new(),
            digest_key: None,
            state_encrypted: true,
            secrets_in_state: Vec::new(),
            error: Some(error),
            plan_file: None,
            policy: None,
            cost: None,
        }
    }

    /// Reads a report written by `plan --report-dir`, refusing other schema versions.
    pub fn from_json(path: &std::path::Path, text: &str) -> Result<Self, ReportError> {
        let unreadable = |source| ReportError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(unreadable)?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(REPORT_SCHEMA_VERSION) {
            return Err(ReportError::SchemaVersion {
                path: path.to_path_buf(),
                found,
                expected: REPORT_SCHEMA_VERSION,
            });
        }
        serde_json::from_value(value).map_err(unreadable)
    }

    /// Refuses a report (read from `path`) whose digests were made with another key than `key`: every change
    /// would look changed.
    pub fn check_digest_key(
        &self,
        path: &std::path::Path,
        key: &DigestKey,
    ) -> Result<(), ReportError> {
        match &self.digest_key {
            Some(id) if *id != key.id() => Err(ReportError::DigestKey {
                path: path.to_path_buf(),
            }),
            _ => Ok(()),
        }
    }

    /// The changes of `self` that `other` does not make (same address, action and values), and the output
    /// changes likewise (same name and values).
    pub fn changes_not_in(&self, other: &Self) -> (Vec<&ResourceChange>, Vec<&str>) {
        let changes = self
            .changes
            .iter()
            .filter(|change| !other.changes.contains(change))
            .collect();
        let outputs = self
            .output_changes
            .iter()
            .filter(|output| {
                !other.output_changes.contains(output)
                    || self.output_digests.get(*output) != other.output_digests.get(*output)
            })
            .map(String::as_str)
            .collect();
        (changes, outputs)
    }

    /// Whether the policies denied this plan.
    pub fn denied(&self) -> bool {
        self.policy.as_ref().is_some_and(PolicyReport::denied)
    }

    /// Whether the plan's estimate exceeds the stack's budget.
    pub fn over_budget(&self) -> bool {
        self.cost
            .as_ref()
            .is_some_and(|cost| cost.over_budget.is_some())
    }

    /// Addresses changed with `action`.
    pub fn addresses(&self, action: ResourceAction) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(move |change| change.action == action)
            .map(|change| change.address.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_output(value: &str) -> StackPlanReport {
        let show = serde_json::json!({
            "output_changes": { "endpoint": { "actions": ["update"], "before": "old", "after": value } }
        });
        let summary = PlanSummary::from_show_json(
            &show.to_string(),
            &crate::engine::DigestKey::from_bytes(b"k"),
        )
        .unwrap();
        StackPlanReport::planned("prod", "default", summary, None)
    }

    #[test]
    fn an_output_with_other_values_is_a_difference() {
        let reviewed = with_output("reviewed");
        assert_eq!(reviewed.changes_not_in(&with_output("reviewed")).1.len(), 0);
        let now = with_output("changed");
        assert_eq!(now.changes_not_in(&reviewed).1, ["endpoint"]);
        assert_eq!(reviewed.changes_not_in(&now).1, ["endpoint"]);
    }
}
