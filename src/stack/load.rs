//! Reading a stack file: TOML with spans, then validation into the model.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::StackError;
use super::gitops::RawGitops;
use super::model::Stack;
use super::normal_form::check_normal_form;
use super::platform::{RawCluster, RawDigitalOcean, RawNodePool, RawVaultAppliance, RawVpc};
use super::policy::{RawBudget, RawPolicy};
use super::validate::validate;

/// The stack file as written, with the position of every value kept for error messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStack {
    pub(super) backend: Option<Spanned<RawBackend>>,
    #[serde(default)]
    pub(super) modules: Vec<Spanned<RawModule>>,
    #[serde(default)]
    pub(super) outputs: Vec<Spanned<RawOutput>>,
    pub(super) vault: Option<Spanned<RawVault>>,
    #[serde(default)]
    pub(super) secrets: BTreeMap<Spanned<String>, Spanned<RawSecret>>,
    #[serde(default)]
    pub(super) outputs_to_vault: BTreeMap<Spanned<String>, Spanned<String>>,
    pub(super) preview: Option<Spanned<RawPreview>>,
    pub(super) digitalocean: Option<Spanned<RawDigitalOcean>>,
    pub(super) vpc: Option<Spanned<RawVpc>>,
    pub(super) cluster: Option<Spanned<RawCluster>>,
    #[serde(default)]
    pub(super) node_pools: Vec<Spanned<RawNodePool>>,
    pub(super) vault_appliance: Option<Spanned<RawVaultAppliance>>,
    pub(super) policy: Option<Spanned<RawPolicy>>,
    pub(super) budget: Option<Spanned<RawBudget>>,
    pub(super) encryption: Option<Spanned<RawEncryption>>,
    pub(super) gitops: Option<Spanned<RawGitops>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEncryption {
    pub(super) enabled: Option<Spanned<bool>>,
    pub(super) key: Option<Spanned<KeySource>>,
    pub(super) transit_mount: Option<Spanned<String>>,
}

/// Where an encrypting stack's key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum KeySource {
    Transit,
    Passphrase,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPreview {
    pub(super) max_concurrent: Option<Spanned<i64>>,
    pub(super) max_pins: Option<Spanned<i64>>,
    pub(super) ttl: Option<Spanned<String>>,
    pub(super) max_pin: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) vpc: Option<Spanned<String>>,
    pub(super) idle: Option<Spanned<String>>,
    pub(super) orphan_grace: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<super::model::PreviewKind>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVault {
    pub(super) address: Spanned<String>,
    pub(super) ca_cert: Option<Spanned<String>>,
    pub(super) namespace: Option<Spanned<String>>,
    pub(super) mount: Option<Spanned<String>>,
    pub(super) path_prefix: Option<Spanned<String>>,
    pub(super) auth: Option<Spanned<String>>,
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) approle_mount: Option<Spanned<String>>,
    pub(super) role_id_env: Option<Spanned<String>>,
    pub(super) role_id_file: Option<Spanned<String>>,
    pub(super) secret_id_env: Option<Spanned<String>>,
    pub(super) secret_id_file: Option<Spanned<String>>,
    pub(super) pull_request_plans: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecret {
    pub(super) path: Spanned<String>,
    pub(super) key: Spanned<String>,
    pub(super) plan: Option<Spanned<RawSecretSource>>,
}

/// The secret a plan reads instead (`plan = { path = "...", key = "..." }`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecretSource {
    pub(super) path: Spanned<String>,
    pub(super) key: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackend {
    #[serde(rename = "type")]
    pub(super) kind: Option<Spanned<String>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) bucket: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
    pub(super) region: Option<Spanned<String>>,
    pub(super) endpoint: Option<Spanned<String>>,
    pub(super) workspace_key_prefix: Option<Spanned<String>>,
    pub(super) use_lockfile: Option<Spanned<bool>>,
    pub(super) use_path_style: Option<Spanned<bool>>,
    pub(super) conn_str_env: Option<Spanned<String>>,
    pub(super) schema: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModule {
    pub(super) name: Spanned<String>,
    pub(super) source: Spanned<String>,
    #[serde(default)]
    pub(super) inputs: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) secret_inputs: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub(super) preview_inputs: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    pub(super) name: Spanned<String>,
    pub(super) from: Spanned<String>,
    #[serde(default)]
    pub(super) sensitive: bool,
}

/// Reads and validates `path`. `project_modules` lists the directories of the project's `modules/`.
pub fn load_stack(path: &Path, project_modules: &[String]) -> Result<Stack, StackError> {
    let bytes = std::fs::read(path).map_err(|error| StackError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read stack file: {error}"),
        hint: (error.kind() == std::io::ErrorKind::NotFound).then(|| {
            "stacks live in `stacks/<name>.toml`; `ls stacks/` shows the ones that exist".into()
        }),
    })?;
    let source = String::from_utf8(bytes).map_err(|error| not_utf8(path, &error))?;
    parse_stack(path, &source, project_modules)
}

/// Where `[secrets]` declares `variable` in the stack file `source`: `file:line:col`, for errors about the
/// secret found after loading (one Vault does not hold, say).
pub fn locate_secret(path: &Path, source: &str, variable: &str) -> Option<SourcePlace> {
    let raw: RawStack = toml::from_str(source).ok()?;
    let key = raw.secrets.keys().find(|key| key.get_ref() == variable)?;
    let located = StackError::at(path, source, key.span().start, "");
    Some(SourcePlace {
        file: located.file,
        line: located.line,
        column: located.column,
    })
}

/// A place in a stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlace {
    pub file: std::path::PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SourcePlace {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        )
    }
}

/// Locates the first byte that is not UTF-8: the line and column (in characters) of the text before it.
fn not_utf8(path: &Path, error: &std::string::FromUtf8Error) -> StackError {
    let bytes = error.as_bytes();
    let at = error.utf8_error().valid_up_to();
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    StackError::at(
        path,
        valid,
        at,
        format!(
            "the stack file is not UTF-8: byte 0x{:02x} here starts no UTF-8 character",
            bytes[at]
        ),
    )
    .with_hint("TOML files are UTF-8: save the file as UTF-8 (`iconv -f latin1 -t utf-8` converts Latin-1)")
}

/// Validates the text of a stack file; `path` names it in errors and gives the stack its name.
pub fn parse_stack(
    path: &Path,
    source: &str,
    project_modules: &[String],
) -> Result<Stack, StackError> {
    let document =
        toml::de::DeTable::parse(source).map_err(|error| toml_error(path, source, &error))?;
    check_normal_form(path, source, document.get_ref())?;
    let raw = RawStack::deserialize(toml::de::Deserializer::from(document))
        .map_err(|error| toml_error(path, source, &error))?;
    validate(path, source, raw, project_modules)
}

/// Turns a TOML or shape error into a located error, with a suggestion for misspelt keys.
fn toml_error(path: &Path, source: &str, error: &toml::de::Error) -> StackError {
    let offset = error.span().map_or(0, |span| span.start);
    let message = error.message().trim().to_string();
    let located = StackError::at(path, source, offset, message.replace('\n', " "));
    if let Some(unknown) = message.strip_prefix("unknown field `") {
        let typed = unknown.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = message
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        return located.suggesting(
            typed,
            expected.iter().copied(),
            format!("valid keys here: {}", expected.join(", ")),
        );
    }
    if message.starts_with("invalid type") {
        return located
            .with_hint("check the value's type: strings are quoted, numbers and booleans are not");
    }
    if let Some(missing) = message.strip_prefix("missing field `") {
        let field = missing.split('`').next().unwrap_or_default();
        return located.with_hint(format!("add `{field} = ...` to this table"));
    }
    located.with_hint("see `stacks/example.toml` for a valid stack file")
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::parse_stack;

    /// Lines that look like stack files: known and misspelt sections and keys, values of every TOML type,
    /// and some that are not TOML at all.
    fn stack_line() -> impl Strategy<Value = String> {
        let sections = prop_oneof![
            Just("[backend]"),
            Just("[digitalocean]"),
            Just("[vpc]"),
            Just("[cluster]"),
            Just("[[node_pools]]"),
            Just("[vault_appliance]"),
            Just("[vault]"),
            Just("[secrets]"),
            Just("[preview]"),
            Just("[[modules]]"),
            Just("[[outputs]]"),
            Just("[outputs_to_vault]"),
            Just("[clustre]"),
        ]
        .prop_map(str::to_string);
        let keys = prop_oneof![
            Just("type"),
            Just("region"),
            Just("cidr"),
            Just("name"),
            Just("size"),
            Just("count"),
            Just("autoscale"),
            Just("version"),
            Just("source"),
            Just("from"),
            Just("address"),
            Just("max_concurrent"),
            Just("ttl"),
            Just("api_allowed_cidrs"),
            Just("ssh_cidrs"),
            Just("reigon"),
        ];
        let values = prop_oneof![
            "\"[a-z0-9./:-]{0,12}\"",
            (-3i64..40).prop_map(|number| number.to_string()),
            Just("true".to_string()),
            Just("[\"10.0.0.0/16\", \"0.0.0.0/0\"]".to_string()),
            Just("{ min = 0, max = 3 }".to_string()),
            Just("{ min = 5, max = 1 }".to_string()),
            "[^\n]{0,8}",
        ];
        prop_oneof![
            sections,
            (keys, values).prop_map(|(key, value)| format!("{key} = {value}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the file says, loading it never panics, and a refusal points inside the file.
        #[test]
        fn any_stack_file_loads_or_is_refused_at_a_place_in_it(lines in proptest::collection::vec(stack_line(), 0..24)) {
            let source = lines.join("\n");
            let path = std::path::Path::new("stacks/fuzz.toml");
            if let Err(error) = parse_stack(path, &source, &["example".to_string()]) {
                let line_count = source.lines().count().max(1);
                prop_assert!(error.line <= line_count + 1, "line {} of {line_count}: {}", error.line, error.message);
                prop_assert!(!error.message.is_empty());
            }
        }
    }
}
