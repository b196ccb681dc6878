//! OpenTofu's machine-readable UI (`-json`): one JSON object a line, typed here.
//!
//! The stream starts with a `version` message; wildside-tofu understands UI major version 1 and refuses
//! others. Message types it does not know are ignored, as the format's contract allows.

use serde::{Deserialize, Serialize};

use super::error::EngineError;

/// A tofu diagnostic (error or warning) as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The messages wildside-tofu acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    Version {
        ui: String,
    },
    Diagnostic(Diagnostic),
    PlannedChange {
        address: String,
        action: String,
    },
    ChangeSummary {
        add: u64,
        change: u64,
        remove: u64,
        operation: String,
    },
    ApplyStart {
        address: String,
        action: String,
    },
    ApplyProgress {
        address: String,
        elapsed_seconds: u64,
    },
    ApplyComplete {
        address: String,
        action: String,
        elapsed_seconds: u64,
    },
    ApplyErrored {
        address: String,
        elapsed_seconds: u64,
    },
    RefreshStart {
        address: String,
    },
    Log {
        message: String,
    },
    /// A message type this version does not act on.
    Other,
}

/// One line of the stream as tofu writes it: `type` names the message, and only the fields wildside-tofu
/// reads are declared (a field tofu leaves out reads as empty).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Message {
    Version {
        ui: String,
    },
    Diagnostic {
        diagnostic: Diagnostic,
    },
    PlannedChange {
        change: Change,
    },
    ChangeSummary {
        changes: Changes,
    },
    ApplyStart {
        hook: Hook,
    },
    ApplyProgress {
        hook: Hook,
    },
    ApplyComplete {
        hook: Hook,
    },
    ApplyErrored {
        hook: Hook,
    },
    RefreshStart {
        hook: Hook,
    },
    Log {
        #[serde(rename = "@message", default)]
        message: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resource {
    addr: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Change {
    resource: Resource,
    action: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Changes {
    add: u64,
    change: u64,
    remove: u64,
    operation: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Hook {
    resource: Resource,
    action: String,
    elapsed_seconds: u64,
}

/// Decodes one line. Lines that are not messages tofu's UI contract describes (tofu sometimes prints plain
/// text) become [`UiEvent::Log`], so nothing is lost.
pub fn parse_line(line: &str) -> Result<UiEvent, EngineError> {
    let Ok(message) = serde_json::from_str::<Message>(line) else {
        return Ok(UiEvent::Log {
            message: line.to_string(),
        });
    };
    Ok(match message {
        Message::Version { ui } => {
            if !ui.starts_with("1.") && ui != "1" {
                return Err(EngineError::UiVersion(ui));
            }
            UiEvent::Version { ui }
        }
        Message::Diagnostic { diagnostic } => UiEvent::Diagnostic(diagnostic),
        Message::PlannedChange { change } => UiEvent::PlannedChange {
            address: change.resource.addr,
            action: change.action,
        },
        Message::ChangeSummary { changes } => UiEvent::ChangeSummary {
            add: changes.add,
            change: changes.change,
            remove: changes.remove,
            operation: changes.operation,
        },
        Message::ApplyStart { hook } => UiEvent::ApplyStart {
            address: hook.resource.addr,
            action: hook.action,
        },
        Message::ApplyProgress { hook } => UiEvent::ApplyProgress {
            address: hook.resource.addr,
            elapsed_seconds: hook.elapsed_seconds,
        },
        Message::ApplyComplete { hook } => UiEvent::ApplyComplete {
            address: hook.resource.addr,
            action: hook.action,
            elapsed_seconds: hook.elapsed_seconds,
        },
        Message::ApplyErrored { hook } => UiEvent::ApplyErrored {
            address: hook.resource.addr,
            elapsed_seconds: hook.elapsed_seconds,
        },
        Message::RefreshStart { hook } => UiEvent::RefreshStart {
            address: hook.resource.addr,
        },
        Message::Log { message } => UiEvent::Log { message },
        Message::Other => UiEvent::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_recorded_messages() {
        let version = r#"{"@level":"info","@message":"OpenTofu 1.12.6","type":"version","tofu":"1.12.6","ui":"1.2"}"#;
        assert_eq!(
            parse_line(version).unwrap(),
            UiEvent::Version { ui: "1.2".into() }
        );
        let change = r#"{"@level":"info","type":"planned_change","change":{"resource":{"addr":"module.a.terraform_data.b"},"action":"create"}}"#;
        assert_eq!(
            parse_line(change).unwrap(),
            UiEvent::PlannedChange {
                address: "module.a.terraform_data.b".into(),
                action: "create".into()
            }
        );
        let diagnostic = r#"{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Lock Info:\n  ID: 1"}}"#;
        let UiEvent::Diagnostic(diagnostic) = parse_line(diagnostic).unwrap() else {
            panic!("not a diagnostic")
        };
        assert_eq!(diagnostic.summary, "Error acquiring the state lock");
    }

    #[test]
    fn ignores_unknown_types_and_refuses_unknown_major_versions() {
        assert_eq!(
            parse_line(r#"{"type":"brand_new_thing"}"#).unwrap(),
            UiEvent::Other
        );
        assert!(matches!(
            parse_line(r#"{"type":"version","ui":"2.0"}"#),
            Err(EngineError::UiVersion(_))
        ));
        // A known type in a shape the contract does not describe is kept, whole, as text.
        let odd = r#"{"type":"apply_start","hook":"not an object"}"#;
        assert_eq!(
            parse_line(odd).unwrap(),
            UiEvent::Log {
                message: odd.into()
            }
        );
        assert_eq!(
            parse_line(r#"{"type":"apply_progress","hook":{}}"#).unwrap(),
            UiEvent::ApplyProgress {
                address: String::new(),
                elapsed_seconds: 0
            }
        );
        assert_eq!(
            parse_line("plain text").unwrap(),
            UiEvent::Log {
                message: "plain text".into()
            }
        );
    }
}
