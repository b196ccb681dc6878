//! Stack values as HCL literal expressions.
//!
//! Every string from a stack file is written by [`text`], which escapes it the way OpenTofu's own `hclwrite`
//! does: quotes, backslashes and control characters as escapes, and each `$` or `%` directly before `{`
//! doubled, so no value ever starts a template and every value reads back unchanged. hcl-rs's own escaping is
//! not used for them: it pairs characters, so `$${` and runs like it change meaning.

use std::fmt::Write;

use hcl::{Expression, ObjectKey, TemplateExpr};

use crate::stack::InputValue;

/// The HCL literal for an input.
pub(super) fn literal(value: &InputValue) -> Expression {
    match value {
        InputValue::String(string) => text(string),
        InputValue::Integer(number) => Expression::Number((*number).into()),
        InputValue::Float(number) => {
            hcl::Number::from_f64(*number).map_or(Expression::Null, Expression::Number)
        }
        InputValue::Bool(flag) => Expression::Bool(*flag),
        InputValue::List(items) => Expression::Array(items.iter().map(literal).collect()),
        InputValue::Map(entries) => Expression::Object(
            entries
                .iter()
                .map(|(key, item)| (ObjectKey::Expression(text(key)), literal(item)))
                .collect(),
        ),
    }
}

/// A quoted string literal whose value is exactly `value`.
pub fn text(value: &str) -> Expression {
    Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(escape(
        value,
        Markers::Doubled,
    ))))
}

/// A quoted string literal that HCL 1 (which OpenTofu's CLI configuration file is read with) and HCL 2 both
/// read as exactly `value`. HCL 1 copies `${...}` verbatim and fails on an unclosed one, and does not know
/// `$${`, so template markers are written as unicode escapes, which both read the same.
pub fn cli_config_text(value: &str) -> Expression {
    Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(escape(
        value,
        Markers::Unicode,
    ))))
}

/// How a `$` or `%` before `{` is kept from starting a template.
#[derive(Clone, Copy)]
enum Markers {
    /// `$${`, as OpenTofu's `hclwrite` writes it.
    Doubled,
    /// `\u0024{`.
    Unicode,
}

/// The body of a quoted HCL string (without the quotes) that reads back as `value`.
fn escape(value: &str, markers: Markers) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => match markers {
                Markers::Doubled => {
                    escaped.push(c);
                    escaped.push(c);
                }
                Markers::Unicode => {
                    let _ = write!(escaped, "\\u{:04x}", u32::from(c));
                }
            },
            c if c.is_control() => {
                let _ = write!(escaped, "\\u{:04x}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::literal;
    use crate::stack::InputValue;

    #[test]
    fn template_sequences_stay_literal() {
        let body = hcl::Body::builder()
            .add_attribute((
                "v",
                literal(&InputValue::String("a ${b} %{c} $${d} %%{e} $$".into())),
            ))
            .build();
        assert_eq!(
            hcl::format::to_string(&body).unwrap().trim(),
            r#"v = "a $${b} %%{c} $$${d} %%%{e} $$""#
        );
    }
}
