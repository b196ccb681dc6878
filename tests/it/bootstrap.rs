//! `vault bootstrap` against a real, non-dev OpenBao (raft storage in a scratch directory): from scratch,
//! again as a no-op, after being killed at exact points, and then AppRole login with what it printed.

use std::os::unix::fs::PermissionsExt;

use crate::support::{OpenBao, Project};

fn bootstrap(
    bao: &OpenBao,
    state: &std::path::Path,
    secret_id: &std::path::Path,
) -> crate::support::Run {
    crate::support::Run::new()
        .args([
            "--output",
            "json",
            "vault",
            "bootstrap",
            "--address",
            &bao.address(),
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
        ])
        .args(["--state-file"])
        .args([state])
        .args(["--secret-id-file"])
        .args([secret_id])
}

fn root_token(state: &std::path::Path) -> String {
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    state["root_token"].as_str().unwrap().to_string()
}

#[test]
fn bootstrap_from_scratch_is_idempotent_and_its_approle_works() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("bootstrap/state.json");
    let secret_id = bao.dir.path().join("bootstrap/secret-id");
    let first = bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    let report = first.json();
    let changed: Vec<String> = serde_json::from_value(report["changed"].clone()).unwrap();
    assert_eq!(changed[0], "initialised");
    assert_eq!(changed[1], "unsealed");
    assert!(
        changed.iter().any(|step| step == "issued a secret id"),
        "{changed:?}"
    );
    let role_id = report["role_id"].as_str().unwrap().to_string();
    assert!(!role_id.is_empty());
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&secret_id).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&secret_id).unwrap();
    assert!(
        !first.stdout().contains(&secret) && !first.stderr().contains(&secret),
        "the secret id was printed"
    );

    let second = bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    assert_eq!(
        second.json()["changed"],
        serde_json::json!([]),
        "a second bootstrap changed something"
    );
    assert_eq!(second.json()["role_id"], role_id.as_str());
    assert_eq!(
        std::fs::read_to_string(&secret_id).unwrap(),
        secret,
        "the secret id changed without --rotate-secret-id"
    );

    // Secret ids expire and have a use limit.
    let role = bao.cli(
        &root_token(&state),
        &["read", "-format=json", "auth/approle/role/wildside-ci"],
    );
    let role: serde_json::Value = serde_json::from_slice(&role.stdout).unwrap();
    assert_eq!(role["data"]["secret_id_ttl"], 2_592_000, "{role}");
    assert_eq!(role["data"]["secret_id_num_uses"], 2000, "{role}");
    // AppRole login with what bootstrap produced: a stack reads its secret through it.
    let put = bao.cli(
        &root_token(&state),
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/inputs",
            "token=approle-secret",
        ],
    );
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let project = Project::new().with_fixtures();
    let stack = format!(
        "[vault]\naddress = \"{}\"\nauth = \"approle\"\nrole_id_env = \"CI_ROLE_ID\"\nsecret_id_file = \"{}\"\n\n[secrets]\ntoken = {{ path = \"wildside/inputs\", key = \"token\" }}\n\n[[modules]]\nname = \"echo\"\nsource = \"secret_echo\"\nsecret_inputs = {{ secret = \"token\" }}\n\n[[outputs]]\nname = \"kubeconfig\"\nfrom = \"echo.kubeconfig\"\nsensitive = true\n\n[outputs_to_vault]\nkubeconfig = \"kubeconfig\"\n",
        bao.address(),
        secret_id.display()
    );
    project.stack("ci", &stack);
    // Run again for the project: it creates the stack's transit key, which the CI role may use but not create.
    let keyed = bootstrap(&bao, &state, &secret_id)
        .args(["--project"])
        .args([project.path()])
        .output()
        .expect_code(0);
    assert_eq!(
        keyed.json()["changed"],
        serde_json::json!(["created transit key wildside-ci"])
    );
    let policy = bao.cli(
        &root_token(&state),
        &["policy", "read", "wildside-state-keys"],
    );
    let policy = String::from_utf8_lossy(&policy.stdout).to_string();
    assert!(
        policy.contains("transit/datakey/plaintext/wildside-*")
            && policy.contains("transit/decrypt/wildside-*")
            && !policy.contains("rotate"),
        "{policy}"
    );
    let up = project
        .run()
        .args(["--output", "json", "up", "ci"])
        .env("CI_ROLE_ID", &role_id)
        .env_remove_vault_token()
        .output()
        .expect_code(0);
    assert_eq!(up.json()["vault"]["writes"][0]["written"], true);
    let rotate = project
        .run()
        .args(["state", "rotate-key", "ci"])
        .env("CI_ROLE_ID", &role_id)
        .env_remove_vault_token()
        .output()
        .expect_code(1);
    assert!(
        rotate.stderr().contains("denied access"),
        "{}",
        rotate.stderr()
    );
    let rotated = bootstrap(&bao, &state, &secret_id)
        .args(["--rotate-secret-id"])
        .output()
        .expect_code(0);
    assert_eq!(
        rotated.json()["changed"],
        serde_json::json!(["issued a secret id"])
    );
    assert_ne!(std::fs::read_to_string(&secret_id).unwrap(), secret);
}

#[test]
fn a_bootstrap_killed_after_init_completes_when_run_again() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let secret_id = bao.dir.path().join("secret-id");
    let killed = bootstrap(&bao, &state, &secret_id)
        .env("WILDSIDE_BOOTSTRAP_FAILPOINT", "init")
        .output();
    assert_eq!(killed.code(), 137, "{}", killed.stderr());
    let keys: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        keys["unseal_keys_b64"].as_array().unwrap().len(),
        3,
        "the keys were not saved before the crash"
    );
    let rerun = bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    let changed = rerun.json()["changed"].clone();
    assert_eq!(changed[0], "unsealed", "{changed}");
    assert!(std::fs::read_to_string(&secret_id).is_ok_and(|id| !id.is_empty()));
}

#[test]
fn a_bootstrap_killed_midway_through_configuration_completes_when_run_again() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let secret_id = bao.dir.path().join("secret-id");
    let killed = bootstrap(&bao, &state, &secret_id)
        .env("WILDSIDE_BOOTSTRAP_FAILPOINT", "kv")
        .output();
    assert_eq!(killed.code(), 137, "{}", killed.stderr());
    let rerun = bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    let changed: Vec<String> = serde_json::from_value(rerun.json()["changed"].clone()).unwrap();
    assert!(
        !changed.iter().any(|step| step.starts_with("enabled KV")),
        "KV was enabled twice: {changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|step| step.starts_with("enabled AppRole")),
        "{changed:?}"
    );
    assert!(!rerun.json()["role_id"].as_str().unwrap().is_empty());
}

#[test]
fn bootstrap_refuses_a_mount_that_is_not_kv_v2() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let secret_id = bao.dir.path().join("secret-id");
    bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    let enable = bao.cli(
        &root_token(&state),
        &["secrets", "enable", "-path=other", "-version=1", "kv"],
    );
    assert!(
        enable.status.success(),
        "{}",
        String::from_utf8_lossy(&enable.stderr)
    );
    let refused = bootstrap(&bao, &state, &secret_id)
        .args(["--mount", "other"])
        .output()
        .expect_code(1);
    assert!(
        refused.stderr().contains("not KV version 2"),
        "{}",
        refused.stderr()
    );
}

/// A token that may write the policy and the role but not read them, as a narrowly scoped operator might
/// hold: bootstrap must stop at the unreadable role, not take it for absent and overwrite it.
const WRITE_ONLY_POLICY: &str = r#"
path "sys/mounts" { capabilities = ["read"] }
path "sys/auth" { capabilities = ["read"] }
path "sys/policies/acl/*" { capabilities = ["create", "update"] }
path "sys/policy/*" { capabilities = ["create", "update"] }
path "auth/approle/role/*" { capabilities = ["create", "update"] }
path "auth/approle/role/+/role-id" { capabilities = ["read"] }
"#;

#[test]
fn a_role_or_policy_that_cannot_be_read_is_an_error_not_absent() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("bootstrap/state.json");
    let secret_id = bao.dir.path().join("bootstrap/secret-id");
    bootstrap(&bao, &state, &secret_id).output().expect_code(0);
    let root = root_token(&state);
    let policy_file = bao.dir.path().join("write-only.hcl");
    std::fs::write(&policy_file, WRITE_ONLY_POLICY).unwrap();
    let written = bao.cli(
        &root,
        &[
            "policy",
            "write",
            "write-only",
            &policy_file.display().to_string(),
        ],
    );
    assert!(written.status.success(), "{written:?}");
    let token = bao.cli(
        &root,
        &["token", "create", "-policy=write-only", "-field=token"],
    );
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout).unwrap();
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    document["root_token"] = serde_json::json!(token.trim());
    std::fs::write(&state, document.to_string()).unwrap();

    let refused = bootstrap(&bao, &state, &secret_id).output().expect_code(1);
    assert!(
        refused.stderr().contains("denied access"),
        "{}",
        refused.stderr()
    );
    assert!(
        !refused.stdout().contains("created role") && !refused.stdout().contains("wrote policy"),
        "{}",
        refused.stdout()
    );
}
