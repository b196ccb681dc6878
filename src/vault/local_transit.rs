//! A transit endpoint on 127.0.0.1 that stands in for Vault in tofu's configuration, so that tofu, and with it
//! every provider and `local-exec` it starts, never gets the Vault token.
//!
//! tofu's `openbao` key provider needs a token in its environment, which its children can read. So tofu is
//! pointed at this endpoint instead, with a random token that opens this endpoint only, for this run only. The
//! endpoint answers two requests, for the stack's key and nothing else: a new data key (`datakey/plaintext`)
//! and the decryption of a stored one (`decrypt`). Decryption goes on to Vault with the run's token, which
//! stays in this process. Where data keys come from depends on the run ([`DataKeys`]):
//! - a run that writes state gets them from Vault, through the same token;
//! - a run that only plans never writes state, so its role is not given data keys: the `openbao` key provider
//!   asks for one every time it is set up, even to read, and the endpoint answers with a key of its own (kept
//!   in memory, valid for this run only). A saved plan of such a run is encrypted with a key of this run: only
//!   this run can read it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use vaultrs::client::VaultClient;
use vaultrs::error::ClientError;

use super::client::Vault;
use super::error::{VaultError, http_status};

/// The prefix of the ciphertexts of data keys made by a run that only plans: they name a key held in this
/// process only.
const LOCAL_PREFIX: &str = "wildside-plan-run:v1:";

/// Where the endpoint's data keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeys {
    /// From Vault, wrapped by the stack's key: a run that writes state.
    FromVault,
    /// Made by the endpoint, valid for this run only: a run that only plans, whose role has no data keys.
    RunOnly,
}

/// The endpoint, served for as long as this value lives.
pub struct LocalTransit {
    /// `http://127.0.0.1:<port>`, for tofu's `key_provider "openbao"`.
    pub address: String,
    /// The token tofu must present; it opens this endpoint only.
    pub token: SecretString,
    /// Where its data keys come from.
    pub data_keys: DataKeys,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LocalTransit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTransit")
            .field("address", &self.address)
            .field("data_keys", &self.data_keys)
            .finish_non_exhaustive()
    }
}

impl Drop for LocalTransit {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Endpoint {
    vault: VaultClient,
    address: String,
    mount: String,
    key: String,
    token: SecretString,
    data_keys: DataKeys,
    /// The data keys handed out by this run, by their ciphertext ([`DataKeys::RunOnly`]).
    local: Mutex<HashMap<String, Vec<u8>>>,
}

impl LocalTransit {
    /// Serves data keys (as `data_keys` says) and decryption with `mount`'s key `key`, through `vault`'s token.
    pub async fn start(
        vault: &Vault,
        mount: &str,
        key: &str,
        data_keys: DataKeys,
    ) -> Result<Self, VaultError> {
        let io = |source| VaultError::Io {
            context: "serving the run's transit endpoint on 127.0.0.1".into(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(io)?;
        let port = listener.local_addr().map_err(io)?.port();
        let token = SecretString::from(STANDARD.encode(random_bytes(32).map_err(io)?));
        let endpoint = Arc::new(Endpoint {
            vault: vault.second_client()?,
            address: vault.address.clone(),
            mount: mount.trim_matches('/').to_string(),
            key: key.to_string(),
            token: token.clone(),
            data_keys,
            local: Mutex::new(HashMap::new()),
        });
        let router = axum::Router::new()
            .route("/v1/{*path}", axum::routing::put(answer).post(answer))
            .with_state(endpoint);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!("the run's transit endpoint stopped: {error}");
            }
        });
        Ok(Self {
            address: format!("http://127.0.0.1:{port}"),
            token,
            data_keys,
            task,
        })
    }
}

fn random_bytes(count: usize) -> std::io::Result<Vec<u8>> {
    use rand::TryRngCore;
    let mut bytes = vec![0u8; count];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(std::io::Error::other)?;
    Ok(bytes)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [message] }))).into_response()
}

async fn answer(
    State(endpoint): State<Arc<Endpoint>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // Vault clients do not all send a JSON content type: the body is read as JSON whatever it says.
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let presented = headers
        .get("x-vault-token")
        .and_then(|value| value.to_str().ok());
    if presented != Some(endpoint.token.expose_secret()) {
        return refuse(StatusCode::FORBIDDEN, "permission denied");
    }
    let Some(operation) = path
        .strip_prefix(endpoint.mount.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix(endpoint.key.as_str()))
    else {
        return refuse(StatusCode::FORBIDDEN, "permission denied");
    };
    match (operation, endpoint.data_keys) {
        ("datakey/plaintext/", DataKeys::RunOnly) => run_data_key(&endpoint, &body),
        ("datakey/plaintext/", DataKeys::FromVault) => vault_data_key(&endpoint, &body).await,
        ("decrypt/", _) => decrypt(&endpoint, &body).await,
        _ => refuse(StatusCode::FORBIDDEN, "permission denied"),
    }
}

/// The size of the data key asked for: 128, 256 or 512 bits, 256 when not said.
fn bits(body: &Value) -> Option<u16> {
    match body.get("bits").and_then(Value::as_u64).unwrap_or(256) {
        bits @ (128 | 256 | 512) => u16::try_from(bits).ok(),
        _ => None,
    }
}

/// A fresh key of this run, under a ciphertext that names it here only.
fn run_data_key(endpoint: &Endpoint, body: &Value) -> Response {
    let Some(bits) = bits(body) else {
        return refuse(StatusCode::BAD_REQUEST, "bits must be 128, 256 or 512");
    };
    let (Ok(key), Ok(id)) = (random_bytes(usize::from(bits) / 8), random_bytes(16)) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no random source");
    };
    let ciphertext = format!("{LOCAL_PREFIX}{}", STANDARD.encode(id));
    let plaintext = STANDARD.encode(&key);
    if let Ok(mut local) = endpoint.local.lock() {
        local.insert(ciphertext.clone(), key);
    }
    Json(json!({ "data": { "plaintext": plaintext, "ciphertext": ciphertext } })).into_response()
}

/// A fresh key from Vault, wrapped by the stack's key, with the run's own token and policy.
async fn vault_data_key(endpoint: &Endpoint, body: &Value) -> Response {
    let Some(bits) = bits(body) else {
        return refuse(StatusCode::BAD_REQUEST, "bits must be 128, 256 or 512");
    };
    let mut options = vaultrs::api::transit::requests::GenerateDataKeyRequest::builder();
    options.bits(bits);
    match vaultrs::transit::generate::data_key(
        &endpoint.vault,
        &endpoint.mount,
        &endpoint.key,
        vaultrs::api::transit::requests::DataKeyType::Plaintext,
        Some(&mut options),
    )
    .await
    {
        Ok(generated) => Json(json!({
            "data": { "plaintext": generated.plaintext, "ciphertext": generated.ciphertext }
        }))
        .into_response(),
        Err(error) => vault_refused(endpoint, "datakey/plaintext", error),
    }
}

/// A key of this run from memory; any other from Vault, with the run's own token and policy.
async fn decrypt(endpoint: &Endpoint, body: &Value) -> Response {
    let Some(ciphertext) = body.get("ciphertext").and_then(Value::as_str) else {
        return refuse(StatusCode::BAD_REQUEST, "missing ciphertext");
    };
    if ciphertext.starts_with(LOCAL_PREFIX) {
        let key = endpoint
            .local
            .lock()
            .ok()
            .and_then(|local| local.get(ciphertext).cloned());
        return match key {
            Some(key) => {
                Json(json!({ "data": { "plaintext": STANDARD.encode(key) } })).into_response()
            }
            None => refuse(
                StatusCode::BAD_REQUEST,
                "this key was made for another plan run and is gone",
            ),
        };
    }
    match vaultrs::transit::data::decrypt(
        &endpoint.vault,
        &endpoint.mount,
        &endpoint.key,
        ciphertext,
        None,
    )
    .await
    {
        Ok(decrypted) => {
            Json(json!({ "data": { "plaintext": decrypted.plaintext } })).into_response()
        }
        Err(error) => vault_refused(endpoint, "decrypt", error),
    }
}

/// Vault's refusal of `operation`, passed on to tofu with Vault's status; a failure to reach Vault as 502.
fn vault_refused(endpoint: &Endpoint, operation: &str, error: ClientError) -> Response {
    if let ClientError::APIError { code, errors } = &error {
        return refuse(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY),
            &errors.join("; "),
        );
    }
    let status = http_status(&error)
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let error = VaultError::from_client(
        &endpoint.address,
        &format!("{}/{operation}/{}", endpoint.mount, endpoint.key),
        error,
    );
    refuse(status, &error.to_string())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::{DataKeys, LocalTransit};
    use crate::vault::Vault;

    /// A Vault nothing listens at: whatever the endpoint passes on fails to reach it (502).
    fn unreachable_vault() -> Vault {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Vault::unchecked(&format!("http://127.0.0.1:{port}"), "vault-token-canary").unwrap()
    }

    async fn status(endpoint: &LocalTransit, token: Option<&str>, path: &str) -> u16 {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/{path}", endpoint.address))
            .body(r#"{"bits":256,"ciphertext":"vault:v1:AAAA","plaintext":"AAAA"}"#);
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        request.send().await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn only_the_stacks_data_keys_and_decryption_pass_and_only_with_the_runs_token() {
        let vault = unreachable_vault();
        for data_keys in [DataKeys::FromVault, DataKeys::RunOnly] {
            let endpoint = LocalTransit::start(&vault, "transit", "wildside-dev", data_keys)
                .await
                .unwrap();
            let token = endpoint.token.expose_secret().to_string();
            assert_ne!(token, "vault-token-canary");
            for path in [
                "transit/datakey/plaintext/wildside-dev",
                "transit/decrypt/wildside-dev",
            ] {
                for wrong in [None, Some("vault-token-canary"), Some("")] {
                    assert_eq!(status(&endpoint, wrong, path).await, 403, "{path}");
                }
            }
            for path in [
                "transit/datakey/plaintext/wildside-prod",
                "transit/decrypt/wildside-prod",
                "transit/encrypt/wildside-dev",
                "transit/datakey/wrapped/wildside-dev",
                "transit/keys/wildside-dev",
                "transit/keys/wildside-dev/rotate",
                "transit/backup/wildside-dev",
                "transit/export/encryption-key/wildside-dev",
                "other/decrypt/wildside-dev",
                "secret/data/wildside/digitalocean",
                "sys/mounts",
                "auth/token/create",
            ] {
                assert_eq!(
                    status(&endpoint, Some(&token), path).await,
                    403,
                    "{path} with {data_keys:?}"
                );
            }
            // Decryption of a stored key goes on to Vault, which is unreachable here.
            assert_eq!(
                status(&endpoint, Some(&token), "transit/decrypt/wildside-dev").await,
                502
            );
            let data_key = status(
                &endpoint,
                Some(&token),
                "transit/datakey/plaintext/wildside-dev",
            )
            .await;
            match data_keys {
                DataKeys::FromVault => assert_eq!(data_key, 502),
                DataKeys::RunOnly => assert_eq!(data_key, 200),
            }
        }
    }
}
