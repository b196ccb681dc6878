//! A transit endpoint on 127.0.0.1 for runs that only plan, so that their role needs no data keys.
//!
//! tofu's `openbao` key provider asks Vault for a new data key (`datakey/plaintext`) every time it is set up,
//! even when it only reads a state. A plan never writes state, so the plan role is not given data keys: this
//! endpoint stands in for Vault in tofu's configuration, answers that request with a key of its own (kept in
//! memory, valid for this run only), and passes the decryption of the stored data keys on to Vault with the
//! run's token, for the stack's key and nothing else. tofu gets a token for this endpoint only, never the Vault
//! token. A saved plan of such a run is encrypted with a key of this run: only this run can read it.

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
use super::error::VaultError;

/// The prefix of the ciphertexts this endpoint makes: they name a key held in this process only.
const LOCAL_PREFIX: &str = "wildside-plan-run:v1:";

/// The endpoint, served for as long as this value lives.
pub struct DecryptOnlyTransit {
    /// `http://127.0.0.1:<port>`, for tofu's `key_provider "openbao"`.
    pub address: String,
    /// The token tofu must present; it opens this endpoint only.
    pub token: SecretString,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for DecryptOnlyTransit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptOnlyTransit")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for DecryptOnlyTransit {
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
    /// The data keys handed out by this run, by their ciphertext.
    local: Mutex<HashMap<String, Vec<u8>>>,
}

impl DecryptOnlyTransit {
    /// Serves decryption with `mount`'s key `key` through `vault`'s token, and data keys of this run's own.
    pub async fn start(vault: &Vault, mount: &str, key: &str) -> Result<Self, VaultError> {
        let io = |source| VaultError::Io {
            context: "serving the plan's transit endpoint on 127.0.0.1".into(),
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
            local: Mutex::new(HashMap::new()),
        });
        let router = axum::Router::new()
            .route("/v1/{*path}", axum::routing::put(answer).post(answer))
            .with_state(endpoint);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!("the plan's transit endpoint stopped: {error}");
            }
        });
        Ok(Self {
            address: format!("http://127.0.0.1:{port}"),
            token,
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
    match operation {
        "datakey/plaintext/" => data_key(&endpoint, &body),
        "decrypt/" => decrypt(&endpoint, &body).await,
        _ => refuse(StatusCode::FORBIDDEN, "permission denied"),
    }
}

/// A fresh key of this run, under a ciphertext that names it here only.
fn data_key(endpoint: &Endpoint, body: &Value) -> Response {
    let bits = body.get("bits").and_then(Value::as_u64).unwrap_or(256);
    if !matches!(bits, 128 | 256 | 512) {
        return refuse(StatusCode::BAD_REQUEST, "bits must be 128, 256 or 512");
    }
    let (Ok(key), Ok(id)) = (random_bytes(bits as usize / 8), random_bytes(16)) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no random source");
    };
    let ciphertext = format!("{LOCAL_PREFIX}{}", STANDARD.encode(id));
    let plaintext = STANDARD.encode(&key);
    if let Ok(mut local) = endpoint.local.lock() {
        local.insert(ciphertext.clone(), key);
    }
    Json(json!({ "data": { "plaintext": plaintext, "ciphertext": ciphertext } })).into_response()
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
        Err(ClientError::APIError { code, errors }) => refuse(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
            &errors.join("; "),
        ),
        Err(error) => {
            let error = VaultError::from_client(
                &endpoint.address,
                &format!("{}/decrypt/{}", endpoint.mount, endpoint.key),
                error,
            );
            refuse(StatusCode::BAD_GATEWAY, &error.to_string())
        }
    }
}
