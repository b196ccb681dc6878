//! The typed summary of a saved plan, from `tofu show -json <plan>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::DigestKey;

/// What a plan does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceAction {
    Create,
    Update,
    Replace,
    Delete,
    Read,
    Forget,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    pub action: ResourceAction,
    /// HMAC-SHA256 under the project's digest key (see [`DigestKey`]) of the change's values (`before`,
    /// `after`, `after_unknown` of `tofu show -json`, as canonical JSON), so a change to the same resource with other values is told apart without the values, which may
    /// be sensitive, appearing in reports. Absent for changes read from tofu's progress stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Every resource change of a plan (no-ops left out), ordered by address, and the outputs that change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub changes: Vec<ResourceChange>,
    pub output_changes: Vec<String>,
    /// The keyed digest of each changing output's values, as [`ResourceChange::digest`] is for resources. Empty for
    /// summaries read from tofu's progress stream.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output_digests: BTreeMap<String, String>,
    /// The [`DigestKey::id`] of the key the digests were made with (in reports, not in summaries).
    #[serde(skip)]
    pub digest_key: Option<String>,
}

#[derive(Deserialize)]
struct ShowJson {
    #[serde(default)]
    resource_changes: Vec<ShowResourceChange>,
    #[serde(default)]
    output_changes: BTreeMap<String, ShowChange>,
}

#[derive(Deserialize)]
struct ShowResourceChange {
    address: String,
    change: ShowChange,
}

#[derive(Deserialize)]
struct ShowChange {
    actions: Vec<String>,
    #[serde(default)]
    before: serde_json::Value,
    #[serde(default)]
    after: serde_json::Value,
    #[serde(default)]
    after_unknown: serde_json::Value,
}

impl ShowChange {
    fn digest(&self, key: &DigestKey) -> String {
        // serde_json's maps are ordered by key, so equal values give equal text.
        let canonical = serde_json::json!({
            "before": self.before,
            "after": self.after,
            "after_unknown": self.after_unknown,
        })
        .to_string();
        key.digest(canonical.as_bytes())
    }
}

impl PlanSummary {
    /// Parses the JSON document `tofu show -json <plan>` prints; values are digested under `key`.
    pub fn from_show_json(json: &str, key: &DigestKey) -> Result<Self, serde_json::Error> {
        let show: ShowJson = serde_json::from_str(json)?;
        let mut changes: Vec<ResourceChange> = show
            .resource_changes
            .into_iter()
            .filter_map(|change| {
                let action = action_of(&change.change.actions)?;
                Some(ResourceChange {
                    digest: Some(change.change.digest(key)),
                    address: change.address,
                    action,
                })
            })
            .collect();
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        let output_digests: BTreeMap<String, String> = show
            .output_changes
            .into_iter()
            .filter(|(_, change)| action_of(&change.actions).is_some())
            .map(|(name, change)| (name, change.digest(key)))
            .collect();
        Ok(Self {
            changes,
            output_changes: output_digests.keys().cloned().collect(),
            output_digests,
            digest_key: Some(key.id()),
        })
    }

    /// How many resources the plan changes with `action`.
    pub fn count(&self, action: ResourceAction) -> usize {
        self.changes
            .iter()
            .filter(|change| change.action == action)
            .count()
    }

    /// Addresses changed with `action`.
    pub fn addresses(&self, action: ResourceAction) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(move |change| change.action == action)
            .map(|change| change.address.as_str())
    }
}

impl ResourceAction {
    /// The action of a `planned_change` UI message; `None` for ones that change nothing (no-op, move, import).
    pub fn from_ui(action: &str) -> Option<Self> {
        match action {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            "replace" => Some(Self::Replace),
            "read" => Some(Self::Read),
            "remove" | "forget" => Some(Self::Forget),
            _ => None,
        }
    }
}

/// The action for a list of plan actions; `None` for a no-op.
fn action_of(actions: &[String]) -> Option<ResourceAction> {
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    match actions.as_slice() {
        ["create"] => Some(ResourceAction::Create),
        ["update"] => Some(ResourceAction::Update),
        ["delete"] => Some(ResourceAction::Delete),
        ["delete", "create"] | ["create", "delete"] => Some(ResourceAction::Replace),
        ["read"] => Some(ResourceAction::Read),
        ["forget"] => Some(ResourceAction::Forget),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_a_recorded_plan() {
        let json = r#"{"format_version":"1.2","resource_changes":[
            {"address":"b.x","change":{"actions":["delete","create"]}},
            {"address":"a.x","change":{"actions":["create"]}},
            {"address":"c.x","change":{"actions":["no-op"]}},
            {"address":"d.x","change":{"actions":["delete"]}}],
            "output_changes":{"o":{"actions":["create"]},"p":{"actions":["no-op"]}}}"#;
        let summary = PlanSummary::from_show_json(json, &DigestKey::from_bytes(b"k")).unwrap();
        assert_eq!(summary.count(ResourceAction::Create), 1);
        assert_eq!(summary.count(ResourceAction::Replace), 1);
        assert_eq!(
            summary
                .addresses(ResourceAction::Delete)
                .collect::<Vec<_>>(),
            ["d.x"]
        );
        assert_eq!(summary.changes[0].address, "a.x");
        assert_eq!(summary.output_changes, ["o"]);
        assert_eq!(summary.output_digests.keys().collect::<Vec<_>>(), ["o"]);
    }
}
