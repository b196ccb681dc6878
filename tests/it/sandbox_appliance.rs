//! The platform's Vault appliance, for real, on the sandbox: `up prod` gives each of its three droplets a real
//! OpenBao server configured by the module's cloud-init, whose scripts run for real: each node makes its own
//! TLS key, the leader its CA, and the followers enroll with the leader's signer (no private key is in any
//! user data). Behind the sandbox's load balancer, which refuses sources outside the stack's `api_cidrs`:
//! `vault bootstrap --appliance prod` through the balancer (the CA trusted only once attested with the stack's
//! enrollment token, then pinned), the followers unsealed and joined with the CA they enrolled with, KV writes
//! and reads through the balancer, `outputs push` and `kubeconfig` against the appliance, writes that go on
//! with a follower powered off, and a `down` that stops every server the sandbox started.
//!
//! Bootstrapping goes through the balancer with the followers powered off: the balancer cannot tell the first
//! node from the others while all are uninitialised (see the module's README), and a follower initialised
//! instead would form a cluster of its own.
//!
//! That test is ignored unless the DigitalOcean provider is available, as in `sandbox_provider`. The other one
//! needs only OpenBao: a droplet created through the API with a cloud-config that starts a server, behind a
//! load balancer whose firewall admits only its allow-list, through power off and on, a sandbox restart, and
//! delete.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{Project, Run, Sandbox, tool};

const NEEDS_PROVIDER: &str = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it";

fn provider_mirror() -> PathBuf {
    std::env::var_os("WILDSIDE_PROVIDER_MIRROR")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            crate::support::tools()
                .get("WILDSIDE_PROVIDER_MIRROR")
                .map(PathBuf::from),
        )
        .find(|mirror| {
            mirror
                .join("registry.opentofu.org/digitalocean/digitalocean")
                .is_dir()
        })
        .unwrap_or_else(|| panic!("{NEEDS_PROVIDER}; no mirror holds it"))
}

/// `stacks/prod.toml` made runnable here (local state, no Vault), as `sandbox_provider` does; with
/// `vault_address`, its `[vault]` is the appliance itself (AppRole, the appliance's CA) and its
/// `[outputs_to_vault]` is kept.
fn prod_stack(vault_address: Option<&str>) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/prod.toml"))
            .unwrap();
    let mut document: toml::Table = text.parse().unwrap();
    document.remove("vault");
    document.remove("secrets");
    // The sandbox's balancer sees this machine's connections come from 127.0.0.1: that is the allow-list.
    document["vault_appliance"]["api_cidrs"] = toml::Value::Array(vec!["127.0.0.1/32".into()]);
    let to_vault = document.remove("outputs_to_vault");
    document.insert(
        "backend".into(),
        toml::Value::Table(toml::toml! { type = "local" }),
    );
    if let (Some(address), Some(to_vault)) = (vault_address, to_vault) {
        document.insert(
            "vault".into(),
            toml::Value::Table(toml::toml! {
                address = address
                ca_cert = "vault-ca.pem"
                auth = "approle"
            }),
        );
        document.insert("outputs_to_vault".into(), to_vault);
        // The state's key stays outside the Vault that the state describes.
        document.insert(
            "encryption".into(),
            toml::Value::Table(toml::toml! { key = "passphrase" }),
        );
    }
    toml::to_string(&document).unwrap()
}

/// One call of the sandbox's API.
fn api(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", sandbox.url))
            .bearer_auth("test");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    })
}

/// Powers a droplet off or on, through the API: what no `wildside-tofu` command does.
fn power(sandbox: &Sandbox, droplet: u64, action: &str) {
    let (status, body) = api(
        sandbox,
        reqwest::Method::POST,
        &format!("/v2/droplets/{droplet}/actions"),
        Some(serde_json::json!({ "type": action })),
    );
    assert!(status < 300, "{action} droplet {droplet}: {status} {body}");
}

/// The appliance's droplets from the sandbox's state, by name: (name, id, public address).
fn nodes(sandbox: &Sandbox) -> Vec<(String, u64, String)> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sandbox.state).unwrap()).unwrap();
    let mut nodes: Vec<(String, u64, String)> = state["droplets"]
        .as_object()
        .unwrap()
        .values()
        .filter(|droplet| droplet["name"].as_str().unwrap().starts_with("prod-vault-"))
        .map(|droplet| {
            (
                droplet["name"].as_str().unwrap().to_string(),
                droplet["id"].as_u64().unwrap(),
                droplet["public_address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    nodes.sort();
    nodes
}

/// The real `bao` CLI at `address`, trusting only the appliance's CA.
struct Bao {
    address: String,
    ca: PathBuf,
    server_name: Option<&'static str>,
    token: Option<String>,
}

impl Bao {
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(tool("WILDSIDE_BAO_BIN"));
        command
            .args(args)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .env("BAO_ADDR", &self.address)
            .env("BAO_CACERT", &self.ca)
            .env("BAO_CLIENT_TIMEOUT", "10s");
        if let Some(name) = self.server_name {
            command.env("BAO_TLS_SERVER_NAME", name);
        }
        if let Some(token) = &self.token {
            command.env("BAO_TOKEN", token);
        }
        command.output().unwrap()
    }

    fn status(&self) -> Option<serde_json::Value> {
        let output = self.run(&["status", "-format=json"]);
        serde_json::from_slice(&output.stdout).ok()
    }

    fn expect(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "bao {args:?} at {}: {}",
            self.address,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// Waits for `done`; on timeout, fails with the droplets' server processes and the end of their logs.
fn wait_for(what: &str, droplets: &Path, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            let mut logs = String::new();
            for entry in std::fs::read_dir(droplets).into_iter().flatten().flatten() {
                let log =
                    std::fs::read_to_string(entry.path().join("server.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                logs += &format!(
                    "\n--- droplet {}:\n{}",
                    entry.file_name().to_string_lossy(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            panic!(
                "timed out after {timeout:?}: {what}\nserver processes: {:#?}{logs}",
                servers_under(droplets)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `bao server` processes whose config lives in `dir` (the sandbox's droplet disks are there).
fn servers_under(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .filter(|line| line.contains(" server ") && line.contains(&needle))
        .collect()
}

fn phase(started: &mut Instant, name: &str) {
    eprintln!(
        "appliance e2e: {name}: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    *started = Instant::now();
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn the_vault_appliance_bootstraps_through_its_load_balancer_and_keeps_writing_with_a_follower_down()
{
    let mirror = provider_mirror();
    let total = Instant::now();
    let mut clock = Instant::now();
    let project = Project::new();
    project.stack("prod", &prod_stack(None));
    let sandbox = Sandbox::start(project.path(), &[]);
    let run = || -> Run {
        project
            .run()
            .args(["--sandbox", &sandbox.url])
            .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
    };

    run().args(["up", "--yes", "prod"]).output().expect_code(0);
    phase(&mut clock, "up prod");

    let outputs = run()
        .args(["output", "prod", "--json"])
        .output()
        .expect_code(0)
        .json();
    let output = |name: &str| {
        outputs["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|output| output["name"] == name)
            .unwrap_or_else(|| panic!("output {name} in {outputs}"))["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let endpoint = output("vault_endpoint");
    let ca = project.path().join("vault-ca.pem");
    let nodes = nodes(&sandbox);
    assert_eq!(
        nodes.iter().map(|node| node.0.as_str()).collect::<Vec<_>>(),
        ["prod-vault-0", "prod-vault-1", "prod-vault-2"]
    );
    // Raft and request forwarding admit the appliance's own nodes, by their tag, and nothing else of the VPC.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sandbox.state).unwrap()).unwrap();
    let firewall = state["firewalls"]
        .as_object()
        .unwrap()
        .values()
        .find(|firewall| firewall["name"] == "prod-vault")
        .unwrap_or_else(|| panic!("no firewall prod-vault in {}", state["firewalls"]));
    let raft: Vec<&serde_json::Value> = firewall["inbound_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule["ports"] == "8201")
        .collect();
    assert_eq!(
        raft,
        [
            &serde_json::json!({ "protocol": "tcp", "ports": "8201", "sources": { "tags": ["prod-vault"] } })
        ],
        "{firewall}"
    );
    // So is the leader's enrollment signer.
    let enrollment: Vec<&serde_json::Value> = firewall["inbound_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule["ports"] == "8210")
        .collect();
    assert_eq!(
        enrollment,
        [
            &serde_json::json!({ "protocol": "tcp", "ports": "8210", "sources": { "tags": ["prod-vault"] } })
        ],
        "{firewall}"
    );
    let droplets_dir = PathBuf::from(format!("{}.droplets", sandbox.state.display()));
    wait_for(
        "three servers run, once their cloud-init made their keys (the followers' signed by the leader)",
        &droplets_dir,
        Duration::from_secs(120),
        || servers_under(&droplets_dir).len() == 3,
    );
    no_private_key_leaves_the_nodes(&droplets_dir, &nodes);

    // Only the first node takes the bootstrap (see the module docs).
    for (_, id, _) in &nodes[1..] {
        power(&sandbox, *id, "power_off");
    }
    wait_for(
        "the followers' servers stop",
        &droplets_dir,
        Duration::from_secs(30),
        || servers_under(&droplets_dir).len() == 1,
    );
    let through_balancer = Bao {
        address: endpoint.clone(),
        ca: ca.clone(),
        server_name: None,
        token: None,
    };

    let bootstrap_state = project.path().join("bootstrap.json");
    let secret_id_file = project.path().join("secret-id");
    // The first time, the CA is learnt from the appliance (and must attest itself with the stack's enrollment
    // token); later, it is the pinned one.
    let bootstrap = |target: [&str; 2]| {
        run()
            .args(["--output", "json", "vault", "bootstrap"])
            .args(target)
            .args([
                "--ca-cert".as_ref(),
                ca.as_os_str(),
                "--state-file".as_ref(),
                bootstrap_state.as_os_str(),
                "--secret-id-file".as_ref(),
                secret_id_file.as_os_str(),
            ])
            .output()
            .expect_code(0)
    };
    let role_id = bootstrap(["--appliance", "prod"]).json()["apply"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pinned = std::fs::read_to_string(&ca).unwrap();
    let leader_ca = std::fs::read_to_string(
        droplets_dir
            .join(nodes[0].1.to_string())
            .join("fs/mnt/vault-data/pki/ca.pem"),
    )
    .unwrap();
    assert_eq!(
        pinned, leader_ca,
        "the pinned CA is the one the leader made"
    );
    assert!(
        through_balancer.status().is_some(),
        "the balancer's TLS verifies against the pinned CA"
    );
    assert!(
        from_outside_allow_list(&endpoint).is_none(),
        "the balancer's firewall refuses a source outside api_cidrs"
    );
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bootstrap_state).unwrap()).unwrap();
    let root_token = keys["root_token"].as_str().unwrap().to_string();
    phase(&mut clock, "vault bootstrap through the balancer");

    // The followers come up, join the first node as their cloud-init says, and are unsealed at their own
    // addresses, as an operator does from inside the VPC.
    for (name, id, address) in &nodes[1..] {
        power(&sandbox, *id, "power_on");
        let node = Bao {
            address: format!("https://{address}:8200"),
            ca: ca.clone(),
            server_name: Some("prod.vault.internal"),
            token: None,
        };
        wait_for(
            &format!("{name} joins and waits for the unseal keys"),
            &droplets_dir,
            Duration::from_secs(60),
            || {
                node.status()
                    .is_some_and(|status| status["initialized"] == true)
            },
        );
        // The keys up to the threshold; the node then completes its join and unseals.
        for key in keys["unseal_keys_b64"].as_array().unwrap().iter().take(3) {
            node.expect(&["operator", "unseal", key.as_str().unwrap()]);
        }
        let log = droplets_dir.join(id.to_string()).join("server.log");
        wait_for(
            &format!("{name} unseals"),
            &droplets_dir,
            Duration::from_secs(60),
            || {
                node.status()
                    .is_some_and(|status| status["sealed"] == false)
                    || !log.exists()
            },
        );
        assert_eq!(
            node.status().unwrap()["sealed"],
            false,
            "{name} is unsealed; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let admin = Bao {
        token: Some(root_token),
        ..through_balancer
    };
    wait_for(
        "three raft voters",
        &droplets_dir,
        Duration::from_secs(60),
        || {
            let peers = admin.run(&["operator", "raft", "list-peers", "-format=json"]);
            serde_json::from_slice::<serde_json::Value>(&peers.stdout).is_ok_and(|peers| {
                peers["data"]["config"]["servers"]
                    .as_array()
                    .is_some_and(|servers| {
                        servers.iter().filter(|s| s["voter"] == true).count() == 3
                    })
            })
        },
    );
    phase(&mut clock, "followers joined and unsealed");

    admin.expect(&[
        "kv",
        "put",
        "-mount=secret",
        "appliance/canary",
        "value=first",
    ]);
    assert!(
        admin
            .expect(&[
                "kv",
                "get",
                "-mount=secret",
                "-field=value",
                "appliance/canary"
            ])
            .contains("first")
    );

    project.stack("prod", &prod_stack(Some(&endpoint)));
    // Bootstrap again for the stack that now writes to this Vault: the apply role may write its outputs; the
    // plan role, which reads only plan secrets, is unchanged.
    assert_eq!(
        bootstrap(["--address", endpoint.as_str()]).json()["changed"],
        serde_json::json!(["wrote policy wildside-apply"])
    );
    let secret_id = std::fs::read_to_string(&secret_id_file).unwrap();
    let with_approle = || {
        run()
            .env("VAULT_ROLE_ID", &role_id)
            .env("VAULT_SECRET_ID", secret_id.trim())
    };
    with_approle()
        .args(["outputs", "push", "prod"])
        .output()
        .expect_code(0);
    let kubeconfig = with_approle()
        .args(["kubeconfig", "prod"])
        .output()
        .expect_code(0);
    assert!(
        kubeconfig.stdout().starts_with("apiVersion: v1"),
        "{}",
        kubeconfig.stdout()
    );
    phase(
        &mut clock,
        "KV, outputs push and kubeconfig through the balancer",
    );

    let (name, id, address) = &nodes[2];
    power(&sandbox, *id, "power_off");
    wait_for(
        &format!("{name}'s server stops"),
        &droplets_dir,
        Duration::from_secs(30),
        || TcpStream::connect((address.as_str(), 8200)).is_err(),
    );
    for attempt in 1..=5 {
        admin.expect(&[
            "kv",
            "put",
            "-mount=secret",
            "appliance/canary",
            &format!("value=follower-down-{attempt}"),
        ]);
    }
    assert!(
        admin
            .expect(&[
                "kv",
                "get",
                "-mount=secret",
                "-field=value",
                "appliance/canary"
            ])
            .contains("follower-down-5")
    );
    phase(&mut clock, "writes with a follower down");

    project.stack("prod", &prod_stack(None));
    run()
        .args(["down", "--yes", "prod"])
        .output()
        .expect_code(0);
    wait_for(
        "every server the sandbox started stops",
        &droplets_dir,
        Duration::from_secs(30),
        || servers_under(&droplets_dir).is_empty(),
    );
    assert_eq!(sandbox.resources(), Vec::<(String, usize)>::new());
    phase(&mut clock, "down prod");
    eprintln!("appliance e2e: total {:.1}s", total.elapsed().as_secs_f64());
}

/// A cloud-config that starts an OpenBao server the way the appliance's does (a template the setup script
/// renders with the droplet's address), over plain HTTP.
const PLAIN_SERVER: &str = r#"#cloud-config
write_files:
  - path: /etc/bao/server.hcl.in
    content: |
      disable_mlock = true
      api_addr      = "http://PRIVATE_IP:8200"
      cluster_addr  = "https://PRIVATE_IP:8201"
      storage "raft" {
        path    = "/var/lib/bao/raft"
        node_id = "solo"
      }
      listener "tcp" {
        address         = "0.0.0.0:8200"
        cluster_address = "0.0.0.0:8201"
        tls_disable     = true
      }
  - path: /usr/local/sbin/setup
    permissions: "0755"
    content: |
      #!/bin/sh
      sed "s/PRIVATE_IP/$address/g" /etc/bao/server.hcl.in > /etc/bao/server.hcl
      exec bao server -config=/etc/bao/server.hcl
runcmd:
  - [/usr/local/sbin/setup]
"#;

/// `GET path` over plain HTTP at `address`: the status line, or nothing when the connection fails or closes.
/// No droplet's user data (as cloud-init keeps it on the droplet, and as the metadata service would serve it)
/// holds a private key; each node's key is on its own disk alone, mode 0600; only the leader holds the CA's
/// key, and each follower trusts the leader's CA.
fn no_private_key_leaves_the_nodes(droplets: &Path, nodes: &[(String, u64, String)]) {
    let root = |id: u64| droplets.join(id.to_string()).join("fs");
    let leader_ca =
        std::fs::read_to_string(root(nodes[0].1).join("mnt/vault-data/pki/ca.pem")).unwrap();
    for (index, (name, id, _)) in nodes.iter().enumerate() {
        let user_data =
            std::fs::read_to_string(root(*id).join("var/lib/cloud/instance/user-data.txt"))
                .unwrap();
        assert!(user_data.starts_with("#cloud-config"), "{name}");
        assert!(
            !user_data.contains("PRIVATE KEY"),
            "{name}'s user data holds a private key"
        );
        let key = root(*id).join("mnt/vault-data/tls/server-key.pem");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&key).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{name}'s key");
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .contains("PRIVATE KEY")
        );
        assert_eq!(
            root(*id).join("mnt/vault-data/pki/ca-key.pem").exists(),
            index == 0,
            "only the leader holds the CA's key ({name})"
        );
        assert_eq!(
            std::fs::read_to_string(root(*id).join("mnt/vault-data/tls/ca.pem")).unwrap(),
            leader_ca,
            "{name} trusts the leader's CA"
        );
    }
}

fn http_get(address: (&str, u16), path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.lines().next().map(str::to_string)
}

/// Connects to `endpoint` (`https://host[:port]`) from 127.0.0.2, a loopback source outside an allow-list of
/// 127.0.0.1, and reads: the bytes that came back, or nothing when the connection failed or closed at once.
fn from_outside_allow_list(endpoint: &str) -> Option<Vec<u8>> {
    let authority = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let address: std::net::SocketAddr = if authority.contains(':') {
        authority.parse().unwrap()
    } else {
        format!("{authority}:443").parse().unwrap()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind("127.0.0.2:0".parse().unwrap()).ok()?;
        let mut stream = socket.connect(address).await.ok()?;
        // A TLS client hello's first bytes would do as well: anything a droplet would answer.
        stream
            .write_all(b"GET /v1/sys/seal-status HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            .await
            .ok()?;
        let mut reply = vec![0; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut reply))
            .await
            .ok()?
            .ok()?;
        (read > 0).then(|| reply[..read].to_vec())
    })
}

fn answers(address: (&str, u16)) -> bool {
    http_get(address, "/v1/sys/seal-status").is_some_and(|status| status.contains(" 200 "))
}

#[test]
fn a_droplets_cloud_init_server_runs_behind_a_load_balancer_until_power_off_delete_or_stop() {
    let project = Project::new();
    let mut sandbox = Sandbox::start(project.path(), &[]);
    let droplets_dir = PathBuf::from(format!("{}.droplets", sandbox.state.display()));
    let (status, created) = api(
        &sandbox,
        reqwest::Method::POST,
        "/v2/droplets",
        Some(serde_json::json!({
            "name": "solo", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
            "user_data": PLAIN_SERVER,
        })),
    );
    assert_eq!(status, 202, "{created}");
    let id = created["droplet"]["id"].as_u64().unwrap();
    let address = created["droplet"]["networks"]["v4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|network| network["type"] == "public")
        .unwrap()["ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        "the droplet's server answers",
        &droplets_dir,
        Duration::from_secs(60),
        || answers((&address, 8200)),
    );
    let state = std::fs::read_to_string(&sandbox.state).unwrap();
    assert!(
        !state.contains("write_files"),
        "the user data is not kept in the state file"
    );

    let (status, balancer) = api(
        &sandbox,
        reqwest::Method::POST,
        "/v2/load_balancers",
        Some(serde_json::json!({
            "name": "solo-lb", "region": "nyc3", "droplet_ids": [id],
            "firewall": { "allow": ["cidr:127.0.0.1/32"] },
            "forwarding_rules": [{
                "entry_protocol": "tcp", "entry_port": 8300,
                "target_protocol": "tcp", "target_port": 8200,
            }],
            "health_check": {
                "protocol": "http", "port": 8200, "path": "/v1/sys/health?uninitcode=200",
                "check_interval_seconds": 3, "response_timeout_seconds": 3,
                "healthy_threshold": 2, "unhealthy_threshold": 2,
            },
        })),
    );
    assert_eq!(status, 202, "{balancer}");
    let balancer_ip = balancer["load_balancer"]["ip"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        "the balancer forwards to its healthy droplet",
        &droplets_dir,
        Duration::from_secs(60),
        || answers((&balancer_ip, 8300)),
    );
    assert_eq!(
        balancer["load_balancer"]["firewall"]["allow"],
        serde_json::json!(["cidr:127.0.0.1/32"])
    );
    assert!(
        from_outside_allow_list(&format!("http://{balancer_ip}:8300")).is_none(),
        "a source outside the firewall's allow-list gets nothing through"
    );

    power(&sandbox, id, "power_off");
    wait_for(
        "a powered-off droplet's server stops",
        &droplets_dir,
        Duration::from_secs(30),
        || servers_under(&droplets_dir).is_empty(),
    );
    assert!(
        !answers((&balancer_ip, 8300)),
        "no healthy droplet: nothing answers"
    );
    power(&sandbox, id, "power_on");
    wait_for(
        "powered on, it answers again",
        &droplets_dir,
        Duration::from_secs(60),
        || answers((&address, 8200)),
    );

    // A restarted sandbox starts the server again from the droplet's disk.
    sandbox.stop();
    assert!(
        servers_under(&droplets_dir).is_empty(),
        "a stopped sandbox leaves no server"
    );
    sandbox = Sandbox::start(project.path(), &[]);
    wait_for(
        "after a restart the server answers again",
        &droplets_dir,
        Duration::from_secs(60),
        || answers((&address, 8200)),
    );

    let (status, _) = api(
        &sandbox,
        reqwest::Method::DELETE,
        &format!("/v2/droplets/{id}"),
        None,
    );
    assert_eq!(status, 204);
    wait_for(
        "a deleted droplet's server stops and its disk goes",
        &droplets_dir,
        Duration::from_secs(30),
        || servers_under(&droplets_dir).is_empty() && !droplets_dir.join(id.to_string()).exists(),
    );
    sandbox.stop();
}
