//! The last formatting pass, so rendered files are exactly what `tofu fmt` would write: runs of single-line
//! attributes at the same indent have their `=` aligned, and empty blocks are written `{}`.

/// Formats HCL text that hcl-rs produced.
pub(super) fn tofu_style(text: &str) -> String {
    let text = text.replace("{  }", "{}");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut group: Vec<(usize, &str, &str)> = Vec::new();
    for line in &lines {
        match single_line_attribute(line) {
            Some((indent, key, value)) if group.first().is_none_or(|first| first.0 == indent) => {
                group.push((indent, key, value))
            }
            Some(attribute) => {
                flush(&mut group, &mut out);
                group.push(attribute);
            }
            None => {
                flush(&mut group, &mut out);
                out.push((*line).to_string());
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
        out.push(format!("{}{key:<width$} = {value}", " ".repeat(indent)));
    }
}

/// `(indent, key, value)` of `key = value` when the value ends on the same line.
fn single_line_attribute(line: &str) -> Option<(usize, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let (key, value) = trimmed.split_once(" = ")?;
    let key_ok = if key.starts_with('"') {
        key.len() >= 2 && key.ends_with('"') && !key[1..key.len() - 1].contains('"')
    } else {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let opens_block = value.ends_with('{') || value.ends_with('[') || value.ends_with('(');
    (key_ok && !trimmed.starts_with('#') && !opens_block).then_some((indent, key, value))
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
}
