//! The Vault appliance's CA, learnt from the appliance itself and trusted only if it proves it is the
//! appliance's: `vault bootstrap --appliance` has no CA to verify the first connection with (no private key of
//! the appliance is ever in tofu's hands, so neither is its CA certificate before the nodes make it).
//!
//! The leader's CA certificate carries the URI `urn:wildside:attestation:<hex HMAC-SHA256>` of its
//! SubjectPublicKeyInfo under the enrollment token, which only the stack's state and the appliance's nodes
//! hold. The handshake here accepts whatever chain the server presents, then: the chain's last certificate is
//! the CA, its attestation must match the token (so an impostor's CA, which cannot know the token, is refused),
//! and the server's certificate must verify against that CA for the address's name (so the server holds a key
//! the CA signed). Only then is the CA written, and bootstrap proceeds with ordinary verification against it.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The URI prefix of the attestation in the CA certificate's subjectAltName.
pub const ATTESTATION_PREFIX: &str = "urn:wildside:attestation:";

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the appliance's CA was not learnt.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error("`{address}` is not an https address with a host (such as https://203.0.113.7)")]
    Address { address: String },
    #[error("the appliance at {address} did not answer within {waited:?}: {source}")]
    Unreachable {
        address: String,
        waited: Duration,
        source: std::io::Error,
    },
    #[error("the appliance at {address} presented no certificate chain ending in a CA")]
    NoChain { address: String },
    #[error("the CA presented at {address} is not readable as X.509: {detail}")]
    Certificate { address: String, detail: String },
    #[error(
        "the CA presented at {address} is not the appliance's: {why}; nothing was written or sent\n  hint: something other than the appliance answers at this address (an impostor, or a proxy that ends TLS); check the address, and that the stack is the one the appliance was created by"
    )]
    Impostor { address: String, why: &'static str },
    #[error(
        "the server at {address} holds no certificate of the appliance's CA for that address: {source}"
    )]
    ServerCertificate {
        address: String,
        source: rustls::Error,
    },
    #[error("writing the appliance's CA to `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Whether `ca` (DER) attests itself with `token`: its subjectAltName holds the HMAC of its public key.
pub fn attest(ca: &[u8], token: &SecretString) -> Result<(), &'static str> {
    let (_, certificate) =
        x509_parser::parse_x509_certificate(ca).map_err(|_| "its certificate does not parse")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(token.expose_secret().as_bytes())
        .map_err(|_| "the enrollment token is unusable")?;
    mac.update(certificate.public_key().raw);
    let claims: Vec<Vec<u8>> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .into_iter()
        .flat_map(|names| names.value.general_names.iter())
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => uri.strip_prefix(ATTESTATION_PREFIX),
            _ => None,
        })
        .filter_map(|claim| hex::decode(claim).ok())
        .collect();
    if claims.is_empty() {
        return Err("it carries no attestation");
    }
    if claims
        .iter()
        .any(|claim| mac.clone().verify_slice(claim).is_ok())
    {
        Ok(())
    } else {
        Err("its attestation does not match the stack's enrollment token")
    }
}

/// Connects to `address` (https), attests the CA it presents with `token`, checks the server's certificate
/// against it, and writes it (PEM) to `path`. Retries an unreachable server for up to `wait`.
pub fn fetch_ca(
    address: &str,
    token: &SecretString,
    path: &Path,
    wait: Duration,
) -> Result<(), AttestationError> {
    let url = url::Url::parse(address).map_err(|_| AttestationError::Address {
        address: address.into(),
    })?;
    let (Some(host), "https") = (url.host_str(), url.scheme()) else {
        return Err(AttestationError::Address {
            address: address.into(),
        });
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(443);
    let name = ServerName::try_from(host.clone()).map_err(|_| AttestationError::Address {
        address: address.into(),
    })?;
    let chain = presented_chain(&host, port, &name, wait).map_err(|source| {
        AttestationError::Unreachable {
            address: address.into(),
            waited: wait,
            source,
        }
    })?;
    let (Some(server), Some(ca)) = (chain.first(), chain.last().filter(|_| chain.len() > 1)) else {
        return Err(AttestationError::NoChain {
            address: address.into(),
        });
    };
    attest(ca, token).map_err(|why| AttestationError::Impostor {
        address: address.into(),
        why,
    })?;
    verify_server(server, &chain[1..chain.len() - 1], ca, &name).map_err(|source| {
        AttestationError::ServerCertificate {
            address: address.into(),
            source,
        }
    })?;
    let pem = pem_certificate(ca);
    let write_error = |source| AttestationError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(path).map_err(write_error)?;
    file.write_all(pem.as_bytes()).map_err(write_error)
}

fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's certificate verifies against `ca` alone, for `name`.
fn verify_server(
    server: &CertificateDer<'static>,
    intermediates: &[CertificateDer<'static>],
    ca: &CertificateDer<'static>,
    name: &ServerName<'static>,
) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone())?;
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|error| rustls::Error::General(error.to_string()))?;
    verifier.verify_server_cert(server, intermediates, name, &[], UnixTime::now())?;
    Ok(())
}

/// The chain the server presents, from a handshake that accepts any (checked afterwards); retried while
/// the server cannot be reached, for up to `wait`.
fn presented_chain(
    host: &str,
    port: u16,
    name: &ServerName<'static>,
    wait: Duration,
) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let deadline = Instant::now() + wait;
    loop {
        match handshake(host, port, name) {
            Ok(chain) => return Ok(chain),
            Err(error) if Instant::now() < deadline => {
                tracing::info!(
                    "the appliance at {host}:{port} is not answering yet ({error}); retrying"
                );
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(error) => return Err(error),
        }
    }
}

fn handshake(
    host: &str,
    port: u16,
    name: &ServerName<'static>,
) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        provider: provider(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name.clone())
        .map_err(std::io::Error::other)?;
    let address = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let mut socket = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
    socket.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    socket.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    while connection.is_handshaking() {
        connection.complete_io(&mut socket)?;
    }
    connection.send_close_notify();
    let _ = connection.complete_io(&mut socket);
    let chain = recorder
        .chain
        .lock()
        .map_err(|_| std::io::Error::other("a poisoned lock"))?
        .clone();
    Ok(chain)
}

/// Accepts any chain and keeps it, while still checking that the server's handshake signatures are made
/// with the key its certificate names.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|certificate| certificate.clone().into_owned())
            .collect();
        *self
            .chain
            .lock()
            .map_err(|_| rustls::Error::General("a poisoned lock".into()))? = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
