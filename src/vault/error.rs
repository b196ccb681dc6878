//! Vault errors: which server, which path, and what failed.

use vaultrs::error::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "Vault at {address} is unreachable: {detail}\n  hint: check the address and that the server is up"
    )]
    Unreachable { address: String, detail: String },
    #[error(
        "TLS with Vault at {address} failed: {detail}\n  hint: set `ca_cert` in [vault] to the CA bundle that signed the server's certificate"
    )]
    Tls { address: String, detail: String },
    #[error(
        "Vault at {address} denied access to `{path}`\n  hint: the token or AppRole needs a policy granting this path"
    )]
    PermissionDenied { address: String, path: String },
    #[error("Vault at {address} has no secret at `{path}`")]
    NotFound { address: String, path: String },
    #[error("the secret at `{path}` in Vault at {address} has no key `{key}`")]
    MissingKey {
        address: String,
        path: String,
        key: String,
    },
    #[error("interrupted while waiting for Vault")]
    Interrupted(#[from] crate::engine::Interrupted),
    #[error("Vault credential: {0}")]
    Credential(String),
    #[error("Vault at {address} refused `{path}`: {detail}")]
    Api {
        address: String,
        path: String,
        detail: String,
    },
    #[error(
        "Vault at {address} is sealed\n  hint: run `wildside-tofu vault bootstrap` (it unseals with the stored keys)"
    )]
    Sealed { address: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl VaultError {
    /// Classifies a vaultrs error for an operation on `path`.
    pub(crate) fn from_client(address: &str, path: &str, error: ClientError) -> Self {
        let address = address.to_string();
        let path = path.to_string();
        match error {
            ClientError::APIError { code: 403, .. } => Self::PermissionDenied { address, path },
            ClientError::APIError { code: 404, .. } => Self::NotFound { address, path },
            ClientError::APIError { code: 503, .. } => Self::Sealed { address },
            ClientError::APIError { code, errors } => Self::Api {
                address,
                path,
                detail: format!("HTTP {code}: {}", errors.join("; ")),
            },
            other => classify_transport(address, &error_chain(&other)),
        }
    }

    /// Whether retrying later could help (the server was down or sealed).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Sealed { .. })
    }
}

/// A transport failure: TLS problems are told apart from an unreachable server.
pub(crate) fn classify_transport(address: String, detail: &str) -> VaultError {
    let lower = detail.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        VaultError::Tls {
            address,
            detail: detail.to_string(),
        }
    } else {
        VaultError::Unreachable {
            address,
            detail: detail.to_string(),
        }
    }
}

/// The error and its sources, joined, so the root cause (connection refused, bad certificate) is visible.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
