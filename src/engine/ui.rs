//! OpenTofu's machine-readable UI (`-json`): one JSON object a line, typed here.
//!
//! The stream starts with a `version` message; wildside-tofu understands UI major version 1 and refuses
//! others. Message types it does not know are ignored, as the format's contract allows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::EngineError;

/// A tofu diagnostic (error or warning) as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: String,
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

/// Decodes one line. Lines that are not JSON objects (tofu sometimes prints plain text) become [`UiEvent::Log`].
pub fn parse_line(line: &str) -> Result<UiEvent, EngineError> {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return Ok(UiEvent::Log {
            message: line.to_string(),
        });
    };
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let number = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_default()
    };
    let event = match value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "version" => {
            let ui = text("/ui");
            if !ui.starts_with("1.") && ui != "1" {
                return Err(EngineError::UiVersion(ui));
            }
            UiEvent::Version { ui }
        }
        "diagnostic" => UiEvent::Diagnostic(Diagnostic {
            severity: text("/diagnostic/severity"),
            summary: text("/diagnostic/summary"),
            detail: text("/diagnostic/detail"),
            address: value
                .pointer("/diagnostic/address")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        "planned_change" => UiEvent::PlannedChange {
            address: text("/change/resource/addr"),
            action: text("/change/action"),
        },
        "change_summary" => UiEvent::ChangeSummary {
            add: number("/changes/add"),
            change: number("/changes/change"),
            remove: number("/changes/remove"),
            operation: text("/changes/operation"),
        },
        "apply_start" => UiEvent::ApplyStart {
            address: text("/hook/resource/addr"),
            action: text("/hook/action"),
        },
        "apply_progress" => UiEvent::ApplyProgress {
            address: text("/hook/resource/addr"),
            elapsed_seconds: number("/hook/elapsed_seconds"),
        },
        "apply_complete" => UiEvent::ApplyComplete {
            address: text("/hook/resource/addr"),
            action: text("/hook/action"),
            elapsed_seconds: number("/hook/elapsed_seconds"),
        },
        "apply_errored" => UiEvent::ApplyErrored {
            address: text("/hook/resource/addr"),
            elapsed_seconds: number("/hook/elapsed_seconds"),
        },
        "refresh_start" => UiEvent::RefreshStart {
            address: text("/hook/resource/addr"),
        },
        "log" => UiEvent::Log {
            message: text("/@message"),
        },
        _ => UiEvent::Other,
    };
    Ok(event)
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
        assert_eq!(
            parse_line("plain text").unwrap(),
            UiEvent::Log {
                message: "plain text".into()
            }
        );
    }
}
