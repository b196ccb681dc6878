//! Keeping secret values out of what we relay from tofu.
//!
//! tofu marks sensitive values in its own output, but a provider error or a `local-exec` can still echo one.
//! Every line and every stderr text from tofu passes through here first, with the raw and the JSON-escaped
//! form of each secret replaced.

use secrecy::{ExposeSecret, SecretString};

const MASK: &str = "<redacted>";

/// The secret values to mask, in both spellings they can appear in.
pub(crate) struct Redactor {
    needles: Vec<SecretString>,
}

impl Redactor {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        let mut needles = Vec::new();
        for secret in secrets {
            let raw = secret.expose_secret();
            // Very short values would mask ordinary text and reveal more than they hide.
            if raw.len() < 4 {
                continue;
            }
            let escaped = serde_json::to_string(raw).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if escaped != raw {
                needles.push(SecretString::from(escaped.to_string()));
            }
            needles.push(SecretString::from(raw.to_string()));
        }
        Self { needles }
    }

    /// The text with secrets masked and terminal colour codes removed (errors are shown as plain text).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = strip_ansi(text);
        for needle in &self.needles {
            if text.contains(needle.expose_secret()) {
                text = text.replace(needle.expose_secret(), MASK);
            }
        }
        text
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`) such as colours.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_and_json_escaped_values() {
        let secrets = [
            SecretString::from("can\"ary-42".to_string()),
            SecretString::from("ab".to_string()),
        ];
        let redactor = Redactor::new(&secrets);
        assert_eq!(redactor.redact("x can\"ary-42 y"), "x <redacted> y");
        assert_eq!(
            redactor.redact(r#"{"detail":"can\"ary-42"}"#),
            r#"{"detail":"<redacted>"}"#
        );
        assert_eq!(redactor.redact("ab stays"), "ab stays");
        assert_eq!(redactor.redact("\u{1b}[31m│\u{1b}[0m Error"), "│ Error");
    }
}
