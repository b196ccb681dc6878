//! The machine view: one JSON object per command, with `schema_version` first.

use serde_json::{Map, Value, json};

use super::JSON_SCHEMA_VERSION;
use crate::commands::Report;
use crate::error::Error;

pub(super) fn render(report: &Report) -> String {
    let mut object = Map::new();
    object.insert("schema_version".into(), json!(JSON_SCHEMA_VERSION));
    if let Ok(Value::Object(fields)) = serde_json::to_value(report) {
        object.extend(fields);
    }
    object.insert("exit_code".into(), json!(report.exit_code()));
    Value::Object(object).to_string()
}

pub(super) fn render_error(command: &str, error: &Error) -> String {
    json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "command": command,
        "kind": error.kind(),
        "error": error.to_string(),
        "exit_code": error.exit_code(),
    })
    .to_string()
}
