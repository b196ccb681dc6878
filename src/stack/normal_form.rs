//! Stack strings in Unicode normalization form C.
//!
//! OpenTofu reads every string of a configuration, escapes included, in NFC: a stack string written in another
//! form (a decomposed `é`, a CJK compatibility ideograph) would reach tofu as other text than the stack file
//! holds, and the rendered root could not say otherwise. Such a string, or key, is refused where it is written.

use icu_normalizer::ComposingNormalizerBorrowed;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::StackError;

/// The first string or key of `document` (parsed from `source`) that is not in NFC, located in the file.
pub(super) fn check_normal_form(
    path: &std::path::Path,
    source: &str,
    document: &DeTable<'_>,
) -> Result<(), StackError> {
    let mut found = Vec::new();
    in_table(document, &mut found);
    match found.into_iter().min_by_key(|(offset, _)| *offset) {
        Some((offset, text)) => Err(refusal(path, source, offset, text)),
        None => Ok(()),
    }
}

/// Adds the byte offset and text of every string in `table`, keys and values, that is not in NFC to `found`.
fn in_table<'a>(table: &'a DeTable<'_>, found: &mut Vec<(usize, &'a str)>) {
    for (key, value) in table {
        if !is_normal(key.get_ref()) {
            found.push((key.span().start, key.get_ref()));
        }
        in_value(value, found);
    }
}

fn in_value<'a>(value: &'a Spanned<DeValue<'_>>, found: &mut Vec<(usize, &'a str)>) {
    match value.get_ref() {
        DeValue::String(text) if !is_normal(text) => found.push((value.span().start, text)),
        DeValue::Array(items) => items.iter().for_each(|item| in_value(item, found)),
        DeValue::Table(table) => in_table(table, found),
        _ => {}
    }
}

fn is_normal(text: &str) -> bool {
    ComposingNormalizerBorrowed::new_nfc().is_normalized(text)
}

/// The error for `text` at `offset`: which characters NFC writes otherwise, and what to write instead.
fn refusal(path: &std::path::Path, source: &str, offset: usize, text: &str) -> StackError {
    let normal = ComposingNormalizerBorrowed::new_nfc().normalize(text);
    let (written, composed) = differing_run(text, &normal);
    StackError::at(
        path,
        source,
        offset,
        format!(
            "this string is not in Unicode normalization form C: OpenTofu reads {} as {}, so tofu would \
             receive other text than the stack file holds",
            code_points(written),
            code_points(composed)
        ),
    )
    .with_hint(format!(
        "write {} instead (the same text in NFC); `uconv -x any-nfc` converts a whole file",
        code_points(composed)
    ))
}

/// The parts of `original` and `normal` between their longest common prefix and suffix.
fn differing_run<'a>(original: &'a str, normal: &'a str) -> (&'a str, &'a str) {
    let prefix: usize = original
        .chars()
        .zip(normal.chars())
        .take_while(|(left, right)| left == right)
        .map(|(character, _)| character.len_utf8())
        .sum();
    let (original, normal) = (&original[prefix..], &normal[prefix..]);
    let suffix: usize = original
        .chars()
        .rev()
        .zip(normal.chars().rev())
        .take_while(|(left, right)| left == right)
        .map(|(character, _)| character.len_utf8())
        .sum();
    (
        &original[..original.len() - suffix],
        &normal[..normal.len() - suffix],
    )
}

/// `U+0065 U+0301`: characters by code point, since the two forms of a text often look alike.
fn code_points(text: &str) -> String {
    text.chars()
        .map(|character| format!("U+{:04X}", u32::from(character)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use toml::de::DeTable;

    use super::check_normal_form;

    fn check(source: &str) -> Result<(), String> {
        let document = DeTable::parse(source).unwrap();
        check_normal_form(Path::new("stacks/s.toml"), source, document.get_ref())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn strings_and_keys_in_nfc_pass_at_any_depth() {
        check("a = \"é€🦀 丽\"\n[t]\nlist = [\"ü\", { \"ké\" = [\"ñ\"] }]\n").unwrap();
    }

    #[test]
    fn a_decomposed_value_is_refused_where_it_is_written_with_its_composed_form() {
        let error =
            check("name = \"ok\"\n[t]\nlist = [\"x\", { k = [\"cafe\\u0301 au lait\"] }]\n")
                .unwrap_err();
        assert!(
            error.starts_with(
                "stacks/s.toml:3:21: this string is not in Unicode normalization form C"
            ) && error.contains("reads U+0065 U+0301 as U+00E9,")
                && error.contains("hint: write U+00E9 instead"),
            "{error}"
        );
    }

    #[test]
    fn a_compatibility_ideograph_in_a_key_is_refused_at_the_key() {
        let error = check("[inputs]\n\"\u{2F800}\" = \"x\"\n").unwrap_err();
        assert!(
            error.starts_with("stacks/s.toml:2:1:") && error.contains("reads U+2F800 as U+4E3D"),
            "{error}"
        );
    }
}
