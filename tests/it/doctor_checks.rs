//! `doctor` says before any run what a run would fail on: what the stack's Vault token may do (read each secret,
//! write each output; a plan role's token passes and is named as one), and whether the committed lock file
//! parses and pins the providers the platform needs.

use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project};

/// A stack that reads one secret and writes one output to Vault, its state unencrypted.
fn vault_stack(bao: &OpenBao) -> String {
    format!(
        r#"[vault]
address = "{}"

[secrets]
api_token = {{ path = "wildside/inputs", key = "token" }}

[[modules]]
name = "echo"
source = "secret_echo"
inputs = {{ cluster = "vaulted" }}
secret_inputs = {{ secret = "api_token" }}

[[outputs]]
name = "kubeconfig"
from = "echo.kubeconfig"
sensitive = true

[outputs_to_vault]
kubeconfig = "kubeconfig"

[encryption]
enabled = false
"#,
        bao.address()
    )
}

/// A token with the policy `policy` (and Vault's `default`).
fn token_with(bao: &OpenBao, dir: &std::path::Path, name: &str, policy: &str) -> String {
    let file = dir.join(format!("{name}.hcl"));
    std::fs::write(&file, policy).unwrap();
    let written = bao.cli(
        DEV_ROOT_TOKEN,
        &["policy", "write", name, file.to_str().unwrap()],
    );
    assert!(written.status.success(), "{written:?}");
    let created = bao.cli(
        DEV_ROOT_TOKEN,
        &["token", "create", "-policy", name, "-field", "token"],
    );
    assert!(created.status.success(), "{created:?}");
    String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string()
}

/// The check named `name` of a JSON doctor report.
fn check(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}`: {report}"))
        .clone()
}

#[test]
fn doctor_says_what_the_vault_token_may_do_for_each_stack() {
    let bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    project.stack("vaulted", &vault_stack(&bao));
    let doctor = |token: &str, expected: i32| {
        let done = project
            .run()
            .env("VAULT_TOKEN", token)
            .args(["--output", "json", "doctor", "vaulted"])
            .output()
            .expect_code(expected);
        check(&done.json(), "stack vaulted in Vault")
    };

    let everything = doctor(DEV_ROOT_TOKEN, 0);
    assert!(
        everything["detail"]
            .as_str()
            .unwrap()
            .contains("can plan and apply"),
        "{everything}"
    );

    let planner = token_with(
        &bao,
        project.path(),
        "planner",
        "path \"secret/data/wildside/inputs\" {\n  capabilities = [\"read\"]\n}\n",
    );
    let plan_only = doctor(&planner, 0);
    let detail = plan_only["detail"].as_str().unwrap();
    assert!(
        detail.contains("can plan, not apply")
            && detail.contains(
                "`create` on secret/data/wildside/vaulted/default/kubeconfig (to write the output `kubeconfig`)"
            ),
        "{plan_only}"
    );

    let nobody = token_with(
        &bao,
        project.path(),
        "elsewhere",
        "path \"secret/data/elsewhere\" {\n  capabilities = [\"read\"]\n}\n",
    );
    let refused = doctor(&nobody, 1);
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains(
            "cannot plan: it lacks `read` on secret/data/wildside/inputs (to read the secret `api_token`)"
        ),
        "{refused}"
    );
}

#[test]
fn doctor_checks_the_committed_lock_file() {
    let project = Project::new();
    project.stack("dev", "[digitalocean]\nregion = \"nyc3\"\n");
    let lock = project.path().join("stacks/dev.terraform.lock.hcl");
    let doctor = |expected: i32| {
        let done = project
            .run()
            .env("DIGITALOCEAN_TOKEN", "")
            .args(["--output", "json", "doctor", "dev"])
            .output();
        assert!(
            done.code() == expected || expected == -1,
            "{}",
            done.stdout()
        );
        check(&done.json(), "stack dev lock file")
    };

    let none = doctor(-1);
    assert_eq!(none["ok"], true, "{none}");
    assert!(
        none["detail"]
            .as_str()
            .unwrap()
            .contains("the first `plan` writes it"),
        "{none}"
    );

    std::fs::write(
        &lock,
        "provider \"registry.opentofu.org/hashicorp/time\" {\n  version = \"0.14.2\"\n}\n",
    )
    .unwrap();
    let without = doctor(1);
    assert_eq!(without["ok"], false, "{without}");
    assert!(
        without["detail"]
            .as_str()
            .unwrap()
            .contains("does not pin digitalocean/digitalocean"),
        "{without}"
    );

    std::fs::write(&lock, "provider {{ not hcl").unwrap();
    let broken = doctor(1);
    assert!(
        broken["detail"]
            .as_str()
            .unwrap()
            .contains("does not parse"),
        "{broken}"
    );

    std::fs::write(
        &lock,
        "provider \"registry.opentofu.org/digitalocean/digitalocean\" {\n  version = \"2.99.1\"\n}\n",
    )
    .unwrap();
    let pinned = doctor(-1);
    assert_eq!(pinned["ok"], true, "{pinned}");
}
