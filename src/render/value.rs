//! Stack input values as HCL literal expressions.

use hcl::Expression;

use crate::stack::InputValue;

/// The HCL literal for an input. Strings are literal text: hcl-rs escapes `${` when formatting, and `%{` is
/// escaped here, so neither ever starts a template.
pub(super) fn literal(value: &InputValue) -> Expression {
    match value {
        InputValue::String(text) => Expression::String(escape_templates(text)),
        InputValue::Integer(number) => Expression::Number((*number).into()),
        InputValue::Float(number) => {
            hcl::Number::from_f64(*number).map_or(Expression::Null, Expression::Number)
        }
        InputValue::Bool(flag) => Expression::Bool(*flag),
        InputValue::List(items) => Expression::Array(items.iter().map(literal).collect()),
        InputValue::Map(entries) => Expression::Object(
            entries
                .iter()
                .map(|(key, item)| (hcl::ObjectKey::from(key.as_str()), literal(item)))
                .collect(),
        ),
    }
}

fn escape_templates(text: &str) -> String {
    text.replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::literal;
    use crate::stack::InputValue;

    #[test]
    fn template_sequences_stay_literal() {
        let body = hcl::Body::builder()
            .add_attribute(("v", literal(&InputValue::String("a ${b} %{c}".into()))))
            .build();
        assert_eq!(
            hcl::format::to_string(&body).unwrap().trim(),
            r#"v = "a $${b} %%{c}""#
        );
    }
}
