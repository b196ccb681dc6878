//! `vault bootstrap` against a real, non-dev OpenBao (raft storage in a scratch directory): from scratch,
//! again as a no-op, after being killed at exact points, and then AppRole login with what it printed.

use std::os::unix::fs::PermissionsExt;

use crate::support::{OpenBao, Project, tool};

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
    // lets the plan role read the stack's secret and decrypt with its key (pull requests may plan it), and lets
    // the apply role write the stack's outputs.
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
            "wrote policy wildside-plan-keys",
            "wrote policy wildside-apply"
        ])
    );
    // The key it made can be backed up with the command it printed, run as printed.
    let backup_command = keyed
        .stderr()
        .split('`')
        .find(|part| part.starts_with("bao read -field=backup"))
        .unwrap_or_else(|| panic!("no backup command in:\n{}", keyed.stderr()))
        .to_string();
    let bin_dir = tool("WILDSIDE_BAO_BIN").parent().unwrap().to_path_buf();
    let backed_up = std::process::Command::new("sh")
        .args(["-c", &backup_command])
        .current_dir(project.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("BAO_ADDR", bao.address())
        .env("BAO_TOKEN", root_token(&state))
        .output()
        .unwrap();
    assert!(
        backed_up.status.success(),
        "`{backup_command}` failed: {}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    assert!(
        !std::fs::read(project.path().join("wildside-ci.backup"))
            .unwrap()
            .is_empty()
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
        .args(["--output", "json", "up", "--yes", "ci"])
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
            "issued a secret id for wildside-ci-preview",
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
            "{vault}[[modules]]\nname = \"echo\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n\n[[outputs]]\nname = \"digest\"\nfrom = \"echo.digest\"\n\n[outputs_to_vault]\ndigest = \"digest\"\n"
        ),
    );
    project.stack(
        "web",
        &format!(
            "{vault}[preview]\nmax_concurrent = 5\nmax_pins = 1\nttl = \"1h\"\n\n[[modules]]\nname = \"echo\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n"
        ),
    );
    project.stack(
        "quiet",
        &format!(
            "{vault}[secrets]\nquiet_token = {{ path = \"wildside/quiet/token\", key = \"token\" }}\n\n[[modules]]\nname = \"echo\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n"
        ),
    );
    project
}

#[test]
fn the_plan_role_only_reads_its_secrets_and_the_apply_role_writes_only_its_stacks() {
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
    let read = bao.kv_json(&apply, "get", "wildside/digitalocean");
    assert_eq!(read.unwrap()["data"]["data"]["token"], "in");
    // Plans run pull-request code: they read only the secrets stacks take in, and write nothing.
    assert_eq!(
        bao.kv_json(&plan, "get", "wildside/digitalocean"),
        None,
        "the plan role read a secret no stack takes in"
    );
    for path in [
        "wildside/app/default/digest",
        "wildside/digitalocean",
        "wildside/web/default/kubeconfig",
        "wildside/web/pr-7/kubeconfig",
        "wildside/web/previews",
        "wildside/app/pr-7/digest",
    ] {
        denied(kv_put(&bao, &plan, path), path);
    }
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

/// `bao <args>` with `token`: `Ok` when it succeeded, else the CLI's error text (which carries the HTTP code).
fn bao_cli(bao: &OpenBao, token: &str, args: &[&str]) -> Result<String, String> {
    let output = bao.cli(token, args);
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

fn refused(result: Result<String, String>, what: &str) {
    match result {
        Err(error) => assert!(error.contains("Code: 403"), "{what}: {error}"),
        Ok(output) => panic!("{what} was allowed: {output}"),
    }
}

/// A stack of the example module with `[vault]`, whose secret `do_token` has a write source and a plan source.
fn role_stack(bao: &OpenBao, name: &str, extra: &str) -> String {
    format!(
        "[vault]\naddress = \"{}\"\n\n[secrets]\ndo_token = {{ path = \"wildside/{name}-write\", key = \"token\", plan = {{ path = \"wildside/{name}-read\", key = \"token\" }} }}\n\n{extra}[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ message = \"hello from {name}\" }}\n",
        bao.address()
    )
}

/// Every role, logged in as CI would, tries what it must not do: each attempt is refused, while a plan with the
/// plan role still plans a stack pull requests may plan, and the sandbox refuses a read token's writes.
#[test]
fn each_role_is_refused_everything_outside_its_part() {
    let bao = OpenBao::real();
    let state = bao.dir.path().join("state.json");
    let secret = |role: &str| bao.dir.path().join(format!("{role}-secret-id"));
    let project = Project::new();
    // `quiet` may be planned by pull requests; `prod` is production (trusted refs only); `web` keeps previews.
    project.stack("quiet", &role_stack(&bao, "quiet", ""));
    project.stack(
        "prod",
        &role_stack(
            &bao,
            "prod",
            "[policy]\nproduction = true\n\n[outputs_to_vault]\nmessage = \"message\"\n\n[[outputs]]\nname = \"message\"\nfrom = \"greeting.message\"\n\n",
        ),
    );
    project.stack(
        "web",
        &role_stack(
            &bao,
            "web",
            "[preview]\nmax_concurrent = 5\nmax_pins = 1\nttl = \"1h\"\n\n",
        ),
    );
    let report = bootstrap(&bao, &state, &secret("apply"))
        .args(["--plan-secret-id-file"])
        .args([secret("plan")])
        .args(["--preview-secret-id-file"])
        .args([secret("preview")])
        .args(["--project"])
        .args([project.path()])
        .env_remove_vault_token()
        .output()
        .expect_code(0)
        .json();
    let root = root_token(&state);
    for stack in ["quiet", "prod", "web"] {
        for scope in ["write", "read"] {
            let path = format!("wildside/{stack}-{scope}");
            let value = format!("token={stack}-{scope}");
            bao_cli(&bao, &root, &["kv", "put", "-mount=secret", &path, &value]).unwrap();
        }
    }
    bao_cli(
        &bao,
        &root,
        &["kv", "put", "-mount=secret", "wildside/web/previews", "v=1"],
    )
    .unwrap();
    for backend_keys in ["wildside/spaces", "wildside/spaces-read"] {
        bao_cli(
            &bao,
            &root,
            &["kv", "put", "-mount=secret", backend_keys, "access_key=a"],
        )
        .unwrap();
    }
    let token = |role: &str| {
        login(
            &bao,
            report[role]["role_id"].as_str().unwrap(),
            &secret(role),
        )
    };
    let (plan, preview, apply) = (token("plan"), token("preview"), token("apply"));
    let get = |token: &str, path: &str| bao_cli(&bao, token, &["kv", "get", "-mount=secret", path]);
    let transit = |token: &str, operation: &str, key: &str, field: &str| {
        bao_cli(
            &bao,
            token,
            &[
                "write",
                "-format=json",
                &format!("transit/{operation}/wildside-{key}"),
                field,
            ],
        )
    };
    let ciphertext = |key: &str, plaintext: &str| {
        let written = transit(&root, "encrypt", key, &format!("plaintext={plaintext}")).unwrap();
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        format!(
            "ciphertext={}",
            written["data"]["ciphertext"].as_str().unwrap()
        )
    };
    let prod_ciphertext = ciphertext("prod", "cHJvZA==");
    let web_ciphertext = ciphertext("web", "d2Vi");

    // The plan role: the plan secrets of stacks pull requests may plan, the read-only backend keys, decryption
    // of their keys, nothing else.
    get(&plan, "wildside/spaces-read").unwrap();
    refused(
        get(&plan, "wildside/spaces"),
        "plan reading the backend's write keys",
    );
    get(&apply, "wildside/spaces").unwrap();
    get(&plan, "wildside/quiet-read").unwrap();
    get(&plan, "wildside/web-read").unwrap();
    refused(
        get(&plan, "wildside/quiet-write"),
        "plan reading a write secret",
    );
    refused(
        get(&plan, "wildside/web-write"),
        "plan reading a write secret",
    );
    refused(
        get(&plan, "wildside/prod-read"),
        "plan reading production's plan secret",
    );
    refused(
        get(&plan, "wildside/prod-write"),
        "plan reading production's write secret",
    );
    refused(
        get(&plan, "wildside/web/previews"),
        "plan reading the ledger",
    );
    for key in ["quiet", "web", "prod"] {
        refused(
            transit(&plan, "datakey/plaintext", key, "bits=256"),
            "plan making a data key",
        );
        refused(
            transit(&plan, "encrypt", key, "plaintext=eA=="),
            "plan encrypting",
        );
    }
    assert!(
        transit(&plan, "decrypt", "web", &web_ciphertext)
            .unwrap()
            .contains("d2Vi")
    );
    refused(
        transit(&plan, "decrypt", "prod", &prod_ciphertext),
        "plan decrypting production's key",
    );
    refused(
        bao_cli(
            &bao,
            &plan,
            &[
                "kv",
                "metadata",
                "delete",
                "-mount=secret",
                "wildside/web/previews",
            ],
        ),
        "plan deleting the ledger's metadata",
    );
    for path in [
        "wildside/web/previews",
        "wildside/web/pr-7/x",
        "wildside/quiet-read",
    ] {
        denied(kv_put(&bao, &plan, path), path);
    }

    bao_cli(&bao, &plan, &["read", "transit/keys/wildside-quiet"]).unwrap();
    refused(
        bao_cli(&bao, &plan, &["read", "transit/keys/wildside-prod"]),
        "plan reading production's key",
    );
    refused(
        bao_cli(
            &bao,
            &plan,
            &[
                "kv",
                "metadata",
                "get",
                "-mount=secret",
                "wildside/quiet-read",
            ],
        ),
        "plan reading KV metadata",
    );

    // The preview role: the secrets, keys, ledger and `pr-*` outputs of preview stacks only.
    get(&preview, "wildside/web-write").unwrap();
    refused(
        get(&preview, "wildside/prod-write"),
        "preview reading production's secret",
    );
    refused(
        get(&preview, "wildside/quiet-write"),
        "preview reading another stack's secret",
    );
    transit(&preview, "datakey/plaintext", "web", "bits=256").unwrap();
    assert!(
        transit(&preview, "decrypt", "web", &web_ciphertext)
            .unwrap()
            .contains("d2Vi")
    );
    refused(
        transit(&preview, "datakey/plaintext", "prod", "bits=256"),
        "preview making production's data key",
    );
    refused(
        transit(&preview, "decrypt", "prod", &prod_ciphertext),
        "preview decrypting production's key",
    );
    refused(
        transit(&preview, "encrypt", "web", "plaintext=eA=="),
        "preview encrypting",
    );
    kv_put(&bao, &preview, "wildside/web/previews").unwrap();
    kv_put(&bao, &preview, "wildside/web/pr-7/kubeconfig").unwrap();
    refused(
        bao_cli(
            &bao,
            &preview,
            &[
                "kv",
                "metadata",
                "delete",
                "-mount=secret",
                "wildside/web/previews",
            ],
        ),
        "preview deleting the ledger's metadata",
    );
    denied(
        kv_put(&bao, &preview, "wildside/web/default/x"),
        "web's default workspace",
    );
    denied(
        kv_put(&bao, &preview, "wildside/prod/default/message"),
        "production's outputs",
    );

    bao_cli(
        &bao,
        &preview,
        &[
            "kv",
            "metadata",
            "put",
            "-mount=secret",
            "-max-versions=20",
            "wildside/web/previews",
        ],
    )
    .unwrap();
    bao_cli(
        &bao,
        &preview,
        &[
            "kv",
            "metadata",
            "delete",
            "-mount=secret",
            "wildside/web/pr-7/kubeconfig",
        ],
    )
    .unwrap();

    // The apply role, on trusted refs: every stack's secrets and keys; it may delete the ledger's metadata.
    kv_put(&bao, &apply, "wildside/prod/default/message").unwrap();
    for (path, what) in [
        ("wildside/prod-write", "a secret"),
        ("other/prod/default/message", "another prefix"),
        ("wildside/quiet/default/x", "a stack that writes nothing"),
    ] {
        denied(kv_put(&bao, &apply, path), what);
    }
    for (args, what) in [
        (
            vec!["write", "-f", "transit/keys/wildside-prod/rotate"],
            "apply rotating a key",
        ),
        (
            vec!["read", "transit/export/encryption-key/wildside-prod"],
            "apply exporting a key",
        ),
        (
            vec!["delete", "transit/keys/wildside-prod"],
            "apply deleting a key",
        ),
    ] {
        refused(bao_cli(&bao, &apply, &args), what);
    }
    get(&apply, "wildside/prod-write").unwrap();
    assert!(
        transit(&apply, "decrypt", "prod", &prod_ciphertext)
            .unwrap()
            .contains("cHJvZA==")
    );
    refused(
        transit(&apply, "encrypt", "prod", "plaintext=eA=="),
        "apply encrypting",
    );
    bao_cli(
        &bao,
        &apply,
        &[
            "kv",
            "metadata",
            "delete",
            "-mount=secret",
            "wildside/web/previews",
        ],
    )
    .unwrap();

    // `plan` works with the plan role on a state the apply role wrote, and takes the plan secrets.
    let with = |token: &str| project.run().env("VAULT_TOKEN", token);
    with(&apply)
        .args(["up", "--yes", "quiet"])
        .output()
        .expect_code(0);
    with(&apply)
        .args(["up", "--yes", "prod"])
        .output()
        .expect_code(0);
    let planned = with(&plan)
        .args(["--output", "json", "plan", "quiet"])
        .output()
        .expect_code(0);
    assert_eq!(planned.json()["changed"], false, "{}", planned.stdout());
    refused(
        get(&plan, "wildside/prod/default/message"),
        "plan reading production's outputs",
    );
    // Production is planned from trusted refs only: pull-request code cannot read its secrets or its state.
    let refused_plan = with(&plan).args(["plan", "prod"]).output();
    assert_ne!(refused_plan.code(), 0, "{}", refused_plan.stdout());
    assert!(
        refused_plan.stderr().contains("denied access"),
        "{}",
        refused_plan.stderr()
    );
    with(&apply).args(["plan", "prod"]).output().expect_code(0);

    // A read-scoped DigitalOcean token gets DigitalOcean's 403 on any write in the sandbox.
    let sandbox = crate::support::Sandbox::start(bao.dir.path(), &["--read-token", "dop_v1_read"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let call =
        |method: reqwest::Method, path: &str, token: &str, body: Option<serde_json::Value>| {
            runtime.block_on(async {
                let mut request = reqwest::Client::new()
                    .request(method, format!("{}{path}", sandbox.url))
                    .bearer_auth(token);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (
                    status,
                    response
                        .json::<serde_json::Value>()
                        .await
                        .unwrap_or_default(),
                )
            })
        };
    assert_eq!(
        call(reqwest::Method::GET, "/v2/account", "dop_v1_read", None).0,
        200
    );
    let tag = serde_json::json!({ "name": "scoped" });
    for (method, path, body) in [
        (reqwest::Method::POST, "/v2/tags", Some(tag.clone())),
        (reqwest::Method::DELETE, "/v2/tags/scoped", None),
        (
            reqwest::Method::POST,
            "/v2/vpcs",
            Some(serde_json::json!({ "name": "v", "region": "nyc3" })),
        ),
        (
            reqwest::Method::PUT,
            "/v2/vpcs/any",
            Some(serde_json::json!({ "name": "w" })),
        ),
        (
            reqwest::Method::PATCH,
            "/v2/vpcs/any",
            Some(serde_json::json!({ "name": "w" })),
        ),
    ] {
        let (status, body) = call(method.clone(), path, "dop_v1_read", body);
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["id"], "forbidden", "{body}");
        assert!(body["request_id"].is_string(), "{body}");
    }
    let (status, body) = call(reqwest::Method::POST, "/v2/tags", "dop_v1_write", Some(tag));
    assert_eq!(status, 201, "{body}");
    sandbox.stop();
}

#[test]
fn bootstrap_waits_for_a_server_that_starts_late() {
    let port = crate::support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let late = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(3));
        OpenBao::real_on(port)
    });
    let address = format!("http://127.0.0.1:{port}");
    let state = dir.path().join("state.json");
    let done = crate::support::Run::new()
        .args([
            "--output",
            "json",
            "vault",
            "bootstrap",
            "--address",
            &address,
        ])
        .args([
            "--key-shares",
            "1",
            "--key-threshold",
            "1",
            "--wait",
            "90s",
            "--state-file",
        ])
        .args([&state])
        .env_remove_vault_token()
        .output();
    let bao = late.join().unwrap();
    let done = done.expect_code(0);
    assert!(
        done.stderr().contains("waiting up to 1m 30s for Vault"),
        "{}",
        done.stderr()
    );
    assert_eq!(done.json()["changed"][0], "initialised");
    drop(bao);
}

/// A load balancer with no healthy node accepts the connection and closes it before TLS completes: that is a
/// server not up yet (waited for, then said so), never a CA problem.
#[test]
fn a_connection_closed_before_tls_is_waited_for_and_not_blamed_on_the_ca() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let done = crate::support::Run::new()
        .args([
            "vault",
            "bootstrap",
            "--address",
            &format!("https://127.0.0.1:{port}"),
        ])
        .args(["--wait", "3s", "--state-file"])
        .args([dir.path().join("state.json")])
        .env_remove_vault_token()
        .output()
        .expect_code(1);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
    assert!(
        done.stderr().contains("is unreachable"),
        "{}",
        done.stderr()
    );
    assert!(
        done.stderr().contains("after waiting 3s"),
        "{}",
        done.stderr()
    );
    assert!(!done.stderr().contains("ca_cert"), "{}", done.stderr());
}
