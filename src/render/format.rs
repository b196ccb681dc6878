//! The last formatting pass, so rendered files are exactly what `tofu fmt` would write: runs of single-line
//! attributes at the same indent have their `=` aligned, and empty blocks are written `{}`.
//!
//! The pass only ever changes spaces outside string literals. hcl-rs writes every string on one line (newlines
//! are escaped), so each line is read on its own: a key is an identifier or a whole quoted string, and braces
//! count only where no string is open.

/// Formats HCL text that hcl-rs produced.
pub(super) fn tofu_style(text: &str) -> String {
    let mut out = Vec::new();
    let mut group: Vec<(usize, &str, &str)> = Vec::new();
    for line in text.lines() {
        match single_line_attribute(line) {
            Some((indent, key, value)) if group.first().is_none_or(|first| first.0 == indent) => {
                group.push((indent, key, value));
            }
            Some(attribute) => {
                flush(&mut group, &mut out);
                group.push(attribute);
            }
            None => {
                flush(&mut group, &mut out);
                out.push(collapse_empty_block(line));
            }
        }
    }
    flush(&mut group, &mut out);
    let mut formatted = out.join("\n");
    if text.ends_with('\n') {
        formatted.push('\n');
    }
    formatted
}

fn flush(group: &mut Vec<(usize, &str, &str)>, out: &mut Vec<String>) {
    let width = group
        .iter()
        .map(|(_, key, _)| key.chars().count())
        .max()
        .unwrap_or(0);
    for (indent, key, value) in group.drain(..) {
        out.push(collapse_empty_block(&format!(
            "{}{key:<width$} = {value}",
            " ".repeat(indent)
        )));
    }
}

/// A line ending in an empty block or object, `label "x" {  }`, as `label "x" {}`. A `{  }` inside a string
/// stays.
fn collapse_empty_block(line: &str) -> String {
    match line.strip_suffix("{  }") {
        Some(head) if !ends_inside_string(head) => format!("{head}{{}}"),
        _ => line.to_string(),
    }
}

/// Whether a string literal is still open at the end of `text` (a whole line or the start of one).
fn ends_inside_string(text: &str) -> bool {
    let mut open = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => open = !open,
            '\\' if open => {
                chars.next();
            }
            _ => {}
        }
    }
    open
}

/// The length of the quoted string literal at the start of `text`, if it starts with one.
fn quoted_len(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some(index + 1),
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    None
}

/// `(indent, key, value)` of `key = value` when the value ends on the same line; the key is an identifier or
/// one quoted string.
fn single_line_attribute(line: &str) -> Option<(usize, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let key_len = quoted_len(trimmed).unwrap_or_else(|| {
        trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(trimmed.len())
    });
    let (key, rest) = trimmed.split_at(key_len);
    let value = rest.strip_prefix(" = ")?;
    let opens_block = !ends_inside_string(value)
        && (value.ends_with('{') || value.ends_with('[') || value.ends_with('('));
    (!key.is_empty() && !opens_block).then_some((indent, key, value))
}

#[cfg(test)]
mod tests {
    use super::tofu_style;

    #[test]
    fn aligns_runs_of_single_line_attributes_like_tofu_fmt() {
        let text = "module \"a\" {\n  source = \"x\"\n  cluster = 1\n  nested = {\n    \"k\" = 1\n    \"long\" = 2\n  }\n  s = 2\n}\nbackend \"s3\" {  }\n";
        let expected = "module \"a\" {\n  source  = \"x\"\n  cluster = 1\n  nested = {\n    \"k\"    = 1\n    \"long\" = 2\n  }\n  s = 2\n}\nbackend \"s3\" {}\n";
        assert_eq!(tofu_style(text), expected);
    }

    #[test]
    fn strings_are_left_alone() {
        let text =
            "v = [\n  \"a\\\" = b\",\n  \"abc\\\" = b\",\n  \"keep {  }\"\n]\nw = \"x {  }\"\n";
        assert_eq!(tofu_style(text), text);
    }
}
