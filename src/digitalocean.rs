//! The few DigitalOcean API calls the tool makes itself rather than through the provider: a cluster's fresh
//! kubeconfig, whose embedded token DigitalOcean expires after seven days.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// DigitalOcean's API.
pub const API: &str = "https://api.digitalocean.com/";

/// Where the API is and the token it takes.
pub struct Api {
    pub url: url::Url,
    pub token: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum DigitalOceanError {
    #[error("DigitalOcean API at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "DigitalOcean API at {url} answered {status}\n  hint: {}",
        status_hint(*status)
    )]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("DigitalOcean API address `{base}` cannot take the path `{path}`: {source}")]
    Address {
        base: String,
        path: String,
        #[source]
        source: url::ParseError,
    },
}

fn status_hint(status: reqwest::StatusCode) -> &'static str {
    match status {
        reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => {
            "the stack's DigitalOcean token was refused; check the secret it reads from Vault"
        }
        reqwest::StatusCode::NOT_FOUND => {
            "the cluster in the stack's state no longer exists; run `up` to recreate it"
        }
        _ => "try again later",
    }
}

impl Api {
    /// The cluster's kubeconfig as DigitalOcean issues it now, with a fresh token.
    pub async fn cluster_kubeconfig(
        &self,
        cluster_id: &str,
    ) -> Result<SecretString, DigitalOceanError> {
        let path = format!("v2/kubernetes/clusters/{cluster_id}/kubeconfig");
        let url = self
            .url
            .join(&path)
            .map_err(|source| DigitalOceanError::Address {
                base: self.url.to_string(),
                path: path.clone(),
                source,
            })?;
        let transport = |source| DigitalOceanError::Transport {
            url: url.to_string(),
            source,
        };
        let response = reqwest::Client::new()
            .get(url.clone())
            .bearer_auth(self.token.expose_secret())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(DigitalOceanError::Status {
                url: url.to_string(),
                status,
            });
        }
        let text = response.text().await.map_err(transport)?;
        Ok(SecretString::from(text))
    }
}
