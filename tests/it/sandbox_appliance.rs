//! The platform's Vault appliance, for real, on the sandbox: `up prod` gives each of its three droplets a real
//! OpenBao server configured by the module's cloud-init, behind the sandbox's load balancer; `vault bootstrap`
//! through the balancer (TLS verified against the module's CA), the followers unsealed and joined, KV writes
//! and reads through the balancer, `outputs push` and `kubeconfig` against the appliance, writes that go on
//! with a follower powered off, and a `down` that stops every server the sandbox started.
//!
//! Bootstrapping goes through the balancer with the followers powered off: the balancer cannot tell the first
//! node from the others while all are uninitialised (see the module's README), and a follower initialised
//! instead would form a cluster of its own.
//!
//! Ignored unless the DigitalOcean provider is available, as in `sandbox_provider`.

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
    }
    toml::to_string(&document).unwrap()
}

/// The sandbox's API, for what no `wildside-tofu` command does: powering droplets off and on.
fn power(sandbox: &Sandbox, droplet: u64, action: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v2/droplets/{droplet}/actions", sandbox.url))
            .bearer_auth("test")
            .json(&serde_json::json!({ "type": action }))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{action} droplet {droplet}: {status}");
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

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
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

    run().args(["up", "prod"]).output().expect_code(0);
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
    std::fs::write(&ca, output("vault_ca_certificate")).unwrap();
    let nodes = nodes(&sandbox);
    assert_eq!(
        nodes.iter().map(|node| node.0.as_str()).collect::<Vec<_>>(),
        ["prod-vault-0", "prod-vault-1", "prod-vault-2"]
    );
    let droplets_dir = PathBuf::from(format!("{}.droplets", sandbox.state.display()));
    wait_for("three servers run", Duration::from_secs(30), || {
        servers_under(&droplets_dir).len() == 3
    });

    // Only the first node takes the bootstrap (see the module docs).
    for (_, id, _) in &nodes[1..] {
        power(&sandbox, *id, "power_off");
    }
    wait_for(
        "the followers' servers stop",
        Duration::from_secs(30),
        || servers_under(&droplets_dir).len() == 1,
    );
    let through_balancer = Bao {
        address: endpoint.clone(),
        ca: ca.clone(),
        server_name: None,
        token: None,
    };
    wait_for(
        "the balancer reaches the first node, with TLS verified against the module's CA",
        Duration::from_secs(90),
        || through_balancer.status().is_some(),
    );
    phase(&mut clock, "the balancer forwards");

    let bootstrap_state = project.path().join("bootstrap.json");
    let secret_id_file = project.path().join("secret-id");
    let bootstrap = run()
        .args([
            "--output",
            "json",
            "vault",
            "bootstrap",
            "--address",
            &endpoint,
        ])
        .args([
            "--ca-cert".as_ref(),
            ca.as_os_str(),
            "--state-file".as_ref(),
            bootstrap_state.as_os_str(),
            "--secret-id-file".as_ref(),
            secret_id_file.as_os_str(),
        ])
        .output()
        .expect_code(0);
    let role_id = bootstrap.json()["role_id"].as_str().unwrap().to_string();
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
        wait_for(&format!("{name} unseals"), Duration::from_secs(60), || {
            node.status()
                .is_some_and(|status| status["sealed"] == false)
                || !log.exists()
        });
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
    wait_for("three raft voters", Duration::from_secs(60), || {
        let peers = admin.run(&["operator", "raft", "list-peers", "-format=json"]);
        serde_json::from_slice::<serde_json::Value>(&peers.stdout).is_ok_and(|peers| {
            peers["data"]["config"]["servers"]
                .as_array()
                .is_some_and(|servers| servers.iter().filter(|s| s["voter"] == true).count() == 3)
        })
    });
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
        Duration::from_secs(30),
        || std::net::TcpStream::connect((address.as_str(), 8200)).is_err(),
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
    run().args(["down", "prod"]).output().expect_code(0);
    wait_for(
        "every server the sandbox started stops",
        Duration::from_secs(30),
        || servers_under(&droplets_dir).is_empty(),
    );
    assert_eq!(sandbox.resources(), Vec::<(String, usize)>::new());
    phase(&mut clock, "down prod");
    eprintln!("appliance e2e: total {:.1}s", total.elapsed().as_secs_f64());
}
