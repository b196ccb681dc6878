//! Stack outputs from `tofu output -json`, with sensitive values kept in `secrecy` types.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;

/// One output value. A sensitive value is never printed, logged or shown by `Debug`.
#[derive(Debug, Clone)]
pub enum OutputValue {
    Plain(serde_json::Value),
    /// The JSON text of the value.
    Sensitive(SecretString),
}

/// All outputs of a stack's state, by name.
#[derive(Debug, Clone, Default)]
pub struct Outputs(pub BTreeMap<String, OutputValue>);

#[derive(Deserialize)]
struct RawOutput {
    #[serde(default)]
    sensitive: bool,
    value: serde_json::Value,
}

impl Outputs {
    /// Parses what `tofu output -json` prints.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let raw: BTreeMap<String, RawOutput> = serde_json::from_str(json)?;
        Ok(Self(
            raw.into_iter()
                .map(|(name, output)| {
                    let value = if output.sensitive {
                        OutputValue::Sensitive(SecretString::from(output.value.to_string()))
                    } else {
                        OutputValue::Plain(output.value)
                    };
                    (name, value)
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_stay_out_of_debug_output() {
        let json = r#"{"token":{"sensitive":true,"type":"string","value":"canary-3f9a"},"name":{"sensitive":false,"type":"string","value":"dev"}}"#;
        let outputs = Outputs::from_json(json).unwrap();
        let debug = format!("{outputs:?}");
        assert!(!debug.contains("canary-3f9a"), "{debug}");
        assert!(debug.contains("dev"));
    }
}
