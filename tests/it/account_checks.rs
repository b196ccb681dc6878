//! A platform stack checked against its DigitalOcean account (here the sandbox) before tofu runs: a size,
//! region or Kubernetes version the account does not offer, a project it does not hold and a VPC range that
//! overlaps one of its VPCs are each refused with their place in the stack file, all at once, by every
//! command that plans for an apply and by `doctor`, and nothing is created.

use crate::support::{Project, Sandbox};

/// A platform stack with four mistakes: an unknown node size, a Kubernetes minor DOKS does not offer, a project
/// the account does not hold, and (with no `[vpc]`) the default range, which the account's `legacy` VPC uses.
const WRONG: &str = r#"[backend]
type = "local"

[digitalocean]
region = "nyc3"
project = "wildsde"

[cluster]
version = "1.20"

[[node_pools]]
name = "core"
size = "s-2vcpu-4g"
count = 1
"#;

/// The same stack put right.
const RIGHT: &str = r#"[backend]
type = "local"

[digitalocean]
region = "nyc3"

[vpc]
cidr = "10.20.0.0/16"

[cluster]
version = "1.33"

[[node_pools]]
name = "core"
size = "s-2vcpu-4gb"
count = 1
"#;

/// The sandbox, holding a VPC named `legacy` on the stacks' default range.
fn sandbox_with_a_legacy_vpc(project: &Project) -> Sandbox {
    let sandbox = Sandbox::start(project.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v2/vpcs", sandbox.url))
            .bearer_auth(wildside_tofu::settings::SANDBOX_TOKEN)
            .json(&serde_json::json!({"name": "legacy", "region": "nyc3", "ip_range": "10.10.0.0/16"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    sandbox
}

/// Asserts that `stderr` names each of the four mistakes at its line and column.
fn names_every_mistake(stderr: &str) {
    for expected in [
        "stacks/dev.toml:6:11: project `wildsde` does not exist in this DigitalOcean account",
        "stacks/dev.toml:9:11: DOKS offers no Kubernetes 1.20",
        "stacks/dev.toml:13:8: node pool `core`: DOKS offers no node size `s-2vcpu-4g`",
        "stacks/dev.toml:4:1: VPC range 10.10.0.0/16 overlaps 10.10.0.0/16 of the account's VPC `legacy` (nyc3)",
        "hint: did you mean `s-2vcpu-4gb`?",
    ] {
        assert!(stderr.contains(expected), "no `{expected}` in:\n{stderr}");
    }
}

#[test]
fn every_command_that_plans_for_an_apply_refuses_what_the_account_would() {
    let project = Project::new();
    project.stack("dev", WRONG);
    let sandbox = sandbox_with_a_legacy_vpc(&project);
    for command in [
        &["plan", "dev"][..],
        &["up", "--yes", "dev"],
        &["apply", "--yes", "dev"],
        &["plan", "--all"],
    ] {
        let refused = project
            .run()
            .args(["--sandbox", &sandbox.url])
            .args(command)
            .output();
        assert_eq!(refused.code(), 1, "{command:?}: {}", refused.stderr());
        let said = format!("{}{}", refused.stdout(), refused.stderr());
        names_every_mistake(&said);
        assert!(
            !project
                .path()
                .join(".wildside/build/dev/.terraform")
                .exists(),
            "{command:?} ran tofu init"
        );
    }
    assert_eq!(sandbox.resources(), vec![("vpcs".to_string(), 1)]);
}

#[test]
fn doctor_lists_every_mistake_and_passes_the_stack_put_right() {
    let project = Project::new();
    project.stack("dev", WRONG);
    let sandbox = sandbox_with_a_legacy_vpc(&project);
    let doctor = |expected: i32| {
        let done = project
            .run()
            .args([
                "--sandbox",
                &sandbox.url,
                "--output",
                "json",
                "doctor",
                "dev",
            ])
            .output()
            .expect_code(expected);
        let report = done.json();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["name"] == "stack dev on DigitalOcean")
            .unwrap_or_else(|| panic!("{report}"))
            .clone()
    };
    let wrong = doctor(1);
    assert_eq!(wrong["ok"], false, "{wrong}");
    names_every_mistake(wrong["detail"].as_str().unwrap());
    project.stack("dev", RIGHT);
    let right = doctor(0);
    assert_eq!(right["ok"], true, "{right}");
}

#[test]
fn doctor_fails_a_platform_stack_without_a_token() {
    let project = Project::new();
    project.stack("dev", RIGHT);
    let done = project
        .run()
        .env("DIGITALOCEAN_TOKEN", "")
        .args(["--output", "json", "doctor", "dev"])
        .output()
        .expect_code(1);
    let report = done.json();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "stack dev on DigitalOcean")
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    assert_eq!(check["ok"], false, "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("DIGITALOCEAN_TOKEN"),
        "{check}"
    );
}
