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
    #[error("{source} (the stack's secret `{variable}`)")]
    SecretAbsent {
        variable: String,
        source: Box<VaultError>,
    },
    #[error("Vault credential: the {what} is read from ${name}, which is not set\n  hint: {hint}")]
    CredentialUnset {
        what: String,
        name: String,
        hint: String,
    },
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
    /// Classifies a vaultrs error for an operation on `path`: by the HTTP status when Vault answered at all,
    /// whatever the body of the answer held; only an error without a response is a transport failure.
    pub(crate) fn from_client(address: &str, path: &str, error: ClientError) -> Self {
        let address = address.to_string();
        let path = path.to_string();
        match http_status(&error) {
            Some(403) => Self::PermissionDenied { address, path },
            Some(404) => Self::NotFound { address, path },
            Some(503) => Self::Sealed { address },
            Some(code) => {
                let detail = match &error {
                    ClientError::APIError { errors, .. } if !errors.is_empty() => {
                        format!("HTTP {code}: {}", errors.join("; "))
                    }
                    _ => format!("HTTP {code}"),
                };
                Self::Api {
                    address,
                    path,
                    detail,
                }
            }
            None => classify_transport(address, &error),
        }
    }

    /// Whether retrying later could help (the server was down or sealed).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Sealed { .. })
    }
}

/// The HTTP status Vault answered with, if it answered. vaultrs makes an `APIError` only of a body holding
/// Vault's `errors` list; any other body (a KV read of a deleted version answers 404 with the version's
/// metadata) stays the HTTP client's error, which carries the status all the same.
pub(crate) fn http_status(error: &ClientError) -> Option<u16> {
    match error {
        ClientError::APIError { code, .. } => Some(*code),
        ClientError::RestClientError {
            source: rustify::errors::ClientError::ServerResponseError { code, .. },
        } => Some(*code),
        _ => None,
    }
}

/// A transport failure, classified by the types in its source chain (never its text): a certificate that
/// fails verification, or any other TLS protocol error, is a TLS problem; a connection refused, reset or
/// closed before TLS completed (a load balancer with no healthy node behind it) means the server is not
/// reachable yet, whatever TLS layer reported it.
pub(crate) fn classify_transport(
    address: String,
    error: &(dyn std::error::Error + 'static),
) -> VaultError {
    let detail = error_chain(error);
    match transport_failure(error) {
        TransportFailure::Tls => VaultError::Tls { address, detail },
        TransportFailure::Unreachable => VaultError::Unreachable { address, detail },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportFailure {
    Tls,
    Unreachable,
}

fn transport_failure(error: &(dyn std::error::Error + 'static)) -> TransportFailure {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.downcast_ref::<rustls::Error>().is_some() {
            return TransportFailure::Tls;
        }
        // `io::Error::source` skips the error it wraps: look inside it too.
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if transport_failure(inner) == TransportFailure::Tls {
                return TransportFailure::Tls;
            }
        }
        current = error.source();
    }
    TransportFailure::Unreachable
}

/// The error and its sources, joined, so the root cause (connection refused, bad certificate) is visible.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: u16, body: Option<&str>) -> ClientError {
        ClientError::RestClientError {
            source: rustify::errors::ClientError::ServerResponseError {
                code,
                content: body.map(str::to_string),
            },
        }
    }

    fn classify(error: ClientError) -> VaultError {
        VaultError::from_client("https://vault.example:8200", "secret/data/x", error)
    }

    /// A KV v2 read of a deleted version: 404, and the version's metadata instead of an `errors` list.
    const DELETED_VERSION: &str = r#"{"request_id":"r","data":{"data":null,"metadata":{"created_time":"2030-01-01T00:00:00Z","deletion_time":"2030-01-01T01:00:00Z","destroyed":false,"version":3}}}"#;

    #[test]
    fn an_answer_is_classed_by_its_status_whatever_its_body() {
        for body in [Some(DELETED_VERSION), Some("not json"), Some(""), None] {
            assert!(
                matches!(classify(answered(404, body)), VaultError::NotFound { .. }),
                "{body:?}"
            );
            assert!(matches!(
                classify(answered(403, body)),
                VaultError::PermissionDenied { .. }
            ));
            assert!(matches!(
                classify(answered(503, body)),
                VaultError::Sealed { .. }
            ));
            let other = classify(answered(429, body));
            assert!(
                matches!(&other, VaultError::Api { detail, .. } if detail == "HTTP 429"),
                "{other:?}"
            );
            assert!(!other.is_transient());
        }
        let listed = classify(ClientError::APIError {
            code: 404,
            errors: vec![],
        });
        assert!(matches!(listed, VaultError::NotFound { .. }));
        let refused = classify(ClientError::APIError {
            code: 400,
            errors: vec!["check-and-set parameter did not match".into()],
        });
        assert!(
            matches!(&refused, VaultError::Api { detail, .. } if detail == "HTTP 400: check-and-set parameter did not match"),
            "{refused:?}"
        );
    }

    #[test]
    fn only_an_error_without_an_answer_is_an_outage() {
        assert!(!classify(answered(404, Some(DELETED_VERSION))).is_transient());
        assert_eq!(
            http_status(&answered(404, Some(DELETED_VERSION))),
            Some(404)
        );
        let unanswered = ClientError::ResponseEmptyError;
        assert_eq!(http_status(&unanswered), None);
        let outage = classify(unanswered);
        assert!(
            matches!(outage, VaultError::Unreachable { .. }) && outage.is_transient(),
            "{outage:?}"
        );
    }

    fn classify_io(error: std::io::Error) -> VaultError {
        classify_transport("https://vault.example".into(), &error)
    }

    #[test]
    fn a_connection_closed_before_tls_is_unreachable_whatever_its_text_says() {
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(classify_io(eof), VaultError::Unreachable { .. }));
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "certificate handshake tls",
        );
        assert!(matches!(
            classify_io(refused),
            VaultError::Unreachable { .. }
        ));
    }

    #[test]
    fn a_rustls_error_anywhere_in_the_chain_is_tls() {
        let bad = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let wrapped = std::io::Error::other(bad);
        assert!(matches!(classify_io(wrapped), VaultError::Tls { .. }));
    }
}
