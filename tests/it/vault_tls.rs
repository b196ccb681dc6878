//! Vault over TLS with a private CA the test makes: every client the tool builds, token renewal included,
//! trusts the stack's `ca_cert`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{DEV_ROOT_TOKEN, Project, example_stack, free_port, tool};

/// An OpenBao dev server that also listens with TLS, on a certificate signed by the test's own CA.
struct TlsOpenBao {
    child: Child,
    dev_address: String,
    tls_address: String,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

impl TlsOpenBao {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "wildside-tofu test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        server_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let server = server_params.signed_by(&server_key, &issuer).unwrap();
        std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
        std::fs::write(
            dir.path().join("server-key.pem"),
            server_key.serialize_pem(),
        )
        .unwrap();
        let (dev_port, tls_port) = (free_port(), free_port());
        let listener = hcl::Body::builder()
            .add_block(
                hcl::Block::builder("listener")
                    .add_label("tcp")
                    .add_attribute(("address", format!("127.0.0.1:{tls_port}")))
                    .add_attribute(("cluster_address", format!("127.0.0.1:{}", tls_port + 1)))
                    .add_attribute((
                        "tls_cert_file",
                        dir.path().join("server.pem").display().to_string(),
                    ))
                    .add_attribute((
                        "tls_key_file",
                        dir.path().join("server-key.pem").display().to_string(),
                    ))
                    .build(),
            )
            .build();
        std::fs::write(
            dir.path().join("tls.hcl"),
            hcl::to_string(&listener).unwrap(),
        )
        .unwrap();
        let child = Command::new(tool("WILDSIDE_BAO_BIN"))
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={DEV_ROOT_TOKEN}"),
                &format!("-dev-listen-address=127.0.0.1:{dev_port}"),
                "-config",
            ])
            .arg(dir.path().join("tls.hcl"))
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "OpenBao did not listen with TLS: {}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Stacks with [vault] keep their state keys in transit.
        while !Command::new(tool("WILDSIDE_BAO_BIN"))
            .args(["secrets", "enable", "transit"])
            .env("BAO_ADDR", format!("http://127.0.0.1:{dev_port}"))
            .env("BAO_TOKEN", DEV_ROOT_TOKEN)
            .output()
            .unwrap()
            .status
            .success()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "transit could not be enabled"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            dev_address: format!("http://127.0.0.1:{dev_port}"),
            tls_address: format!("https://127.0.0.1:{tls_port}"),
            ca_pem: ca.pem(),
            _dir: dir,
        }
    }

    /// A renewable token that expires after `ttl` unless renewed.
    fn short_token(&self, ttl: &str) -> String {
        let output = Command::new(tool("WILDSIDE_BAO_BIN"))
            .args(["token", "create", "-policy=root", "-field=token"])
            .arg(format!("-ttl={ttl}"))
            .arg("-renewable=true")
            .env("BAO_ADDR", &self.dev_address)
            .env("BAO_TOKEN", DEV_ROOT_TOKEN)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

impl Drop for TlsOpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_long_run_renews_its_token_over_tls_with_the_stacks_ca() {
    let bao = TlsOpenBao::start();
    let project = Project::new();
    std::fs::write(project.path().join("vault-ca.pem"), &bao.ca_pem).unwrap();
    let stack = format!(
        "{}\n[vault]\naddress = \"{}\"\nca_cert = \"vault-ca.pem\"\n\n[outputs_to_vault]\nmessage = \"message\"\n",
        example_stack(
            "[backend]\ntype = \"local\"",
            "message = \"renewed\", delay_seconds = 8"
        ),
        bao.tls_address
    );
    project.stack("slow", &stack);
    let token = bao.short_token("4s");
    let up = project
        .run()
        .args(["up", "--yes", "slow"])
        .env("VAULT_TOKEN", &token)
        .output()
        .expect_code(0);
    assert!(
        up.stdout()
            .contains("message -> wildside/slow/default/message: written"),
        "{}",
        up.stdout()
    );
}

#[test]
fn a_vault_whose_certificate_the_stack_does_not_trust_is_refused() {
    let bao = TlsOpenBao::start();
    let project = Project::new();
    let stack = format!(
        "{}\n[vault]\naddress = \"{}\"\n\n[outputs_to_vault]\nmessage = \"message\"\n",
        example_stack("[backend]\ntype = \"local\"", "message = \"untrusted\""),
        bao.tls_address
    );
    project.stack("untrusted", &stack);
    let refused = project
        .run()
        .args(["up", "--yes", "untrusted"])
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .output()
        .expect_code(1);
    assert!(
        refused.stderr().contains(&bao.tls_address),
        "{}",
        refused.stderr()
    );
}

/// A certificate the client does not trust is a TLS error at once: bootstrap does not wait for it to go away.
#[test]
fn bootstrap_blames_an_untrusted_certificate_on_the_ca_at_once() {
    let bao = TlsOpenBao::start();
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let refused = crate::support::Run::new()
        .args(["vault", "bootstrap", "--address", &bao.tls_address])
        .args(["--wait", "60s", "--state-file"])
        .args([dir.path().join("state.json")])
        .env_remove_vault_token()
        .output()
        .expect_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "waited {:?}",
        started.elapsed()
    );
    assert!(
        refused.stderr().contains("TLS with Vault"),
        "{}",
        refused.stderr()
    );
    assert!(refused.stderr().contains("ca_cert"), "{}", refused.stderr());
}
