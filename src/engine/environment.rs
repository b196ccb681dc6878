//! tofu's environment is an allow-list, never wildside-tofu's own environment passed down.
//!
//! Whatever tofu's environment holds, every provider it starts and every `local-exec` a module runs can read:
//! wildside-tofu's own credentials (`VAULT_TOKEN`, `VAULT_ROLE_ID`, `VAULT_SECRET_ID`, `GITHUB_TOKEN`), the
//! state and plan passphrases (`WILDSIDE_STATE_PASSPHRASE`, `WILDSIDE_PLAN_PASSPHRASE`) and anything else a CI job exports must not be there. So the
//! child starts from an empty environment and gets, from wildside-tofu's:
//! - what any program needs: `PATH`, `HOME`, `USER`, `LOGNAME`, `TMPDIR`, `TZ`, `LANG`, `LANGUAGE`, `LC_*`,
//!   the proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, `ALL_PROXY`, upper or lower case) and the
//!   CA bundle (`SSL_CERT_FILE`, `SSL_CERT_DIR`);
//! - tofu's own logging when asked for (`TF_LOG`, `TF_LOG_CORE`, `TF_LOG_PROVIDER`, `TF_LOG_PATH`) and the
//!   user's CLI configuration (`TF_CLI_CONFIG_FILE`, `TF_PLUGIN_CACHE_DIR`) where wildside-tofu sets none;
//! - the credentials of the stack's backend: `AWS_*` for s3 (Spaces keys as the AWS SDK reads them), `PG*`
//!   for pg (libpq's settings; the connection string itself is set as `PG_CONN_STR` from the variable the
//!   stack names);
//! - the DigitalOcean provider's credentials (`DIGITALOCEAN_*`, `SPACES_*`), except with `--sandbox`, where
//!   the provider gets the sandbox's URL and token and nothing real;
//! - for a preview stack, `TF_VAR_` of its preview variables (`commit_sha`, say), which a run other than
//!   `preview up` (a `plan -w pr-7` looking for drift) takes from the environment; `preview up` sets its own.
//!
//! Everything else tofu gets is set by wildside-tofu itself, per command: `TF_IN_AUTOMATION`, `TF_INPUT`,
//! `CHECKPOINT_DISABLE`, `TF_WORKSPACE`, `TF_CLI_CONFIG_FILE` and `TF_PLUGIN_CACHE_DIR` when configured, the
//! root's `TF_VAR_*` (the stack's variables and the secrets read from Vault), `TF_ENCRYPTION` with what its key
//! provider needs (for transit, `BAO_TOKEN`, a token of the run's own endpoint, never the Vault token; the one-time plan key for
//! `wildside-tofu plan-key`, the socket and token through which `wildside-tofu state-key` borrows a passphrase
//! from the run), and `PG_CONN_STR`.

use std::ffi::OsString;

/// Variables inherited by exact name.
const NAMES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "TZ",
    "LANG",
    "LANGUAGE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TF_LOG",
    "TF_LOG_CORE",
    "TF_LOG_PROVIDER",
    "TF_LOG_PATH",
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
];

/// Variables inherited by prefix, whatever the stack.
const PREFIXES: &[&str] = &["LC_"];

/// The DigitalOcean provider's credentials and settings.
const PROVIDER_PREFIXES: &[&str] = &["DIGITALOCEAN_", "SPACES_"];

/// Whose credentials the stack's backend reads from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendCredentials {
    /// A local backend reads none.
    #[default]
    None,
    /// s3: `AWS_*`.
    Aws,
    /// pg: libpq's `PG*`.
    Postgres,
}

/// Which groups of wildside-tofu's own environment tofu inherits, beyond what every program needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inherit {
    pub backend: BackendCredentials,
    /// The DigitalOcean provider's credentials (off with `--sandbox`).
    pub provider_credentials: bool,
    /// Root variables whose `TF_VAR_<name>` is inherited (a preview stack's preview variables).
    pub variables: &'static [&'static str],
}

impl Inherit {
    fn allows(self, name: &str) -> bool {
        NAMES.contains(&name)
            || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
            || (self.provider_credentials
                && PROVIDER_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix)))
            || name
                .strip_prefix("TF_VAR_")
                .is_some_and(|variable| self.variables.contains(&variable))
            || match self.backend {
                BackendCredentials::None => false,
                BackendCredentials::Aws => name.starts_with("AWS_"),
                BackendCredentials::Postgres => name.starts_with("PG"),
            }
    }

    /// The values of the credentials among what tofu inherits of `parent` (the provider's and the backend's),
    /// to mask in what is relayed from tofu.
    pub(crate) fn credentials(
        self,
        parent: impl Iterator<Item = (OsString, OsString)>,
    ) -> Vec<secrecy::SecretString> {
        let bare = Inherit {
            backend: BackendCredentials::None,
            provider_credentials: false,
            variables: &[],
        };
        self.filter(parent)
            .into_iter()
            .filter(|(name, _)| name.to_str().is_some_and(|name| !bare.allows(name)))
            .filter_map(|(_, value)| value.into_string().ok())
            .map(secrecy::SecretString::from)
            .collect()
    }

    /// The entries of `parent` (an environment, such as [`std::env::vars_os`]) that tofu inherits.
    pub(crate) fn filter(
        self,
        parent: impl Iterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        parent
            .filter(|(name, _)| name.to_str().is_some_and(|name| self.allows(name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(inherit: Inherit, names: &[&str]) -> Vec<String> {
        inherit
            .filter(
                names
                    .iter()
                    .map(|name| (OsString::from(name), OsString::from("v"))),
            )
            .into_iter()
            .map(|(name, _)| name.into_string().unwrap())
            .collect()
    }

    #[test]
    fn credentials_are_the_inherited_backend_and_provider_values_only() {
        use secrecy::ExposeSecret;
        let parent = [
            ("PATH", "/usr/bin"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
            ("DIGITALOCEAN_TOKEN", "do-token"),
            ("VAULT_TOKEN", "vault-token"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let inherit = Inherit {
            backend: BackendCredentials::Aws,
            provider_credentials: true,
            variables: &[],
        };
        let mut values: Vec<String> = inherit
            .credentials(parent.into_iter())
            .iter()
            .map(|value| value.expose_secret().to_string())
            .collect();
        values.sort();
        assert_eq!(values, ["aws-secret", "do-token"]);
    }

    #[test]
    fn only_allowed_names_pass() {
        let parent = [
            "PATH",
            "HOME",
            "LC_ALL",
            "TF_LOG",
            "VAULT_TOKEN",
            "VAULT_ROLE_ID",
            "VAULT_SECRET_ID",
            "GITHUB_TOKEN",
            "WILDSIDE_STATE_PASSPHRASE",
            "WILDSIDE_PLAN_PASSPHRASE",
            "TF_VAR_do_token",
            "TF_ENCRYPTION",
            "AWS_SECRET_ACCESS_KEY",
            "PGPASSWORD",
            "DIGITALOCEAN_TOKEN",
            "SPACES_SECRET_ACCESS_KEY",
        ];
        assert_eq!(
            kept(Inherit::default(), &parent),
            ["PATH", "HOME", "LC_ALL", "TF_LOG"]
        );
        let s3 = Inherit {
            backend: BackendCredentials::Aws,
            provider_credentials: true,
            variables: &[],
        };
        assert_eq!(
            kept(s3, &parent),
            [
                "PATH",
                "HOME",
                "LC_ALL",
                "TF_LOG",
                "AWS_SECRET_ACCESS_KEY",
                "DIGITALOCEAN_TOKEN",
                "SPACES_SECRET_ACCESS_KEY"
            ]
        );
        let pg = Inherit {
            backend: BackendCredentials::Postgres,
            provider_credentials: false,
            variables: &["commit_sha"],
        };
        assert_eq!(
            kept(pg, &[&parent[..], &["TF_VAR_commit_sha"]].concat()),
            [
                "PATH",
                "HOME",
                "LC_ALL",
                "TF_LOG",
                "PGPASSWORD",
                "TF_VAR_commit_sha"
            ]
        );
    }
}
