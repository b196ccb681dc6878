//! Stack input values as HCL literal expressions.

use hcl::Expression;

use crate::stack::InputValue;

/// The HCL literal for an input. Strings are literal text: `${` and `%{` are escaped so they are never templates.
pub(super) fn literal(value: &InputValue) -> Expression {
    match value {
        InputValue::String(text) => Expression::String(escape_templates(text)),
        InputValue::Integer(number) => Expression::Number((*number).into()),
        InputValue::Float(number) => hcl::Number::from_f64(*number).map_or(Expression::Null, Expression::Number),
        InputValue::Bool(flag) => Expression::Bool(*flag),
        InputValue::List(items) => Expression::Array(items.iter().map(literal).collect()),
        InputValue::Map(entries) => Expression::Object(
            entries.iter().map(|(key, item)| (hcl::ObjectKey::from(key.as_str()), literal(item))).collect(),
        ),
    }
}

fn escape_templates(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::escape_templates;

    #[test]
    fn template_sequences_stay_literal() {
        assert_eq!(escape_templates("a ${b} %{c}"), "a $${b} %%{c}");
    }
}
