//! Validation of the Vault sections: `[vault]`, `[secrets]`, `[outputs_to_vault]` and module `secret_inputs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

use super::error::StackError;
use super::load::{RawModule, RawSecret, RawVault};
use super::model::{
    Credential, ModuleInstance, SecretInput, SecretSource, StackOutput, VaultAuth, VaultOutput,
    VaultSettings,
};
use super::validate::{Checker, is_identifier};

fn text(field: &Option<Spanned<String>>) -> Option<String> {
    field.as_ref().map(|value| value.get_ref().clone())
}

impl Checker<'_> {
    pub(super) fn vault(&self, spanned: &Spanned<RawVault>) -> Result<VaultSettings, StackError> {
        let raw = spanned.get_ref();
        let address = raw.address.get_ref().trim();
        let host = address
            .strip_prefix("https://")
            .or_else(|| address.strip_prefix("http://"));
        if host.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
            return Err(self
                .error(&raw.address, format!("`{address}` is not a Vault address"))
                .with_hint("write the full URL, such as `https://vault.example:8200`"));
        }
        let auth = match raw
            .auth
            .as_ref()
            .map_or("token", |auth| auth.get_ref().as_str())
        {
            "token" => {
                self.reject_approle_fields(raw)?;
                VaultAuth::Token {
                    token_env: text(&raw.token_env).unwrap_or_else(|| "VAULT_TOKEN".into()),
                }
            }
            "approle" => VaultAuth::AppRole {
                mount: text(&raw.approle_mount).unwrap_or_else(|| "approle".into()),
                role_id: self.credential(
                    &raw.role_id_env,
                    &raw.role_id_file,
                    "role_id",
                    "VAULT_ROLE_ID",
                )?,
                secret_id: self.credential(
                    &raw.secret_id_env,
                    &raw.secret_id_file,
                    "secret_id",
                    "VAULT_SECRET_ID",
                )?,
            },
            other => {
                let at = raw.auth.as_ref().expect("a non-default auth was written");
                let error = self.error(at, format!("unknown Vault auth method `{other}`"));
                return Err(error.suggesting(
                    other,
                    ["token", "approle"],
                    "supported: token, approle",
                ));
            }
        };
        Ok(VaultSettings {
            address: address.trim_end_matches('/').to_string(),
            ca_cert: text(&raw.ca_cert).map(PathBuf::from),
            namespace: text(&raw.namespace),
            mount: self.kv_path(raw.mount.as_ref(), "secret")?,
            path_prefix: self.kv_path(raw.path_prefix.as_ref(), "wildside")?,
            auth,
            // Settled once `[policy]` is read (see `validate`).
            pull_request_plans: raw
                .pull_request_plans
                .as_ref()
                .is_none_or(|allowed| *allowed.get_ref()),
        })
    }

    fn reject_approle_fields(&self, raw: &RawVault) -> Result<(), StackError> {
        let approle_fields = [
            &raw.approle_mount,
            &raw.role_id_env,
            &raw.role_id_file,
            &raw.secret_id_env,
            &raw.secret_id_file,
        ];
        match approle_fields.into_iter().flatten().next() {
            Some(field) => Err(self
                .error(field, "AppRole settings need `auth = \"approle\"`")
                .with_hint("add `auth = \"approle\"` to [vault], or remove the AppRole settings")),
            None => Ok(()),
        }
    }

    fn credential(
        &self,
        env: &Option<Spanned<String>>,
        file: &Option<Spanned<String>>,
        what: &str,
        default_env: &str,
    ) -> Result<Credential, StackError> {
        match (env, file) {
            (Some(_), Some(file)) => Err(self
                .error(file, format!("`{what}_env` and `{what}_file` are both set"))
                .with_hint(format!("keep one source for the {what}"))),
            (_, Some(file)) => Ok(Credential::File(PathBuf::from(file.get_ref()))),
            (Some(env), None) => Ok(Credential::Env(env.get_ref().clone())),
            (None, None) => Ok(Credential::Env(default_env.to_string())),
        }
    }

    /// A KV mount or path prefix: slash-separated segments, no leading or trailing slash.
    fn kv_path(
        &self,
        value: Option<&Spanned<String>>,
        default: &str,
    ) -> Result<String, StackError> {
        let Some(value) = value else {
            return Ok(default.to_string());
        };
        let path = value.get_ref().trim_matches('/');
        if path.is_empty()
            || path
                .split('/')
                .any(|segment| segment.is_empty() || segment.contains(char::is_whitespace))
        {
            return Err(self
                .error(value, format!("`{}` is not a Vault path", value.get_ref()))
                .with_hint("use segments like `secret` or `teams/wildside`"));
        }
        Ok(path.to_string())
    }

    pub(super) fn secrets(
        &self,
        raw: &BTreeMap<Spanned<String>, Spanned<RawSecret>>,
    ) -> Result<Vec<SecretInput>, StackError> {
        raw.iter()
            .map(|(name, secret)| {
                let variable = self.identifier(name, "secret")?;
                let secret = secret.get_ref();
                let path = self.kv_path(Some(&secret.path), "")?;
                if secret.key.get_ref().is_empty() {
                    return Err(self
                        .error(&secret.key, "the secret `key` is empty")
                        .with_hint("name the key inside the KV secret, such as `token`"));
                }
                let plan = match &secret.plan {
                    Some(plan) => {
                        let plan = plan.get_ref();
                        if plan.key.get_ref().is_empty() {
                            return Err(self
                                .error(&plan.key, "the secret `key` is empty")
                                .with_hint("name the key inside the KV secret, such as `token`"));
                        }
                        Some(SecretSource {
                            path: self.kv_path(Some(&plan.path), "")?,
                            key: plan.key.get_ref().clone(),
                        })
                    }
                    None => None,
                };
                Ok(SecretInput {
                    variable,
                    path,
                    key: secret.key.get_ref().clone(),
                    plan,
                })
            })
            .collect()
    }

    pub(super) fn secret_inputs(
        &self,
        raw: &RawModule,
        module: &ModuleInstance,
        secrets: &[SecretInput],
    ) -> Result<BTreeMap<String, String>, StackError> {
        let mut wired = BTreeMap::new();
        for (input, secret) in &raw.secret_inputs {
            let input_name = self.identifier(input, "input")?;
            if module.inputs.contains_key(&input_name) {
                return Err(self
                    .error(
                        input,
                        format!("input `{input_name}` is set in both `inputs` and `secret_inputs`"),
                    )
                    .with_hint("keep it in one of them"));
            }
            if !secrets
                .iter()
                .any(|declared| declared.variable == *secret.get_ref())
            {
                let error = self.error(
                    secret,
                    format!("`{}` is not declared in [secrets]", secret.get_ref()),
                );
                let declare = format!(
                    "declare it: [secrets] {} = {{ path = \"...\", key = \"...\" }}",
                    secret.get_ref()
                );
                return Err(error.suggesting(
                    secret.get_ref(),
                    secrets.iter().map(|s| s.variable.as_str()),
                    declare,
                ));
            }
            wired.insert(input_name, secret.get_ref().clone());
        }
        Ok(wired)
    }

    pub(super) fn outputs_to_vault(
        &self,
        raw: &BTreeMap<Spanned<String>, Spanned<String>>,
        outputs: &[StackOutput],
    ) -> Result<Vec<VaultOutput>, StackError> {
        raw.iter()
            .map(|(name, path)| {
                if !is_identifier(name.get_ref())
                    || !outputs.iter().any(|output| output.name == *name.get_ref())
                {
                    let error = self.error(
                        name,
                        format!("`{}` is not an output of this stack", name.get_ref()),
                    );
                    let names = outputs.iter().map(|output| output.name.as_str());
                    return Err(error.suggesting(
                        name.get_ref(),
                        names,
                        "declare it in an [[outputs]] table first",
                    ));
                }
                Ok(VaultOutput {
                    output: name.get_ref().clone(),
                    path: self.kv_path(Some(path), "")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::stack::{CredentialRole, Stack, parse_stack};

    const MODULE: &str = "[[modules]]\nname = \"m\"\nsource = \"./m\"\n";

    fn parse(text: &str) -> Result<Stack, String> {
        let text = format!("[vault]\naddress = \"https://vault.example:8200\"\n{text}{MODULE}");
        parse_stack(Path::new("stacks/s.toml"), &text, &[]).map_err(|error| error.to_string())
    }

    #[test]
    fn a_secret_can_name_what_plans_read_instead() {
        let stack = parse(
            "[secrets]\ndo = { path = \"w/do\", key = \"token\", plan = { path = \"w/do-read\", key = \"read\" } }\nsame = { path = \"w/s\", key = \"k\" }\n",
        )
        .unwrap();
        let source = |name: &str, role| {
            let secret = stack.secrets.iter().find(|secret| secret.variable == name);
            secret.map(|secret| secret.source(role)).unwrap()
        };
        assert_eq!(source("do", CredentialRole::Plan), ("w/do-read", "read"));
        assert_eq!(source("do", CredentialRole::Apply), ("w/do", "token"));
        assert_eq!(source("same", CredentialRole::Plan), ("w/s", "k"));
        let error = parse(
            "[secrets]\ndo = { path = \"w/do\", key = \"t\", plan = { path = \"w/r\", key = \"\" } }\n",
        )
        .unwrap_err();
        assert!(error.contains("stacks/s.toml:4:"), "{error}");
        assert!(error.contains("the secret `key` is empty"), "{error}");
        let error =
            parse("[secrets]\ndo = { path = \"w/do\", key = \"t\", plan = { path = \"w/r\" } }\n")
                .unwrap_err();
        assert!(error.contains("missing field `key`"), "{error}");
    }

    #[test]
    fn production_stacks_are_not_planned_by_pull_requests_unless_they_say_so() {
        let allowed = |text: &str| parse(text).unwrap().vault.unwrap().pull_request_plans;
        assert!(allowed(""));
        assert!(!allowed("[policy]\nproduction = true\n"));
        assert!(!allowed("pull_request_plans = false\n"));
        assert!(allowed(
            "pull_request_plans = true\n[policy]\nproduction = true\n"
        ));
    }
}
