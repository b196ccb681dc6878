//! `vault bootstrap` against a real, non-dev OpenBao (raft storage in a scratch directory): from scratch,
//! again as a no-op, after being killed at exact points, and then AppRole login with what it printed.

use std::os::unix::fs::PermissionsExt;

use crate::support::{OpenBao, Project};

fn bootstrap(
    bao: &OpenBao,
    state: &std::path::Path,
    secret_id: &std::path::Path,
) -> crate::support::Run {
    // From the server's scratch directory, where no project is found unless `--project` names one.
    let mut run = crate::support::Run::new();
    run.command.current_dir(bao.dir.path());
    run.args([
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
    for role in ["wildside-ci-plan", "wildside-ci-apply"] {
        assert!(
            changed
                .iter()
                .any(|step| *step == format!("issued a secret id for {role}")),
            "{changed:?}"
        );
    }
    let role_id = report["apply"]["role_id"].as_str().unwrap().to_string();
    assert!(!role_id.is_empty());
    assert_eq!(report["apply"]["role"], "wildside-ci-apply");
    assert_eq!(report["plan"]["role"], "wildside-ci-plan");
    assert_ne!(report["plan"]["role_id"], report["apply"]["role_id"]);
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
    assert_eq!(second.json()["apply"]["role_id"], role_id.as_str());
    assert_eq!(
        std::fs::read_to_string(&secret_id).unwrap(),
        secret,
        "the secret id changed without --rotate-secret-id"
    );

    // Secret ids expire and have a use limit.
    for name in ["wildside-ci-plan", "wildside-ci-apply"] {
        let role = bao.cli(
            &root_token(&state),
            &["read", "-format=json", &format!("auth/approle/role/{name}")],
        );
        let role: serde_json::Value = serde_json::from_slice(&role.stdout).unwrap();
        assert_eq!(role["data"]["secret_id_ttl"], 2_592_000, "{role}");
        assert_eq!(role["data"]["secret_id_num_uses"], 2000, "{role}");
    }
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
    // Run again for the project: it creates the stack's transit key, which the CI roles may use but not create,
    // keeps the plan role from the stack's outputs while it reads the stack's secret, and lets the apply role
    // write the stack's outputs.
    let keyed = bootstrap(&bao, &state, &secret_id)
        .args(["--project"])
        .args([project.path()])
        .output()
        .expect_code(0);
    assert_eq!(
        keyed.json()["changed"],
        serde_json::json!([
            "created transit key wildside-ci",
            "wrote policy wildside-plan",
            "wrote policy wildside-apply"
        ])
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
        .args(["--rotate-secret-id", "--project"])
        .args([project.path()])
        .output()
        .expect_code(0);
    assert_eq!(
        rotated.json()["changed"],
        serde_json::json!([
            "issued a secret id for wildside-ci-plan",
            "issued a secret id for wildside-ci-apply"
        ])
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
    assert!(
        !rerun.json()["apply"]["role_id"]
            .as_str()
            .unwrap()
            .is_empty()
    );
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

/// The same, except that policies may be read: bootstrap gets as far as the roles.
const POLICIES_READABLE: &str = r#"
path "sys/mounts" { capabilities = ["read"] }
path "sys/auth" { capabilities = ["read"] }
path "sys/policies/acl/*" { capabilities = ["read", "create", "update"] }
path "sys/policy/*" { capabilities = ["read", "create", "update"] }
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
    let cases = [
        (WRITE_ONLY_POLICY, "sys/policies/acl/wildside-state-keys"),
        (POLICIES_READABLE, "auth/approle/role/wildside-ci-plan"),
    ];
    for (index, (policy, unreadable)) in cases.into_iter().enumerate() {
        let name = format!("narrow-{index}");
        let policy_file = bao.dir.path().join(format!("{name}.hcl"));
        std::fs::write(&policy_file, policy).unwrap();
        let written = bao.cli(
            &root,
            &["policy", "write", &name, &policy_file.display().to_string()],
        );
        assert!(written.status.success(), "{written:?}");
        let token = bao.cli(
            &root,
            &[
                "token",
                "create",
                &format!("-policy={name}"),
                "-field=token",
            ],
        );
        assert!(token.status.success(), "{token:?}");
        let token = String::from_utf8(token.stdout).unwrap();
        let mut document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        document["root_token"] = serde_json::json!(token.trim());
        std::fs::write(&state, document.to_string()).unwrap();

        let refused = bootstrap(&bao, &state, &secret_id).output().expect_code(1);
        assert!(
            refused
                .stderr()
                .contains(&format!("denied access to `{unreadable}`")),
            "{}",
            refused.stderr()
        );
        assert!(
            !refused.stdout().contains("created role")
                && !refused.stdout().contains("wrote policy"),
            "{}",
            refused.stdout()
        );
    }
}

/// A token from an AppRole login with the role id the report gives and the secret id in `file`.
fn login(bao: &OpenBao, role_id: &str, file: &std::path::Path) -> String {
    let secret_id = std::fs::read_to_string(file).unwrap();
    let login = bao.cli(
        "",
        &[
            "write",
            "-field=token",
            "auth/approle/login",
            &format!("role_id={role_id}"),
            &format!("secret_id={}", secret_id.trim()),
        ],
    );
    assert!(login.status.success(), "{login:?}");
    String::from_utf8(login.stdout).unwrap().trim().to_string()
}

/// `bao kv put` with `token`: `Ok` when written, else the CLI's error text (which carries the HTTP code).
fn kv_put(bao: &OpenBao, token: &str, path: &str) -> Result<(), String> {
    let put = bao.cli(token, &["kv", "put", "-mount=secret", path, "value=x"]);
    if put.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&put.stderr).to_string())
    }
}

fn denied(result: Result<(), String>, path: &str) {
    match result {
        Err(error) => assert!(error.contains("Code: 403"), "{path}: {error}"),
        Ok(()) => panic!("writing {path} was allowed"),
    }
}

/// A project with a stack writing outputs (`app`), a preview stack (`web`) and one that only reads (`quiet`).
fn scoped_project(bao: &OpenBao) -> Project {
    let project = Project::new().with_fixtures();
    let vault = format!("[vault]\naddress = \"{}\"\n\n", bao.address());
    project.stack(
        "app",
        &format!(
            "{vault}[[modules]]\nname = \"echo\"\nsource = \"example\"\n\n[[outputs]]\nname = \"digest\"\nfrom = \"echo.digest\"\n\n[outputs_to_vault]\ndigest = \"digest\"\n"
        ),
    );
    project.stack(
        "web",
        &format!(
            "{vault}[preview]\nmax_concurrent = 5\nmax_pins = 1\nttl = \"1h\"\n\n[[modules]]\nname = \"echo\"\nsource = \"example\"\n"
        ),
    );
    project.stack(
        "quiet",
        &format!(
            "{vault}[secrets]\nquiet_token = {{ path = \"wildside/quiet/token\", key = \"token\" }}\n\n[[modules]]\nname = \"echo\"\nsource = \"example\"\n"
        ),
    );
    project
}

#[test]
fn the_plan_role_only_reads_and_the_apply_role_writes_only_its_stacks() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let apply_secret = bao.dir.path().join("apply-secret-id");
    let plan_secret = bao.dir.path().join("plan-secret-id");
    let project = scoped_project(&bao);
    let run = || {
        bootstrap(&bao, &state, &apply_secret)
            .args(["--plan-secret-id-file"])
            .args([&plan_secret])
            .args(["--project"])
            .args([project.path()])
            .env_remove_vault_token()
    };
    let report = run().output().expect_code(0).json();
    let root = root_token(&state);
    // The former single role and its policy, as earlier versions wrote them, are removed.
    let former = bao.cli(
        &root,
        &[
            "write",
            "auth/approle/role/wildside-ci",
            "token_policies=wildside",
        ],
    );
    assert!(former.status.success(), "{former:?}");
    let policy_file = bao.dir.path().join("former.hcl");
    std::fs::write(
        &policy_file,
        "path \"secret/data/*\" { capabilities = [\"create\", \"update\", \"delete\"] }\n",
    )
    .unwrap();
    let former = bao.cli(
        &root,
        &[
            "policy",
            "write",
            "wildside",
            &policy_file.display().to_string(),
        ],
    );
    assert!(former.status.success(), "{former:?}");
    assert_eq!(
        run().output().expect_code(0).json()["changed"],
        serde_json::json!([
            "removed the former role wildside-ci",
            "removed the former policy wildside"
        ])
    );
    let again = run().output().expect_code(0);
    assert_eq!(
        again.json()["changed"],
        serde_json::json!([]),
        "a second bootstrap changed something"
    );
    assert!(
        again.stdout().contains("\"secret/data/wildside/app/*\""),
        "{}",
        again.stdout()
    );

    let put = bao.cli(
        &root,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/digitalocean",
            "token=in",
        ],
    );
    assert!(put.status.success(), "{put:?}");
    let plan = login(
        &bao,
        report["plan"]["role_id"].as_str().unwrap(),
        &plan_secret,
    );
    let apply = login(
        &bao,
        report["apply"]["role_id"].as_str().unwrap(),
        &apply_secret,
    );
    for token in [&plan, &apply] {
        let read = bao.kv_json(token, "get", "wildside/digitalocean");
        assert_eq!(read.unwrap()["data"]["data"]["token"], "in");
    }
    // Plans and previews run pull-request code: they read, and write only what previews keep.
    denied(
        kv_put(&bao, &plan, "wildside/app/default/digest"),
        "app's outputs",
    );
    denied(kv_put(&bao, &plan, "wildside/digitalocean"), "a secret in");
    denied(
        kv_put(&bao, &plan, "wildside/web/default/kubeconfig"),
        "web's default workspace",
    );
    kv_put(&bao, &plan, "wildside/web/pr-7/kubeconfig").unwrap();
    kv_put(&bao, &plan, "wildside/web/previews").unwrap();
    denied(
        kv_put(&bao, &plan, "wildside/app/pr-7/digest"),
        "a stack without previews",
    );
    // The apply role writes its stacks' paths, and nothing else.
    kv_put(&bao, &apply, "wildside/app/default/digest").unwrap();
    // Pull-request code reads no stack's outputs, but the secrets stacks take in, even under a stack's path.
    assert_eq!(
        bao.kv_json(&plan, "get", "wildside/app/default/digest"),
        None,
        "the plan role read app's outputs"
    );
    let put = bao.cli(
        &root,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/quiet/token",
            "token=q",
        ],
    );
    assert!(put.status.success(), "{put:?}");
    assert_eq!(
        bao.kv_json(&plan, "get", "wildside/quiet/token").unwrap()["data"]["data"]["token"],
        "q"
    );
    kv_put(&bao, &apply, "wildside/web/default/kubeconfig").unwrap();
    let deleted = bao.cli(
        &apply,
        &[
            "kv",
            "metadata",
            "delete",
            "-mount=secret",
            "wildside/app/default/digest",
        ],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    denied(
        kv_put(&bao, &apply, "wildside/quiet/default/x"),
        "a stack writing nothing",
    );
    denied(kv_put(&bao, &apply, "wildside/digitalocean"), "a secret in");
    denied(
        kv_put(&bao, &apply, "other/app/default/digest"),
        "another prefix",
    );
}

#[test]
fn revoke_root_leaves_the_unseal_keys_and_later_runs_take_vault_token() {
    let mut bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let secret_id = bao.dir.path().join("secret-id");
    bootstrap(&bao, &state, &secret_id)
        .env_remove_vault_token()
        .output()
        .expect_code(0);
    let root = root_token(&state);
    let admin = bao.cli(
        &root,
        &["token", "create", "-orphan", "-policy=root", "-field=token"],
    );
    assert!(admin.status.success(), "{admin:?}");
    let admin = String::from_utf8(admin.stdout).unwrap().trim().to_string();

    let revoked = bootstrap(&bao, &state, &secret_id)
        .args(["--revoke-root"])
        .env_remove_vault_token()
        .output()
        .expect_code(0);
    assert_eq!(
        revoked.json()["changed"],
        serde_json::json!(["revoked the root token"])
    );
    assert_eq!(revoked.json()["root_token_revoked"], true);
    let lookup = bao.cli(&root, &["token", "lookup"]);
    assert!(
        !lookup.status.success() && String::from_utf8_lossy(&lookup.stderr).contains("Code: 403"),
        "{lookup:?}"
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(
        document.get("root_token").is_none(),
        "{}",
        document.as_object().unwrap().len()
    );
    assert_eq!(document["unseal_keys_b64"].as_array().unwrap().len(), 3);

    let without = bootstrap(&bao, &state, &secret_id)
        .env_remove_vault_token()
        .output()
        .expect_code(1);
    assert!(
        without.stderr().contains("VAULT_TOKEN")
            && without.stderr().contains("bao operator generate-root"),
        "{}",
        without.stderr()
    );
    // A restarted server is sealed: the kept keys unseal it, and the administrative token does the rest.
    bao.restart();
    let again = bootstrap(&bao, &state, &secret_id)
        .args(["--revoke-root"])
        .env("VAULT_TOKEN", &admin)
        .output()
        .expect_code(0);
    assert_eq!(again.json()["changed"], serde_json::json!(["unsealed"]));
    let still = bao.cli(&admin, &["token", "lookup"]);
    assert!(still.status.success(), "{still:?}");
}
