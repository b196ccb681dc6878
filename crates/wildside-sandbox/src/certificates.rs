//! Certificates for load balancers: custom ones are parsed (expiry, SHA-1 fingerprint, DNS names) and their
//! private keys checked but never kept; Let's Encrypt ones are issued after the sandbox's delay.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;

use super::error::ApiError;
use super::world::{Clock, World, new_id, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum CertificateType {
    Custom,
    LetsEncrypt,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Certificate {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: CertificateType,
    pub(super) not_after: SystemTime,
    pub sha1_fingerprint: String,
    pub(super) dns_names: Vec<String>,
    pub(super) created_at: SystemTime,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateCertificate {
    name: String,
    #[serde(rename = "type", default = "custom")]
    kind: CertificateType,
    #[serde(default)]
    private_key: Option<String>,
    #[serde(default)]
    leaf_certificate: Option<String>,
    #[serde(default)]
    dns_names: Vec<String>,
}

fn custom() -> CertificateType {
    CertificateType::Custom
}

/// How long a Let's Encrypt certificate lasts.
const LETS_ENCRYPT_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

impl Certificate {
    pub(super) fn to_json(&self, clock: &Clock) -> Value {
        let state = match self.kind {
            CertificateType::LetsEncrypt if !clock.settled(self.created_at) => "pending",
            _ => "verified",
        };
        json!({
            "id": self.id,
            "name": self.name,
            "not_after": timestamp(self.not_after),
            "sha1_fingerprint": self.sha1_fingerprint,
            "created_at": timestamp(self.created_at),
            "dns_names": self.dns_names,
            "state": state,
            "type": self.kind,
        })
    }
}

struct Leaf {
    not_after: SystemTime,
    sha1_fingerprint: String,
    dns_names: Vec<String>,
}

fn parse_leaf(pem_text: &str) -> Result<Leaf, ApiError> {
    let invalid =
        || ApiError::unprocessable("leaf_certificate is not a PEM-encoded X.509 certificate");
    let (_, pem) = parse_x509_pem(pem_text.as_bytes()).map_err(|_| invalid())?;
    let certificate = pem.parse_x509().map_err(|_| invalid())?;
    let not_after = u64::try_from(certificate.validity().not_after.timestamp())
        .map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .map_err(|_| invalid())?;
    let mut dns_names: Vec<String> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|extension| {
            extension
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(name) => Some(name.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if dns_names.is_empty() {
        dns_names.extend(
            certificate
                .subject()
                .iter_common_name()
                .filter_map(|name| name.as_str().ok())
                .map(str::to_string),
        );
    }
    Ok(Leaf {
        not_after,
        sha1_fingerprint: hex::encode(Sha1::digest(&pem.contents)),
        dns_names,
    })
}

fn check_private_key(pem_text: &str) -> Result<(), ApiError> {
    match parse_x509_pem(pem_text.as_bytes()) {
        Ok((_, pem)) if pem.label.ends_with("PRIVATE KEY") && !pem.contents.is_empty() => Ok(()),
        _ => Err(ApiError::unprocessable(
            "private_key is not a PEM-encoded private key",
        )),
    }
}

pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    request: CreateCertificate,
) -> Result<Value, ApiError> {
    if request.name.is_empty() {
        return Err(ApiError::unprocessable("name is required"));
    }
    if world
        .certificates
        .values()
        .any(|certificate| certificate.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "a certificate named {} already exists",
            request.name
        )));
    }
    let certificate = match request.kind {
        CertificateType::Custom => {
            let (Some(key), Some(leaf)) = (&request.private_key, &request.leaf_certificate) else {
                return Err(ApiError::unprocessable(
                    "a custom certificate needs private_key and leaf_certificate",
                ));
            };
            check_private_key(key)?;
            let leaf = parse_leaf(leaf)?;
            Certificate {
                id: new_id(),
                name: request.name,
                kind: CertificateType::Custom,
                not_after: leaf.not_after,
                sha1_fingerprint: leaf.sha1_fingerprint,
                dns_names: leaf.dns_names,
                created_at: clock.now,
            }
        }
        CertificateType::LetsEncrypt => {
            if request.dns_names.is_empty() {
                return Err(ApiError::unprocessable(
                    "a Let's Encrypt certificate needs dns_names",
                ));
            }
            Certificate {
                id: new_id(),
                sha1_fingerprint: hex::encode(Sha1::digest(request.name.as_bytes())),
                name: request.name,
                kind: CertificateType::LetsEncrypt,
                not_after: clock.now + LETS_ENCRYPT_LIFETIME,
                dns_names: request.dns_names,
                created_at: clock.now,
            }
        }
    };
    let json = certificate.to_json(clock);
    world
        .certificates
        .insert(certificate.id.clone(), certificate);
    Ok(json)
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Certificate, ApiError> {
    world.certificates.get(id).ok_or_else(ApiError::not_found)
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    get(world, id)?;
    if let Some(balancer) = world.load_balancers.values().find(|balancer| {
        balancer
            .forwarding_rules
            .iter()
            .any(|rule| rule.certificate_id == id)
    }) {
        return Err(ApiError::unprocessable(format!(
            "the certificate is in use by load balancer {}",
            balancer.name
        )));
    }
    world.certificates.remove(id);
    Ok(())
}
