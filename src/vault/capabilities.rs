//! What the logged-in token may do on the paths a stack uses (`sys/capabilities-self`), so `doctor` can say
//! before a run which secret it cannot read or which output it cannot write, instead of the run failing
//! halfway.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::client::Vault;
use super::error::{VaultError, classify_transport};

/// A path and the capability a run needs on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub path: String,
    pub capability: &'static str,
    /// What the run does with it, for the report (`read secret do_token`, say).
    pub why: String,
}

impl Vault {
    /// The capabilities the token has on each of `paths`.
    pub async fn capabilities(
        &self,
        paths: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, BTreeSet<String>>, VaultError> {
        let url = format!(
            "{}/v1/sys/capabilities-self",
            self.address.trim_end_matches('/')
        );
        let mut request = self
            .client
            .http
            .http
            .post(&url)
            .header("X-Vault-Token", self.token().expose_secret())
            .json(&json!({ "paths": paths }));
        if let Some(namespace) = &self.client.settings.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        let response = request
            .send()
            .await
            .map_err(|error| classify_transport(self.address.clone(), &error))?;
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(VaultError::PermissionDenied {
                address: self.address.clone(),
                path: "sys/capabilities-self".into(),
            });
        }
        let body: Value = response
            .json()
            .await
            .map_err(|error| classify_transport(self.address.clone(), &error))?;
        if !status.is_success() {
            return Err(VaultError::Api {
                address: self.address.clone(),
                path: "sys/capabilities-self".into(),
                detail: format!("HTTP {status}: {body}"),
            });
        }
        Ok(paths
            .iter()
            .map(|path| {
                let granted = body[path]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                (path.clone(), granted)
            })
            .collect())
    }

    /// The needs the token does not meet (`root` meets every one; `deny` none).
    pub async fn unmet(&self, needs: &[Need]) -> Result<Vec<Need>, VaultError> {
        let paths = needs.iter().map(|need| need.path.clone()).collect();
        let granted = self.capabilities(&paths).await?;
        Ok(needs
            .iter()
            .filter(|need| {
                let have = &granted[&need.path];
                have.contains("deny") || !(have.contains("root") || have.contains(need.capability))
            })
            .cloned()
            .collect())
    }
}
