//! Presenting reports: human text or versioned JSON on stdout, chosen once per invocation; and tofu's progress
//! on stderr while it runs (`progress`).

mod human;
mod json;
mod progress;

pub use progress::stderr_progress;

use crate::commands::Report;
use crate::settings::OutputFormat;

/// The version of the JSON report format; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 2;

/// The stdout text for a report.
pub fn render(report: &Report, format: OutputFormat) -> String {
    match format {
        OutputFormat::Human => human::render(report),
        OutputFormat::Json => json::render(report),
    }
}

/// The stdout text for a failed command under `--output json` (humans get the error on stderr only).
pub fn render_error(
    command: &str,
    error: &crate::error::Error,
    format: OutputFormat,
) -> Option<String> {
    (format == OutputFormat::Json).then(|| json::render_error(command, error))
}

/// The `--version` text.
pub fn version(info: &crate::commands::VersionInfo) -> String {
    use crate::commands::EngineFound;
    let engine = match &info.engine {
        EngineFound::Found(binary) => format!(
            "{} {} (`{}`)",
            binary.kind.name(),
            binary.version,
            binary.path.display()
        ),
        EngineFound::NotFound => "not found".to_string(),
        EngineFound::Unusable { path, why } => {
            format!("not usable: `{}`: {why}", path.display())
        }
    };
    format!(
        "wildside-tofu {}\ncommit: {}\nmodules: {}\nengine: {engine}\n",
        info.tool, info.commit, info.modules
    )
}

/// A count and its noun, singular for exactly one: `count(1, "change")` is `1 change`, `count(0, "change")` is
/// `0 changes`. For nouns whose plural adds an `s`, as every noun the views count does.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_any_other_count_plural() {
        assert_eq!(count(1, "change"), "1 change");
        assert_eq!(count(0, "change"), "0 changes");
        assert_eq!(count(2, "resource"), "2 resources");
    }
}
