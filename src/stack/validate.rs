//! Checks that go beyond the TOML shape: names, references, backend settings and module sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::StackError;
use super::load::{RawBackend, RawModule, RawOutput, RawStack};
use super::model::{Backend, InputValue, ModuleInstance, ModuleSource, Stack, StackOutput};
use super::platform::{Platform, RawPlatform};

/// Validation context: the file being checked and its text, to locate errors.
pub(super) struct Checker<'a> {
    pub(super) path: &'a Path,
    pub(super) source: &'a str,
}

impl Checker<'_> {
    pub(super) fn error<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> StackError {
        StackError::at(self.path, self.source, spanned.span().start, message)
    }
}

pub(super) fn validate(
    path: &Path,
    source: &str,
    raw: RawStack,
    project_modules: &[String],
) -> Result<Stack, StackError> {
    let checker = Checker { path, source };
    let name = stack_name(path).ok_or_else(|| {
        StackError::at(path, source, 0, "the stack file name is not a valid stack name")
            .with_hint("name stack files with lowercase letters, digits, `-` and `_`, such as `stacks/dev.toml`")
    })?;
    let backend = match &raw.backend {
        Some(backend) => checker.backend(backend, &name)?,
        None => Backend::Local { path: None },
    };
    let platform = checker.platform(
        &RawPlatform {
            digitalocean: raw.digitalocean.as_ref(),
            vpc: raw.vpc.as_ref(),
            cluster: raw.cluster.as_ref(),
            node_pools: &raw.node_pools,
            vault_appliance: raw.vault_appliance.as_ref(),
        },
        &name,
        raw.preview.is_some(),
    )?;
    let namespace_preview = raw.preview.as_ref().is_some_and(|preview| {
        preview
            .get_ref()
            .kind
            .as_ref()
            .is_some_and(|kind| *kind.get_ref() == super::PreviewKind::Namespace)
    });
    let gitops = raw
        .gitops
        .as_ref()
        .map(|gitops| checker.gitops(gitops, &name))
        .transpose()?;
    if namespace_preview {
        checker.namespace_preview(&raw, gitops.as_ref(), platform.is_some())?;
    } else if raw.modules.is_empty() && platform.is_none() {
        return Err(
            StackError::at(path, source, source.len(), "the stack has no modules")
                .with_hint("add [digitalocean] with a `region`, or a module instance: [[modules]] with `name` and `source`"),
        );
    }
    if raw.vault.is_none()
        && let Some(first) = raw.secrets.keys().chain(raw.outputs_to_vault.keys()).next()
    {
        return Err(checker
            .error(
                first,
                "`[secrets]` and `[outputs_to_vault]` need a `[vault]` section",
            )
            .with_hint("add [vault] with at least `address = \"https://vault.example:8200\"`"));
    }
    let mut vault = raw
        .vault
        .as_ref()
        .map(|vault| checker.vault(vault))
        .transpose()?;
    let secrets = checker.secrets(&raw.secrets)?;
    let mut modules = Vec::new();
    for module in &raw.modules {
        if modules
            .iter()
            .any(|seen: &ModuleInstance| seen.name == *module.get_ref().name.get_ref())
        {
            let name = &module.get_ref().name;
            return Err(checker
                .error(
                    name,
                    format!("module `{}` is declared twice", name.get_ref()),
                )
                .with_hint("give each [[modules]] entry a unique `name`"));
        }
        let mut instance = checker.module(module.get_ref(), project_modules)?;
        instance.secret_inputs = checker.secret_inputs(module.get_ref(), &instance, &secrets)?;
        instance.preview_inputs =
            checker.preview_inputs(module.get_ref(), &instance, raw.preview.is_some())?;
        modules.push(instance);
    }
    check_unique_outputs(&checker, &raw.outputs)?;
    // Platform sections render as module calls too, and stack outputs may come from them.
    let platform_modules: Vec<&str> = platform
        .iter()
        .flat_map(Platform::calls)
        .map(|call| call.name)
        .collect();
    if let Some(clash) = raw
        .modules
        .iter()
        .find(|module| platform_modules.contains(&module.get_ref().name.get_ref().as_str()))
    {
        let name = &clash.get_ref().name;
        return Err(checker
            .error(
                name,
                format!(
                    "module name `{}` is taken by the platform sections",
                    name.get_ref()
                ),
            )
            .with_hint("rename the [[modules]] entry"));
    }
    let known_modules: Vec<&str> = modules
        .iter()
        .map(|module| module.name.as_str())
        .chain(platform_modules.iter().copied())
        .collect();
    let outputs: Vec<StackOutput> = raw
        .outputs
        .iter()
        .map(|output| checker.output(output.get_ref(), &known_modules))
        .collect::<Result<_, _>>()?;
    let outputs_to_vault = checker.outputs_to_vault(&raw.outputs_to_vault, &outputs)?;
    let preview = raw
        .preview
        .as_ref()
        .map(|preview| checker.preview(preview, vault.is_some()))
        .transpose()?;
    if preview.is_some()
        && let Some(appliance) = &raw.vault_appliance
    {
        return Err(checker
            .error(
                appliance,
                "a preview stack cannot have a `[vault_appliance]`: every pull request would get its own Vault",
            )
            .with_hint("keep the appliance in the platform's stack; previews store their outputs in its Vault through [vault]"));
    }
    if let Some(preview) = &preview
        && let Some(platform) = &platform
    {
        let mut suffixed = vec![(super::CLUSTER, &platform.cluster.name)];
        if preview.vpc == super::PreviewVpc::PerPullRequest {
            suffixed.push((super::VPC, &platform.vpc.name));
        }
        for (call, name) in suffixed {
            if name.len() + super::PREVIEW_NAME_SUFFIX > call.longest_name {
                return Err(StackError::at(
                    path,
                    source,
                    0,
                    format!(
                        "the {} name `{name}` is too long for previews: each pull request's is `{name}-pr-<n>`, and module `{}` takes names of up to {} characters",
                        call.name, call.module, call.longest_name
                    ),
                )
                .with_hint(format!(
                    "give [{}] a `name` of at most {} characters",
                    call.name,
                    call.longest_name - super::PREVIEW_NAME_SUFFIX
                )));
            }
        }
    }
    let policy = checker.policy(raw.policy.as_ref())?;
    if let (Some(settings), Some(raw_vault)) = (vault.as_mut(), raw.vault.as_ref()) {
        settings.pull_request_plans = raw_vault
            .get_ref()
            .pull_request_plans
            .as_ref()
            .map_or(!policy.production, |allowed| *allowed.get_ref());
    }
    let budget = checker.budget(raw.budget.as_ref())?;
    let encryption = checker.encryption(raw.encryption.as_ref(), vault.as_ref(), &name)?;
    checker.key_outside_its_vault(
        &encryption,
        raw.encryption.as_ref(),
        raw.vault.as_ref(),
        platform
            .as_ref()
            .and_then(|platform| platform.vault_appliance.as_ref()),
    )?;
    Ok(Stack {
        encryption,
        name,
        file: path.to_path_buf(),
        backend,
        modules,
        outputs,
        vault,
        secrets,
        outputs_to_vault,
        preview,
        platform,
        policy,
        budget,
        gitops,
    })
}

fn stack_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let valid = !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    valid.then(|| stem.to_string())
}

pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_unique_outputs(
    checker: &Checker<'_>,
    outputs: &[Spanned<RawOutput>],
) -> Result<(), StackError> {
    let mut seen = BTreeSet::new();
    for output in outputs {
        let name = &output.get_ref().name;
        if !seen.insert(name.get_ref().as_str()) {
            return Err(checker
                .error(
                    name,
                    format!("output `{}` is declared twice", name.get_ref()),
                )
                .with_hint("give each [[outputs]] entry a unique `name`"));
        }
    }
    Ok(())
}

impl Checker<'_> {
    pub(super) fn identifier(
        &self,
        name: &Spanned<String>,
        what: &str,
    ) -> Result<String, StackError> {
        if is_identifier(name.get_ref()) {
            Ok(name.get_ref().clone())
        } else {
            Err(self
                .error(
                    name,
                    format!("`{}` is not a valid {what} name", name.get_ref()),
                )
                .with_hint("use letters, digits, `_` and `-`, starting with a letter"))
        }
    }

    fn module(
        &self,
        raw: &RawModule,
        project_modules: &[String],
    ) -> Result<ModuleInstance, StackError> {
        let name = self.identifier(&raw.name, "module")?;
        let source = self.module_source(&raw.source, project_modules)?;
        let mut inputs = BTreeMap::new();
        for (key, value) in &raw.inputs {
            let key_name = self.identifier(key, "input")?;
            inputs.insert(key_name, self.input_value(value, value.get_ref())?);
        }
        Ok(ModuleInstance {
            secret_inputs: BTreeMap::new(),
            preview_inputs: BTreeMap::new(),
            name,
            source,
            inputs,
        })
    }

    fn module_source(
        &self,
        source: &Spanned<String>,
        project_modules: &[String],
    ) -> Result<ModuleSource, StackError> {
        let text = source.get_ref().trim();
        if text.is_empty() {
            return Err(self.error(source, "module `source` is empty")
                .with_hint("name a directory of `modules/` (such as \"example\") or any source OpenTofu accepts"));
        }
        let looks_external = text.contains(['/', ':', '.']);
        if looks_external {
            return Ok(ModuleSource::External(text.to_string()));
        }
        if project_modules.iter().any(|module| module == text) {
            return Ok(ModuleSource::Project(text.to_string()));
        }
        let error = self.error(
            source,
            format!("module `{text}` is not a directory of `modules/`"),
        );
        Err(error.suggesting(
            text,
            project_modules.iter().map(String::as_str),
            format!("project modules: {}", project_modules.join(", ")),
        ))
    }

    fn input_value(
        &self,
        at: &Spanned<toml::Value>,
        value: &toml::Value,
    ) -> Result<InputValue, StackError> {
        Ok(match value {
            toml::Value::String(text) => InputValue::String(text.clone()),
            toml::Value::Integer(number) => InputValue::Integer(*number),
            toml::Value::Float(number) if number.is_finite() => InputValue::Float(*number),
            toml::Value::Float(_) => {
                return Err(self
                    .error(at, "module inputs cannot be `inf` or `nan`")
                    .with_hint("use a finite number"));
            }
            toml::Value::Boolean(flag) => InputValue::Bool(*flag),
            toml::Value::Datetime(_) => {
                return Err(self
                    .error(at, "module inputs cannot be TOML dates")
                    .with_hint("quote the date to pass it as a string"));
            }
            toml::Value::Array(items) => InputValue::List(
                items
                    .iter()
                    .map(|item| self.input_value(at, item))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(table) => InputValue::Map(
                table
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), self.input_value(at, item)?)))
                    .collect::<Result<_, StackError>>()?,
            ),
        })
    }

    fn output(&self, raw: &RawOutput, modules: &[&str]) -> Result<StackOutput, StackError> {
        let name = self.identifier(&raw.name, "output")?;
        let reference = raw.from.get_ref();
        let Some((module, output)) = reference
            .split_once('.')
            .filter(|(m, o)| is_identifier(m) && is_identifier(o))
        else {
            return Err(self
                .error(
                    &raw.from,
                    format!("`{reference}` is not a module output reference"),
                )
                .with_hint("write `from = \"<module name>.<output name>\"`"));
        };
        if !modules.contains(&module) {
            let error = self.error(
                &raw.from,
                format!(
                    "output `{name}` refers to module `{module}`, which the stack does not declare"
                ),
            );
            return Err(error.suggesting(
                module,
                modules.iter().copied(),
                "declare the module in a [[modules]] table first",
            ));
        }
        Ok(StackOutput {
            name,
            module: module.to_string(),
            output: output.to_string(),
            sensitive: raw.sensitive,
        })
    }

    fn backend(&self, spanned: &Spanned<RawBackend>, stack: &str) -> Result<Backend, StackError> {
        let raw = spanned.get_ref();
        let kind = raw
            .kind
            .as_ref()
            .map_or("local", |kind| kind.get_ref().as_str());
        let allowed: &[&str] = match kind {
            "local" => &["path"],
            "s3" => &[
                "bucket",
                "key",
                "region",
                "endpoint",
                "workspace_key_prefix",
                "use_lockfile",
                "use_path_style",
            ],
            "pg" => &["conn_str_env", "schema"],
            other => {
                let at = raw.kind.as_ref().expect("a non-default kind was written");
                let error = self.error(at, format!("unknown backend type `{other}`"));
                return Err(error.suggesting(
                    other,
                    ["local", "s3", "pg"],
                    "supported backends: local, s3, pg",
                ));
            }
        };
        self.only_fields(raw, kind, allowed)?;
        let text =
            |field: &Option<Spanned<String>>| field.as_ref().map(|value| value.get_ref().clone());
        match kind {
            "local" => Ok(Backend::Local {
                path: text(&raw.path).map(PathBuf::from),
            }),
            "s3" => {
                let bucket = raw.bucket.as_ref().ok_or_else(|| {
                    self.error(spanned, "the s3 backend needs a `bucket`")
                        .with_hint("add `bucket = \"<bucket name>\"` to [backend]")
                })?;
                if let Some(endpoint) = &raw.endpoint
                    && !(endpoint.get_ref().starts_with("http://")
                        || endpoint.get_ref().starts_with("https://"))
                {
                    return Err(self.error(endpoint, "the s3 `endpoint` must be an http:// or https:// URL")
                        .with_hint("for DigitalOcean Spaces: endpoint = \"https://nyc3.digitaloceanspaces.com\""));
                }
                Ok(Backend::S3 {
                    bucket: bucket.get_ref().clone(),
                    key: text(&raw.key).unwrap_or_else(|| format!("{stack}/terraform.tfstate")),
                    region: text(&raw.region).unwrap_or_else(|| "us-east-1".into()),
                    endpoint: text(&raw.endpoint),
                    workspace_key_prefix: text(&raw.workspace_key_prefix)
                        .unwrap_or_else(|| "workspaces".into()),
                    use_lockfile: raw.use_lockfile.as_ref().is_none_or(|flag| *flag.get_ref()),
                    use_path_style: raw
                        .use_path_style
                        .as_ref()
                        .is_some_and(|flag| *flag.get_ref()),
                })
            }
            _ => {
                let schema = match &raw.schema {
                    Some(schema) => self.identifier(schema, "schema")?,
                    None => stack.replace('-', "_"),
                };
                let conn_str_env = text(&raw.conn_str_env).unwrap_or_else(|| "PG_CONN_STR".into());
                Ok(Backend::Pg {
                    conn_str_env,
                    schema,
                })
            }
        }
    }

    /// Rejects settings that belong to another backend type, naming the type they belong to.
    fn only_fields(
        &self,
        raw: &RawBackend,
        kind: &str,
        allowed: &[&str],
    ) -> Result<(), StackError> {
        let present: [(&str, Option<usize>); 10] = [
            ("path", raw.path.as_ref().map(|v| v.span().start)),
            ("bucket", raw.bucket.as_ref().map(|v| v.span().start)),
            ("key", raw.key.as_ref().map(|v| v.span().start)),
            ("region", raw.region.as_ref().map(|v| v.span().start)),
            ("endpoint", raw.endpoint.as_ref().map(|v| v.span().start)),
            (
                "workspace_key_prefix",
                raw.workspace_key_prefix.as_ref().map(|v| v.span().start),
            ),
            (
                "use_lockfile",
                raw.use_lockfile.as_ref().map(|v| v.span().start),
            ),
            (
                "use_path_style",
                raw.use_path_style.as_ref().map(|v| v.span().start),
            ),
            (
                "conn_str_env",
                raw.conn_str_env.as_ref().map(|v| v.span().start),
            ),
            ("schema", raw.schema.as_ref().map(|v| v.span().start)),
        ];
        for (field, offset) in present {
            if let Some(offset) = offset
                && !allowed.contains(&field)
            {
                return Err(StackError::at(
                    self.path,
                    self.source,
                    offset,
                    format!("`{field}` is not a setting of the {kind} backend"),
                )
                .with_hint(format!(
                    "settings of the {kind} backend: {}",
                    allowed.join(", ")
                )));
            }
        }
        Ok(())
    }
}
