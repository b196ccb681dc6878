//! The Vault appliance's CA is trusted only when it attests itself with the stack's enrollment token: a real
//! TLS server presents a chain, and `vault::fetch_ca` pins the CA of the appliance's kind (the HMAC of its
//! public key under the token in its subjectAltName) and refuses an impostor's, writing nothing.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use wildside_tofu::vault::{ATTESTATION_PREFIX, AttestationError, fetch_ca};

const TOKEN: &str = "4f1c0b6e2a9d4d7f8e3b5a6c7d8e9f00a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// A CA whose certificate carries `attestation`, if any, and a server certificate for 127.0.0.1 it signs.
struct Pki {
    ca_pem: String,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn attestation_of(key: &rcgen::KeyPair, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(&rcgen::PublicKeyData::subject_public_key_info(key));
    format!(
        "{ATTESTATION_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fn pki(attested_with: Option<&str>) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "prod Vault CA");
    if let Some(token) = attested_with {
        ca_params.subject_alt_names.push(rcgen::SanType::URI(
            attestation_of(&ca_key, token).try_into().unwrap(),
        ));
    }
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut server_params =
        rcgen::CertificateParams::new(vec!["prod.vault.internal".to_string()]).unwrap();
    server_params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![server.der().clone(), ca.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
    }
}

/// Serves TLS with `pki`'s chain on a free port of 127.0.0.1 until the test ends; its address.
fn serve(pki: &Pki) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut connection = rustls::ServerConnection::new(config.clone()).unwrap();
            while connection.is_handshaking() {
                if connection.complete_io(&mut stream).is_err() {
                    break;
                }
            }
        }
    });
    address
}

fn fetch(address: &str, path: &Path) -> Result<(), AttestationError> {
    fetch_ca(
        address,
        &SecretString::from(TOKEN),
        path,
        Duration::from_secs(5),
    )
}

#[test]
fn the_appliances_own_ca_is_pinned() {
    let pki = pki(Some(TOKEN));
    let address = serve(&pki);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault-ca.pem");
    fetch(&address, &path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pki.ca_pem);
}

#[test]
fn an_impostors_ca_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault-ca.pem");
    for (impostor, why) in [
        (pki(Some("another-token")), "does not match"),
        (pki(None), "carries no attestation"),
    ] {
        let address = serve(&impostor);
        let error = fetch(&address, &path).unwrap_err();
        assert!(
            matches!(error, AttestationError::Impostor { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("is not the appliance's"), "{message}");
        assert!(message.contains(why), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
        assert!(!path.exists(), "nothing is written for an impostor");
    }
}

#[test]
fn an_attested_ca_that_did_not_sign_the_servers_certificate_is_refused() {
    let attested = pki(Some(TOKEN));
    let other = pki(Some(TOKEN));
    let mixed = Pki {
        ca_pem: String::new(),
        chain: vec![other.chain[0].clone(), attested.chain[1].clone()],
        key: other.key.clone_key(),
    };
    let address = serve(&mixed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault-ca.pem");
    let error = fetch(&address, &path).unwrap_err();
    assert!(
        matches!(error, AttestationError::ServerCertificate { .. }),
        "{error:?}"
    );
    assert!(!path.exists());
}

#[test]
fn an_address_with_nothing_listening_is_named_after_the_wait() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let address = format!("https://127.0.0.1:{port}");
    let error = fetch_ca(
        &address,
        &SecretString::from(TOKEN),
        &dir.path().join("ca.pem"),
        Duration::from_millis(100),
    )
    .unwrap_err();
    assert!(
        matches!(error, AttestationError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(&address), "{error}");
}

/// Writes the module's TLS scripts and a `tls.env` under `root`, as a node's cloud-init does.
fn node(root: &Path, settings: &[(&str, &str)]) {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("modules/vault_appliance");
    let sbin = root.join("usr/local/sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    for script in ["vault-appliance-tls", "vault-appliance-signer"] {
        std::fs::copy(module.join(script), sbin.join(script)).unwrap();
    }
    let env: String = settings
        .iter()
        .map(|(key, value)| format!("{key}=\"{value}\"\n"))
        .collect();
    std::fs::create_dir_all(root.join("etc/vault-appliance")).unwrap();
    std::fs::write(root.join("etc/vault-appliance/tls.env"), env).unwrap();
}

fn run_tls_script(root: &Path) -> std::process::Output {
    std::process::Command::new(root.join("usr/local/sbin/vault-appliance-tls"))
        .env("ROOT", root)
        .output()
        .unwrap()
}

/// The module's own scripts, run for real under a scratch root: the leader makes an attested CA and its key,
/// its signer signs a follower's request made with the same token, and refuses one made with another; no
/// script writes a private key anywhere but the node's TLS directory.
#[test]
fn the_modules_scripts_make_keys_on_the_node_and_a_follower_enrolls_with_the_token() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let common = |token: &'static str| {
        vec![
            ("SERVER_NAME", "prod.vault.internal"),
            ("CA_NAME", "prod Vault CA"),
            ("DNS_NAMES", "prod.vault.internal localhost"),
            ("IP_ADDRESSES", "127.0.0.1"),
            ("ENROLLMENT_TOKEN", token),
            ("CERTIFICATE_DAYS", "365"),
        ]
    };
    let leader = tempfile::tempdir().unwrap();
    let mut settings = common(TOKEN);
    settings.extend([
        ("ROLE", "leader"),
        ("BIND_ADDRESS", "127.0.0.1"),
        ("ENROLLMENT_PORT", port.as_str()),
    ]);
    node(leader.path(), &settings);
    let made = run_tls_script(leader.path());
    assert!(made.status.success(), "{made:?}");
    let ca = std::fs::read_to_string(leader.path().join("mnt/vault-data/pki/ca.pem")).unwrap();
    let der = rustls_pki_der(&ca);
    wildside_tofu::vault::attest(&der, &SecretString::from(TOKEN)).unwrap();
    assert!(wildside_tofu::vault::attest(&der, &SecretString::from("another")).is_err());
    let key = leader.path().join("mnt/vault-data/pki/ca-key.pem");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions())
            & 0o777,
        0o600
    );

    let mut signer = std::process::Command::new("python3")
        .arg(leader.path().join("usr/local/sbin/vault-appliance-signer"))
        .env("ROOT", leader.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let follower = |token: &'static str| {
        let root = tempfile::tempdir().unwrap();
        let mut settings = common(token);
        settings.extend([
            ("ROLE", "follower"),
            ("LEADER_ADDRESS", "127.0.0.1"),
            ("ENROLLMENT_PORT", port.as_str()),
        ]);
        node(root.path(), &settings);
        root
    };
    let enrolled = follower(TOKEN);
    let made = run_tls_script(enrolled.path());
    let tls = enrolled.path().join("mnt/vault-data/tls");
    let follower_ca = std::fs::read_to_string(tls.join("ca.pem"));
    // The impostor's script retries for minutes: it is stopped once its refusal is seen.
    let impostor = follower("not-the-token");
    let mut refused =
        std::process::Command::new(impostor.path().join("usr/local/sbin/vault-appliance-tls"))
            .env("ROOT", impostor.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let _ = refused.kill();
    let refusal = refused.wait_with_output().unwrap();
    let _ = signer.kill();
    let _ = signer.wait();
    assert!(made.status.success(), "{made:?}");
    assert_eq!(
        follower_ca.unwrap(),
        ca,
        "the follower trusts the leader's CA"
    );
    let chain = std::fs::read_to_string(tls.join("server.pem")).unwrap();
    assert!(
        chain.ends_with(&ca),
        "the follower's chain ends with the CA"
    );
    assert!(tls.join("server-key.pem").is_file());
    assert!(
        String::from_utf8_lossy(&refusal.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&refusal.stderr)
    );
    assert!(
        !impostor
            .path()
            .join("mnt/vault-data/tls/server.pem")
            .exists()
    );
}

/// The DER of a PEM certificate.
fn rustls_pki_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}
