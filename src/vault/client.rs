//! A connected, authenticated Vault client, with token renewal for long runs.

use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vaultrs::client::{Client, VaultClient, VaultClientSettingsBuilder};

use super::error::{VaultError, error_chain};
use crate::stack::{Credential, VaultAuth, VaultSettings};

/// An authenticated client for one Vault server and KV mount. Its `Debug` never shows the token.
pub struct Vault {
    pub(crate) client: VaultClient,
    pub address: String,
    pub mount: String,
    pub path_prefix: String,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("address", &self.address)
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

/// Builds a vaultrs client with every setting explicit, so no `VAULT_*` variable is read behind our back.
pub(crate) fn build_client(
    address: &str,
    token: &SecretString,
    ca_cert: Option<&Path>,
    namespace: Option<&str>,
) -> Result<VaultClient, VaultError> {
    if reqwest::Url::parse(address).is_err() {
        return Err(VaultError::Unreachable {
            address: address.into(),
            detail: "not a valid URL".into(),
        });
    }
    let mut builder = VaultClientSettingsBuilder::default();
    builder
        .address(address)
        .token(token.expose_secret())
        .ca_certs(
            ca_cert
                .map(|path| vec![path.display().to_string()])
                .unwrap_or_default(),
        )
        .identity(None)
        .verify(true)
        .timeout(Some(Duration::from_secs(30)))
        .namespace(namespace.map(str::to_string));
    let settings = builder.build().map_err(|error| VaultError::Api {
        address: address.into(),
        path: String::new(),
        detail: error.to_string(),
    })?;
    VaultClient::new(settings)
        .map_err(|error| super::error::classify_transport(address.into(), &error))
}

impl Vault {
    /// Connects and logs in as the stack's settings say; `project_root` resolves relative file paths.
    pub async fn connect(
        settings: &VaultSettings,
        project_root: &Path,
    ) -> Result<Self, VaultError> {
        let ca_cert = settings
            .ca_cert
            .as_ref()
            .map(|path| project_root.join(path));
        let address = settings.address.clone();
        let token = match &settings.auth {
            VaultAuth::Token { token_env } => {
                read_credential(&Credential::Env(token_env.clone()), project_root, "token")?
            }
            VaultAuth::AppRole { .. } => SecretString::from(String::new()),
        };
        let mut client = build_client(
            &address,
            &token,
            ca_cert.as_deref(),
            settings.namespace.as_deref(),
        )?;
        if let VaultAuth::AppRole {
            mount,
            role_id,
            secret_id,
        } = &settings.auth
        {
            let role_id = read_credential(role_id, project_root, "AppRole role id")?;
            let secret_id = read_credential(secret_id, project_root, "AppRole secret id")?;
            let path = format!("auth/{mount}/login");
            let auth = vaultrs::auth::approle::login(
                &client,
                mount,
                role_id.expose_secret(),
                secret_id.expose_secret(),
            )
            .await
            .map_err(|error| VaultError::from_client(&address, &path, error))?;
            client.set_token(&auth.client_token);
        }
        let mut vault = Self {
            client,
            address,
            mount: settings.mount.clone(),
            path_prefix: settings.path_prefix.clone(),
            renewal: None,
        };
        vault.start_renewal(ca_cert.as_deref()).await;
        Ok(vault)
    }

    /// Renews a renewable token at half its TTL for as long as this client lives (long applies), over the same
    /// TLS trust as the client itself.
    async fn start_renewal(&mut self, ca_cert: Option<&Path>) {
        let Ok(lookup) = vaultrs::token::lookup_self(&self.client).await else {
            return;
        };
        if lookup.renewable != Some(true) || lookup.ttl == 0 {
            return;
        }
        let token = SecretString::from(self.client.settings.token.clone());
        let client = match build_client(
            &self.address,
            &token,
            ca_cert,
            self.client.settings.namespace.as_deref(),
        ) {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!("the Vault token will not be renewed: {error}");
                return;
            }
        };
        let period = Duration::from_secs((lookup.ttl / 2).max(1));
        self.renewal = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                if let Err(error) = vaultrs::token::renew_self(&client, None).await {
                    tracing::warn!("renewing the Vault token failed: {}", error_chain(&error));
                }
            }
        }));
    }

    /// A client of `address` with `token`, not logged in or checked: for tests of what uses one.
    #[cfg(test)]
    pub(crate) fn unchecked(address: &str, token: &str) -> Result<Self, VaultError> {
        Ok(Self {
            client: build_client(address, &SecretString::from(token), None, None)?,
            address: address.to_string(),
            mount: "secret".into(),
            path_prefix: "wildside".into(),
            renewal: None,
        })
    }

    /// The token this client uses (after an AppRole login, the login's token), for a child that needs it in
    /// its environment.
    pub fn token(&self) -> SecretString {
        SecretString::from(self.client.settings.token.clone())
    }

    /// A second client with this one's token and settings, for a task that outlives a borrow of this one.
    pub(crate) fn second_client(&self) -> Result<VaultClient, VaultError> {
        let settings = &self.client.settings;
        build_client(
            &self.address,
            &self.token(),
            settings.ca_certs.first().map(Path::new),
            settings.namespace.as_deref(),
        )
    }

    /// The full KV path of a stack output: `<prefix>/<stack>/<workspace>/<path>`.
    pub fn output_path(&self, stack: &str, workspace: &str, path: &str) -> String {
        format!("{}/{stack}/{workspace}/{path}", self.path_prefix)
    }
}

/// How to get a credential that is not set: AppRole credentials come from `vault bootstrap`.
fn unset_hint(what: &str, name: &str) -> String {
    if what.starts_with("AppRole") {
        format!(
            "`wildside-tofu vault bootstrap` creates the CI AppRoles and prints their role ids (secret ids go to the file it names); export the one this run needs: `export {name}=...`"
        )
    } else {
        format!("export {name} with a Vault token (`bao login` or `vault login` prints one)")
    }
}

/// Reads a credential from the environment or a file; the value is never logged.
pub(crate) fn read_credential(
    credential: &Credential,
    project_root: &Path,
    what: &str,
) -> Result<SecretString, VaultError> {
    let value = match credential {
        Credential::Env(name) => std::env::var(name).map_err(|_| VaultError::CredentialUnset {
            what: what.to_string(),
            name: name.clone(),
            hint: unset_hint(what, name),
        })?,
        Credential::File(path) => {
            let path = project_root.join(path);
            std::fs::read_to_string(&path).map_err(|error| {
                VaultError::Credential(format!(
                    "cannot read the {what} from `{}`: {error}",
                    path.display()
                ))
            })?
        }
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(VaultError::Credential(format!("the {what} is empty")));
    }
    Ok(SecretString::from(value))
}
