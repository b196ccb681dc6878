//! The platform stacks on the sandbox with the real `digitalocean/digitalocean` provider: up, a clean second
//! plan (the sandbox returns every computed attribute), an in-place pool resize, and a down that leaves the
//! sandbox empty; and DigitalOcean's 422 message in our error output.
//!
//! The provider is not served by the registries this project's CI reaches, so these tests are ignored unless
//! `make test` finds it (`WILDSIDE_PROVIDER_MIRROR`, or the mirror `make tools` keeps); they then run with
//! `--include-ignored`, and fail loudly if it is gone.

mod support;

use std::path::{Path, PathBuf};

use support::{Project, Run, Sandbox};

const NEEDS_PROVIDER: &str = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it";

/// The filesystem mirror that holds the DigitalOcean provider.
fn provider_mirror() -> PathBuf {
    let candidates = std::env::var_os("WILDSIDE_PROVIDER_MIRROR")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            support::tools()
                .get("WILDSIDE_PROVIDER_MIRROR")
                .map(PathBuf::from),
        );
    for mirror in candidates {
        if mirror
            .join("registry.opentofu.org/digitalocean/digitalocean")
            .is_dir()
        {
            return mirror;
        }
    }
    panic!("{NEEDS_PROVIDER}; neither WILDSIDE_PROVIDER_MIRROR nor the tools mirror holds it")
}

/// A shipped stack, made runnable here: local state, and no Vault (the provider gets the sandbox's token).
fn shipped_stack(name: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("stacks/{name}.toml")),
    )
    .unwrap();
    let mut document: toml::Table = text.parse().unwrap();
    for section in ["vault", "secrets", "outputs_to_vault"] {
        document.remove(section);
    }
    document.insert(
        "backend".into(),
        toml::Value::Table(toml::toml! { type = "local" }),
    );
    toml::to_string(&document).unwrap()
}

fn on_sandbox(project: &Project, sandbox: &Sandbox, mirror: &Path) -> Run {
    project
        .run()
        .args(["--sandbox", &sandbox.url])
        .env("WILDSIDE_PROVIDER_MIRROR", mirror)
}

fn lifecycle(name: &str, resize: (&str, &str)) {
    let mirror = provider_mirror();
    let project = Project::new();
    project.stack(name, &shipped_stack(name));
    let sandbox = Sandbox::start(project.path(), &[]);

    let up = on_sandbox(&project, &sandbox, &mirror)
        .args(["--output", "json", "up", name])
        .output()
        .expect_code(0);
    assert!(up.json()["changed"].as_bool().unwrap(), "{}", up.stdout());
    assert!(!sandbox.resources().is_empty());

    on_sandbox(&project, &sandbox, &mirror)
        .args(["plan", name, "--detailed-exitcode"])
        .output()
        .expect_code(0);

    let resized = shipped_stack(name).replacen(resize.0, resize.1, 1);
    assert_ne!(
        resized,
        shipped_stack(name),
        "the resize applies to the stack"
    );
    project.stack(name, &resized);
    let update = on_sandbox(&project, &sandbox, &mirror)
        .args(["--output", "json", "up", name])
        .output()
        .expect_code(0);
    assert_eq!(
        update.json()["summary"]["changes"],
        serde_json::json!([{"action": "update", "address": "module.cluster.digitalocean_kubernetes_cluster.this"}]),
        "the default pool's count changes in place: {}",
        update.stdout()
    );

    on_sandbox(&project, &sandbox, &mirror)
        .args(["down", name])
        .output()
        .expect_code(0);
    assert_eq!(sandbox.resources(), Vec::<(String, usize)>::new());
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn dev_goes_up_plans_clean_resizes_in_place_and_comes_down_empty() {
    lifecycle("dev", ("count = 2", "count = 3"));
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn prod_with_three_pools_and_the_vault_appliance_goes_up_and_comes_down_empty() {
    lifecycle("prod", ("count = 3", "count = 4"));
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn an_invalid_size_shows_digitaloceans_422_message() {
    let mirror = provider_mirror();
    let project = Project::new();
    let stack = shipped_stack("dev").replacen("s-2vcpu-4gb", "s-64vcpu-999gb", 1);
    project.stack("dev", &stack);
    let sandbox = Sandbox::start(project.path(), &[]);
    let failed = on_sandbox(&project, &sandbox, &mirror)
        .args(["up", "dev"])
        .output()
        .expect_code(1);
    assert!(
        failed.stderr().contains("422")
            && failed.stderr().contains("invalid size \"s-64vcpu-999gb\""),
        "{}",
        failed.stderr()
    );
    on_sandbox(&project, &sandbox, &mirror)
        .args(["down", "dev"])
        .output()
        .expect_code(0);
}

/// The pools the sandbox runs for the stack's cluster: name, node count, autoscaled, min, max.
fn sandbox_pools(sandbox: &Sandbox) -> Vec<(String, u64, bool, u64, u64)> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sandbox.state).unwrap()).unwrap();
    let clusters = state["clusters"].as_object().unwrap();
    assert_eq!(clusters.len(), 1, "one cluster");
    clusters.values().next().unwrap()["node_pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pool| {
            (
                pool["name"].as_str().unwrap().to_string(),
                pool["count"].as_u64().unwrap(),
                pool["auto_scale"].as_bool().unwrap(),
                pool["min_nodes"].as_u64().unwrap(),
                pool["max_nodes"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn a_hibernated_platform_plans_clean_refuses_up_and_wakes_to_its_stack_file() {
    let mirror = provider_mirror();
    let project = Project::new();
    let mut stack: toml::Table = shipped_stack("prod").parse().unwrap();
    stack.remove("vault_appliance");
    stack.remove("outputs");
    project.stack("prod", &toml::to_string(&stack).unwrap());
    let sandbox = Sandbox::start(project.path(), &[]);
    let run = || on_sandbox(&project, &sandbox, &mirror);
    run().args(["up", "prod"]).output().expect_code(0);
    let awake = vec![
        ("core".to_string(), 3, false, 0, 0),
        ("app".to_string(), 2, true, 2, 10),
        ("ephemeral".to_string(), 0, true, 0, 20),
    ];
    assert_eq!(sandbox_pools(&sandbox), awake);

    let hibernated = run()
        .args(["--output", "json", "hibernate", "prod"])
        .output()
        .expect_code(0);
    let report = hibernated.json();
    assert_eq!(report["nodes_before"], serde_json::json!([5, 33]));
    assert_eq!(report["nodes_after"], serde_json::json!([1, 3]));
    assert_eq!(
        sandbox_pools(&sandbox),
        vec![
            ("core".to_string(), 1, false, 0, 0),
            ("app".to_string(), 0, true, 0, 1),
            ("ephemeral".to_string(), 0, true, 0, 1),
        ]
    );
    run()
        .args(["plan", "prod", "--detailed-exitcode"])
        .output()
        .expect_code(0);
    let refused = run().args(["up", "prod"]).output().expect_code(1);
    assert!(
        refused.stderr().contains("hibernated") && refused.stderr().contains("wake prod"),
        "{}",
        refused.stderr()
    );

    run().args(["wake", "prod"]).output().expect_code(0);
    assert_eq!(sandbox_pools(&sandbox), awake);
    run()
        .args(["plan", "prod", "--detailed-exitcode"])
        .output()
        .expect_code(0);

    run().args(["hibernate", "prod"]).output().expect_code(0);
    run().args(["up", "prod", "--wake"]).output().expect_code(0);
    assert_eq!(sandbox_pools(&sandbox), awake);
    run().args(["down", "prod"]).output().expect_code(0);
    assert_eq!(sandbox.resources(), Vec::<(String, usize)>::new());
}
