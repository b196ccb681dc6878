//! The few DigitalOcean API calls the tool makes itself rather than through the provider: a cluster's fresh
//! kubeconfig, whose embedded token DigitalOcean expires after seven days, and what the account offers and
//! holds, which a platform stack is checked against before tofu runs.

mod account;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// DigitalOcean's API.
pub const API: &str = "https://api.digitalocean.com/";

/// How long a refreshed kubeconfig's credentials last: thirty days, what the platform's `doks` module asks for
/// at apply (its `kubeconfig_expire_seconds`), rather than DigitalOcean's default of seven.
pub const KUBECONFIG_LIFETIME_SECONDS: u64 = 30 * 24 * 3600;

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
        status_hint(*status, *subject)
    )]
    Status {
        url: String,
        status: reqwest::StatusCode,
        subject: Subject,
    },
    #[error("DigitalOcean API at {url} answered with a body that is not {expected}: {source}")]
    Body {
        url: String,
        expected: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("DigitalOcean API at {url} answered without a list of {expected}: {source}")]
    Shape {
        url: String,
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("DigitalOcean API address `{base}` cannot take the path `{path}`: {source}")]
    Address {
        base: String,
        path: String,
        #[source]
        source: url::ParseError,
    },
}

/// What a request was for, which decides what its failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A cluster's kubeconfig.
    Kubeconfig,
    /// A list of what the account offers or holds, read with the scope it names (`regions:read`, say).
    Listing { scope: &'static str },
}

fn status_hint(status: reqwest::StatusCode, subject: Subject) -> String {
    match (status, subject) {
        (reqwest::StatusCode::UNAUTHORIZED, _) => {
            "the DigitalOcean token was refused: check $DIGITALOCEAN_TOKEN, or the stack's token secret in Vault".into()
        }
        (reqwest::StatusCode::FORBIDDEN, Subject::Listing { scope }) => {
            format!("the token lacks the `{scope}` scope: a plan's token needs the read scopes of what the stack builds")
        }
        (reqwest::StatusCode::FORBIDDEN, Subject::Kubeconfig) => {
            "the token lacks the `kubernetes:read` scope, or is not the stack's own".into()
        }
        (reqwest::StatusCode::NOT_FOUND, Subject::Kubeconfig) => {
            "the cluster in the stack's state no longer exists; run `up` to recreate it".into()
        }
        _ => "try again later".into(),
    }
}

impl Api {
    /// The address of `path` under the API's.
    fn address(&self, path: &str) -> Result<url::Url, DigitalOceanError> {
        self.url
            .join(path)
            .map_err(|source| DigitalOceanError::Address {
                base: self.url.to_string(),
                path: path.to_string(),
                source,
            })
    }

    /// The cluster's kubeconfig as DigitalOcean issues it now, with a fresh token.
    pub async fn cluster_kubeconfig(
        &self,
        cluster_id: &str,
    ) -> Result<SecretString, DigitalOceanError> {
        let mut url = self.address(&format!("v2/kubernetes/clusters/{cluster_id}/kubeconfig"))?;
        url.query_pairs_mut()
            .append_pair("expiry_seconds", &KUBECONFIG_LIFETIME_SECONDS.to_string());
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
                subject: Subject::Kubeconfig,
            });
        }
        let text = response.text().await.map_err(transport)?;
        Ok(SecretString::from(text))
    }
}
