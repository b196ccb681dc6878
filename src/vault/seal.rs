//! The `sys/` endpoints bootstrap needs, over plain HTTP.
//!
//! vaultrs's `sys::health` and `sys::status` fail to parse an unsealed OpenBao's replies, and listing mounts
//! through typed responses breaks on fields servers add; these calls read only the fields they need.

use std::path::Path;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{VaultError, classify_transport};

#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct SealStatus {
    pub(crate) initialized: bool,
    pub(crate) sealed: bool,
}

pub(crate) struct InitResult {
    pub(crate) keys: Vec<SecretString>,
    pub(crate) root_token: SecretString,
}

pub(crate) struct SysHttp {
    http: reqwest::Client,
    address: String,
}

impl SysHttp {
    pub(crate) fn new(address: &str, ca_cert: Option<&Path>) -> Result<Self, VaultError> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if address.starts_with("http://") {
            builder = builder.tls_certs_only(Vec::new());
        } else if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|source| VaultError::Io {
                context: format!("reading CA bundle `{}`", path.display()),
                source,
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| VaultError::Tls {
                    address: address.into(),
                    detail: format!("`{}`: {error}", path.display()),
                })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|error| classify_transport(address.into(), &error))?;
        Ok(Self {
            http,
            address: address.trim_end_matches('/').to_string(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<Value>,
    ) -> Result<(u16, Value), VaultError> {
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.address));
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| classify_transport(self.address.clone(), &error))?;
        let status = response.status().as_u16();
        let value = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    fn refused(&self, path: &str, status: u16, body: &Value) -> VaultError {
        VaultError::Api {
            address: self.address.clone(),
            path: path.into(),
            detail: format!("HTTP {status}: {body}"),
        }
    }

    pub(crate) async fn seal_status(&self) -> Result<SealStatus, VaultError> {
        let (status, body) = self
            .call(reqwest::Method::GET, "sys/seal-status", None, None)
            .await?;
        if matches!(status, 502..=504) {
            // A proxy or load balancer answered for a server that is not there (yet).
            return Err(VaultError::Unreachable {
                address: self.address.clone(),
                detail: format!("HTTP {status} from in front of it: no server answered"),
            });
        }
        if status != 200 {
            return Err(self.refused("sys/seal-status", status, &body));
        }
        serde_json::from_value(body.clone())
            .map_err(|_| self.refused("sys/seal-status", status, &body))
    }

    pub(crate) async fn init(&self, shares: u8, threshold: u8) -> Result<InitResult, VaultError> {
        let request = json!({ "secret_shares": shares, "secret_threshold": threshold });
        let (status, body) = self
            .call(reqwest::Method::PUT, "sys/init", None, Some(request))
            .await?;
        let keys = body["keys_base64"].as_array().map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(|key| SecretString::from(key.to_string()))
                .collect::<Vec<_>>()
        });
        match (status, keys, body["root_token"].as_str()) {
            (200, Some(keys), Some(root)) if !keys.is_empty() => Ok(InitResult {
                keys,
                root_token: SecretString::from(root.to_string()),
            }),
            _ => Err(VaultError::Api {
                address: self.address.clone(),
                path: "sys/init".into(),
                detail: format!("HTTP {status}"),
            }),
        }
    }

    pub(crate) async fn unseal(&self, key: &SecretString) -> Result<SealStatus, VaultError> {
        let request = json!({ "key": key.expose_secret() });
        let (status, body) = self
            .call(reqwest::Method::PUT, "sys/unseal", None, Some(request))
            .await?;
        if status != 200 {
            return Err(VaultError::Api {
                address: self.address.clone(),
                path: "sys/unseal".into(),
                detail: format!("HTTP {status}"),
            });
        }
        serde_json::from_value(body).map_err(|_| VaultError::Api {
            address: self.address.clone(),
            path: "sys/unseal".into(),
            detail: "unexpected reply".into(),
        })
    }

    /// Waits until the server serves requests: the node answering is the active one (`sys/health` answers
    /// 200), as raft needs a moment after unseal, or an unsealed standby (429) that knows the active node it
    /// forwards to. Behind a load balancer, which sends connections to standbys as well as to the active node,
    /// the client's connection may stay with a standby.
    pub(crate) async fn wait_active(&self, limit: Duration) -> Result<(), VaultError> {
        let deadline = Instant::now() + limit;
        loop {
            let (status, _) = self
                .call(reqwest::Method::GET, "sys/health", None, None)
                .await?;
            if status == 200 || (status == 429 && self.knows_leader().await?) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(VaultError::Api {
                    address: self.address.clone(),
                    path: "sys/health".into(),
                    detail: format!("no active node after {}s (HTTP {status})", limit.as_secs()),
                });
            }
            crate::engine::pause(Duration::from_millis(250)).await?;
        }
    }

    /// Whether the node answering knows the active node (`sys/leader` names its address).
    async fn knows_leader(&self) -> Result<bool, VaultError> {
        let (status, body) = self
            .call(reqwest::Method::GET, "sys/leader", None, None)
            .await?;
        Ok(status == 200
            && body["leader_address"]
                .as_str()
                .is_some_and(|address| !address.is_empty()))
    }

    /// The type (and KV version) mounted at `path/` under `sys/mounts` or `sys/auth`, if any.
    pub(crate) async fn mounted(
        &self,
        listing: &str,
        path: &str,
        token: &SecretString,
    ) -> Result<Option<(String, Option<String>)>, VaultError> {
        let (status, body) = self
            .call(reqwest::Method::GET, listing, Some(token), None)
            .await?;
        if status != 200 {
            return Err(self.refused(listing, status, &body));
        }
        let key = format!("{path}/");
        let entry = body
            .get("data")
            .and_then(|data| data.get(&key))
            .or_else(|| body.get(&key));
        Ok(entry.map(|entry| {
            let kind = entry["type"].as_str().unwrap_or_default().to_string();
            let version = entry["options"]["version"].as_str().map(str::to_string);
            (kind, version)
        }))
    }
}

/// Whether the server answers and is ready for use (initialised and unsealed), for `doctor`.
pub async fn probe(address: &str, ca_cert: Option<&Path>) -> Result<(), VaultError> {
    let status = SysHttp::new(address, ca_cert)?.seal_status().await?;
    if !status.initialized {
        return Err(VaultError::Api {
            address: address.to_string(),
            path: "sys/seal-status".into(),
            detail: "not initialised\n  hint: run `wildside-tofu vault bootstrap`".into(),
        });
    }
    if status.sealed {
        return Err(VaultError::Sealed {
            address: address.to_string(),
        });
    }
    Ok(())
}
