//! `output <stack>`: the stack's outputs from state; sensitive values are named, never shown. `output <stack>
//! --raw NAME` prints one value as text, as `tofu output -raw` does: a sensitive one too, since it was asked
//! for by name.

use secrecy::{ExposeSecret, SecretString};

use super::report::{OutputEntry, RawOutput, Report};
use crate::engine::OutputValue;
use crate::error::Error;
use crate::run::context::{Context, prepare};

pub async fn output(context: &Context, stack: &str, workspace: &str) -> Result<Report, Error> {
    let mut prepared = prepare(context, stack, workspace).await?;
    let outputs = match prepared.tofu.outputs(workspace).await {
        Ok(outputs) => outputs,
        Err(error) => return Err(prepared.explain(error).await),
    };
    Ok(Report::Output {
        stack: prepared.stack.name.clone(),
        workspace: workspace.to_string(),
        outputs: OutputEntry::from_outputs(&outputs),
    })
}

/// `output --raw NAME`: the value of one output as text (strings as they are, numbers and bools as written).
pub async fn output_raw(
    context: &Context,
    stack: &str,
    workspace: &str,
    name: &str,
) -> Result<Report, Error> {
    let mut prepared = prepare(context, stack, workspace).await?;
    let outputs = match prepared.tofu.outputs(workspace).await {
        Ok(outputs) => outputs,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let Some(value) = outputs.0.get(name) else {
        let names: Vec<&str> = outputs.0.keys().map(String::as_str).collect();
        let hint = match crate::stack::closest(name, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if names.is_empty() => "the state has no outputs yet: run `up` first".to_string(),
            None => format!("its outputs: {}", names.join(", ")),
        };
        return Err(Error::NoSuchOutput {
            stack: prepared.stack.name.clone(),
            workspace: workspace.to_string(),
            name: name.to_string(),
            hint,
        });
    };
    let text = match value {
        OutputValue::Plain(value) => raw_text(value),
        OutputValue::Sensitive(json) => serde_json::from_str(json.expose_secret())
            .ok()
            .and_then(|value: serde_json::Value| raw_text(&value)),
    };
    let Some(text) = text else {
        return Err(Error::OutputNotRaw {
            name: name.to_string(),
        });
    };
    Ok(Report::OutputRaw {
        name: name.to_string(),
        value: RawOutput(text),
    })
}

/// The text `tofu output -raw` prints for a value; `None` for a list, map or null, which have none.
fn raw_text(value: &serde_json::Value) -> Option<SecretString> {
    match value {
        serde_json::Value::String(text) => Some(SecretString::from(text.clone())),
        serde_json::Value::Number(number) => Some(SecretString::from(number.to_string())),
        serde_json::Value::Bool(flag) => Some(SecretString::from(flag.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::raw_text;

    #[test]
    fn raw_text_is_what_tofu_prints() {
        let text = |json: &str| {
            raw_text(&serde_json::from_str(json).unwrap())
                .map(|text| text.expose_secret().to_string())
        };
        assert_eq!(text(r#""a\nb""#).as_deref(), Some("a\nb"));
        assert_eq!(text("3").as_deref(), Some("3"));
        assert_eq!(text("true").as_deref(), Some("true"));
        assert_eq!(text("[1]"), None);
        assert_eq!(text("null"), None);
    }
}
