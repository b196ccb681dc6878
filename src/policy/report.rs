//! What a policy run found, per file and per finding: part of the plan report (JSON) and the summaries.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Every file evaluated, with its rules: nothing runs unreported.
    pub files: Vec<FileReport>,
    /// Denials (`deny` and `violation`), including expired exceptions: any of them fails the plan.
    pub denials: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// Denials an unexpired exception in the stack file set aside.
    pub excepted: Vec<Excepted>,
}

impl PolicyReport {
    pub fn denied(&self) -> bool {
        !self.denials.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    pub file: String,
    pub package: String,
    /// Set for built-in rules: their name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub builtin: Option<String>,
    pub rules: Vec<RuleReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleReport {
    /// `deny`, `violation`, `warn`, or one with a suffix (`deny_public_ssh`).
    pub name: String,
    pub line: usize,
    pub findings: usize,
    /// Distinct resource addresses among the findings.
    pub resources: usize,
    /// Other files defining the same rule in the same package: the counts are the package's, shared.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub shared_with: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingLevel {
    Deny,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A built-in rule's name, or the package of a project policy; what an exception names.
    pub rule: String,
    pub file: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excepted {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
    /// YYYY-MM-DD, the last day the exception holds.
    pub expires: String,
}
