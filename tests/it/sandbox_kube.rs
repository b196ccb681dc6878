//! The sandbox's Kubernetes clusters are real API servers where `make tools` built kube-apiserver, etcd,
//! kube-controller-manager and kubectl (`kube-tools.env`): a cluster's kubeconfig works with kubectl, its token
//! stops working when it expires and a fresh kubeconfig works again, and the controller manager makes a
//! namespace's default ServiceAccount and computes a ResourceQuota, so that the API server refuses a pod over
//! the quota.
//!
//! `kubeconfig refresh` puts a fresh kubeconfig in Vault once the one `up` stored there has expired.
//!
//! Without those tools the tests say why and are skipped (they do not pass).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::sandbox_provider::{on_sandbox, provider_mirror};
use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project, Sandbox};

/// How long a loaded machine gets for an API server to start, or for the controller manager to act.
pub(crate) const PATIENCE: Duration = Duration::from_secs(180);

/// `key` from `make tools`' Kubernetes manifest, if it names a file that exists.
fn kube_tool(key: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("WILDSIDE_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/wildside-tofu"))
        })?;
    let manifest = std::fs::read_to_string(cache.join("kube-tools.env")).ok()?;
    manifest
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(name, _)| name.trim() == key)
        .map(|(_, value)| PathBuf::from(value.trim()))
        .filter(|path| path.exists())
}

/// kubectl, if every tool a real cluster needs is installed; otherwise prints why the test is skipped.
pub(crate) fn kubectl_or_skip(test: &str) -> Option<PathBuf> {
    let missing: Vec<&str> = [
        "ETCD",
        "KUBE_APISERVER",
        "KUBE_CONTROLLER_MANAGER",
        "KUBECTL",
    ]
    .into_iter()
    .filter(|key| kube_tool(key).is_none())
    .collect();
    if missing.is_empty() {
        return kube_tool("KUBECTL");
    }
    eprintln!(
        "SKIPPED {test}: kube-tools.env names no {} (`make tools` builds them with scripts/kube-tools.sh)",
        missing.join(", ")
    );
    None
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn api(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, String) {
    block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth("kube-test");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// Creates a cluster of the newest version the sandbox offers, with one pool; returns its id.
fn create_cluster(sandbox: &Sandbox, name: &str) -> String {
    let (status, options) = api(
        reqwest::Method::GET,
        &format!("{}/v2/kubernetes/options", sandbox.url),
        None,
    );
    assert_eq!(status, 200, "{options}");
    let options: Value = serde_json::from_str(&options).unwrap();
    let version = options["options"]["versions"][0]["slug"].clone();
    let (status, created) = api(
        reqwest::Method::POST,
        &format!("{}/v2/kubernetes/clusters", sandbox.url),
        Some(json!({
            "name": name, "region": "nyc3", "version": version,
            "node_pools": [{"name": "default", "size": "s-2vcpu-4gb", "count": 1}],
        })),
    );
    assert_eq!(status, 201, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    created["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// How long the credentials the sandbox gives for cluster `id` with `query` last from now.
fn credentials_last(sandbox: &Sandbox, id: &str, query: &str) -> Duration {
    let (status, credentials) = api(
        reqwest::Method::GET,
        &format!(
            "{}/v2/kubernetes/clusters/{id}/credentials{query}",
            sandbox.url
        ),
        None,
    );
    assert_eq!(status, 200, "{credentials}");
    let credentials: Value = serde_json::from_str(&credentials).unwrap();
    let expires_at: jiff::Timestamp = credentials["expires_at"].as_str().unwrap().parse().unwrap();
    Duration::try_from(expires_at.duration_since(jiff::Timestamp::now())).unwrap()
}

/// Creates a cluster and waits until DigitalOcean's API says it runs (its API server answers); returns its id.
pub(crate) fn running_cluster(sandbox: &Sandbox, name: &str) -> String {
    let id = create_cluster(sandbox, name);
    let started = Instant::now();
    loop {
        let (_, cluster) = api(
            reqwest::Method::GET,
            &format!("{}/v2/kubernetes/clusters/{id}", sandbox.url),
            None,
        );
        let cluster: Value = serde_json::from_str(&cluster).unwrap();
        if cluster["kubernetes_cluster"]["status"]["state"] == "running" {
            let endpoint = cluster["kubernetes_cluster"]["endpoint"].as_str().unwrap();
            assert!(
                endpoint.starts_with("https://127.0.0.1:"),
                "a running cluster's endpoint is its API server: {endpoint}"
            );
            return id;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the cluster's API server did not become ready: {cluster}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Writes the cluster's kubeconfig, as DigitalOcean's API returns it, to `path`.
pub(crate) fn write_kubeconfig(sandbox: &Sandbox, id: &str, query: &str, path: &Path) {
    let (status, text) = api(
        reqwest::Method::GET,
        &format!(
            "{}/v2/kubernetes/clusters/{id}/kubeconfig{query}",
            sandbox.url
        ),
        None,
    );
    assert_eq!(status, 200, "{text}");
    std::fs::write(path, text).unwrap();
}

fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout", "20s"])
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_cluster_kubeconfig_works_with_kubectl_until_its_token_expires() {
    let Some(kubectl_bin) = kubectl_or_skip("a_cluster_kubeconfig_works_with_kubectl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_with_clusters(dir.path(), &["--kube-token-lifetime", "15s"]);
    let id = running_cluster(&sandbox, "kube-expiry");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&sandbox, &id, "", &kubeconfig);

    let namespaces = kubectl(
        &kubectl_bin,
        &kubeconfig,
        &["get", "namespaces", "-o", "name"],
    );
    assert!(namespaces.status.success(), "{}", text(&namespaces));
    for namespace in ["namespace/default", "namespace/kube-system"] {
        assert!(
            String::from_utf8_lossy(&namespaces.stdout)
                .lines()
                .any(|line| line == namespace),
            "kubectl lists {namespace}: {}",
            text(&namespaces)
        );
    }

    // A request's own `expiry_seconds` is honoured, as DigitalOcean honours it.
    let lasts = credentials_last(&sandbox, &id, "?expiry_seconds=3600");
    assert!(
        lasts > Duration::from_secs(3500) && lasts <= Duration::from_secs(3600),
        "expiry_seconds=3600 gives a token for an hour, not {lasts:?}"
    );
    let long_lived = dir.path().join("long-lived");
    write_kubeconfig(&sandbox, &id, "?expiry_seconds=3600", &long_lived);

    std::thread::sleep(Duration::from_secs(16));
    let expired = kubectl(&kubectl_bin, &kubeconfig, &["get", "namespaces"]);
    assert!(
        !expired.status.success() && text(&expired).contains("Unauthorized"),
        "an expired token is refused: {}",
        text(&expired)
    );
    let still = kubectl(&kubectl_bin, &long_lived, &["get", "namespaces"]);
    assert!(
        still.status.success(),
        "a token asked for an hour still works: {}",
        text(&still)
    );
    write_kubeconfig(&sandbox, &id, "", &kubeconfig);
    let refreshed = kubectl(&kubectl_bin, &kubeconfig, &["get", "namespaces"]);
    assert!(
        refreshed.status.success(),
        "a fresh kubeconfig works: {}",
        text(&refreshed)
    );

    // Another cluster's token is refused here.
    let other = running_cluster(&sandbox, "kube-other");
    let other_config = dir.path().join("other");
    write_kubeconfig(&sandbox, &other, "", &other_config);
    let other_config_text = std::fs::read_to_string(&other_config).unwrap();
    let config_text = std::fs::read_to_string(&kubeconfig).unwrap();
    let other_token = token_of(&other_config_text);
    let crossed = dir.path().join("crossed");
    std::fs::write(
        &crossed,
        config_text.replace(&token_of(&config_text), &other_token),
    )
    .unwrap();
    let refused = kubectl(&kubectl_bin, &crossed, &["get", "namespaces"]);
    assert!(
        !refused.status.success() && text(&refused).contains("Unauthorized"),
        "a token of another cluster is refused: {}",
        text(&refused)
    );
    sandbox.stop();
}

/// The bearer token in a kubeconfig the sandbox wrote (JSON after its comment line).
fn token_of(kubeconfig: &str) -> String {
    let json = kubeconfig
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let config: Value = serde_json::from_str(&json).unwrap();
    config["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_controller_manager_makes_service_accounts_and_quotas_bind() {
    let Some(kubectl_bin) = kubectl_or_skip("the_controller_manager_makes_service_accounts") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_with_clusters(dir.path(), &[]);
    let id = running_cluster(&sandbox, "kube-quota");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&sandbox, &id, "", &kubeconfig);

    let manifest = dir.path().join("quota.json");
    std::fs::write(
        &manifest,
        serde_json::to_string(&json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pr-1"}},
                {
                    "apiVersion": "v1", "kind": "ResourceQuota",
                    "metadata": {"name": "compute", "namespace": "pr-1"},
                    "spec": {"hard": {"requests.cpu": "300m", "requests.memory": "512Mi", "pods": "4"}},
                },
            ],
        }))
        .unwrap(),
    )
    .unwrap();
    let applied = kubectl(
        &kubectl_bin,
        &kubeconfig,
        &["apply", "-f", manifest.to_str().unwrap()],
    );
    assert!(applied.status.success(), "{}", text(&applied));

    let started = Instant::now();
    loop {
        let account = kubectl(
            &kubectl_bin,
            &kubeconfig,
            &["-n", "pr-1", "get", "serviceaccount", "default"],
        );
        let quota = kubectl(
            &kubectl_bin,
            &kubeconfig,
            &[
                "-n",
                "pr-1",
                "get",
                "resourcequota",
                "compute",
                "-o",
                "jsonpath={.status.hard.requests\\.cpu}",
            ],
        );
        if account.status.success() && String::from_utf8_lossy(&quota.stdout) == "300m" {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the controller manager made no default ServiceAccount or quota status: {} {}",
            text(&account),
            text(&quota)
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    let pod = |name: &str, cpu: &str| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "pr-1"},
            "spec": {"containers": [{
                "name": "app", "image": "registry.invalid/app:1",
                "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"cpu": cpu, "memory": "64Mi"}},
            }]},
        })
    };
    let create = |body: Value| {
        let path = dir.path().join("pod.json");
        std::fs::write(&path, body.to_string()).unwrap();
        kubectl(
            &kubectl_bin,
            &kubeconfig,
            &["create", "-f", path.to_str().unwrap()],
        )
    };
    let within = create(pod("within", "200m"));
    assert!(within.status.success(), "{}", text(&within));
    let over = create(pod("over", "200m"));
    assert!(
        !over.status.success() && text(&over).contains("exceeded quota"),
        "the API server refuses a pod over the quota: {}",
        text(&over)
    );
    sandbox.stop();
}

/// The shipped dev stack, made runnable here: local state, its Vault the test's OpenBao, and no secrets (the
/// provider gets the sandbox's token); its kubeconfig still goes to Vault.
fn dev_stack_with_vault(bao: &OpenBao) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/dev.toml"))
            .unwrap();
    let mut stack: toml::Table = text.parse().unwrap();
    stack.remove("secrets");
    stack.insert(
        "backend".into(),
        toml::Value::Table(toml::toml! { type = "local" }),
    );
    stack.insert(
        "vault".into(),
        toml::Value::Table(toml::toml! { address = (bao.address()) }),
    );
    toml::to_string(&stack).unwrap()
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn kubeconfig_refresh_renews_the_expired_kubeconfig_in_vault() {
    let Some(kubectl_bin) = kubectl_or_skip("kubeconfig_refresh_renews_the_expired_kubeconfig")
    else {
        return;
    };
    let mirror = provider_mirror();
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("dev", &dev_stack_with_vault(&bao));
    // The stack asks for thirty-day credentials; the sandbox caps every token at thirty seconds.
    let sandbox =
        Sandbox::start_with_clusters(project.path(), &["--kube-token-max-lifetime", "30s"]);
    let run = || on_sandbox(&project, &sandbox, &mirror).env("VAULT_TOKEN", DEV_ROOT_TOKEN);
    let kubeconfig = project.path().join("kubeconfig");
    let from_vault = || {
        run()
            .args(["kubeconfig", "dev", "--write", kubeconfig.to_str().unwrap()])
            .output()
            .expect_code(0);
        std::fs::read_to_string(&kubeconfig).unwrap()
    };

    run().args(["up", "--yes", "dev"]).output().expect_code(0);
    let stored = from_vault();
    let namespaces = kubectl(
        &kubectl_bin,
        &kubeconfig,
        &["get", "namespaces", "-o", "name"],
    );
    assert!(
        namespaces.status.success()
            && String::from_utf8_lossy(&namespaces.stdout)
                .lines()
                .any(|line| line == "namespace/kube-system"),
        "the kubeconfig `up` put in Vault works: {}",
        text(&namespaces)
    );

    std::thread::sleep(Duration::from_secs(31));
    let expired = kubectl(&kubectl_bin, &kubeconfig, &["get", "namespaces"]);
    assert!(
        !expired.status.success() && text(&expired).contains("Unauthorized"),
        "the stored kubeconfig's token expired: {}",
        text(&expired)
    );

    let refresh = run()
        .args(["--output", "json", "kubeconfig", "refresh", "dev"])
        .output()
        .expect_code(0);
    assert_eq!(refresh.json()["command"], "kubeconfig_refresh");
    assert_eq!(
        refresh.json()["vault"]["written"],
        true,
        "{}",
        refresh.stdout()
    );
    let refreshed = from_vault();
    assert_ne!(refreshed, stored, "Vault holds a new kubeconfig");
    let token = token_of(&refreshed);
    assert!(
        !refresh.stdout().contains(&token) && !refresh.stderr().contains(&token),
        "the refresh never prints the kubeconfig's token"
    );
    let works = kubectl(&kubectl_bin, &kubeconfig, &["get", "namespaces"]);
    assert!(
        works.status.success(),
        "the refreshed kubeconfig from Vault works: {}",
        text(&works)
    );

    // `--all`, as the daily workflow runs it: every stack with a cluster whose kubeconfig is in Vault, and
    // the others passed over with why.
    project.stack(
        "greeting",
        &crate::support::example_stack("[backend]\ntype = \"local\"", "message = \"hi\""),
    );
    let all = run()
        .args(["--output", "json", "kubeconfig", "refresh", "--all"])
        .output()
        .expect_code(0);
    let report = all.json();
    assert_eq!(report["command"], "kubeconfig_refresh_all", "{report}");
    assert_eq!(report["refreshed"][0]["stack"], "dev", "{report}");
    assert_eq!(report["refreshed"][0]["vault"]["written"], true, "{report}");
    assert_eq!(
        report["skipped"],
        json!([{ "stack": "greeting", "reason": "no_cluster" }]),
        "{report}"
    );
    assert_ne!(
        from_vault(),
        refreshed,
        "Vault holds another new kubeconfig"
    );
    sandbox.stop();
}

#[test]
fn a_capped_sandbox_shortens_what_a_request_asks_for_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    // Simulated clusters: credentials need a cluster, not its API server.
    let sandbox = Sandbox::start(dir.path(), &["--kube-token-max-lifetime", "20s"]);
    let id = create_cluster(&sandbox, "capped");
    let lasts = |query: &str| credentials_last(&sandbox, &id, query);
    for query in ["?expiry_seconds=2592000", ""] {
        let lasts = lasts(query);
        assert!(
            lasts <= Duration::from_secs(20),
            "`{query}` is capped at 20 s, not {lasts:?}"
        );
    }
    let short = lasts("?expiry_seconds=5");
    assert!(
        short <= Duration::from_secs(5),
        "a shorter request is honoured, not {short:?}"
    );
}
