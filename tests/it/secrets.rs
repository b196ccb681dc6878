//! Secrets stay where they belong: tofu's environment holds only what tofu, its backend and its providers need
//! (a `local-exec` and a provider plugin, read while tofu applies, see no credential of wildside-tofu's);
//! `--sandbox` never reads or sends a real provider token and never writes a real state; and the digests in
//! plan reports are keyed, the same key in two processes giving the same digests.

use std::path::Path;

use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project, Run, Sandbox, free_port};

/// Values set in wildside-tofu's environment that no code run by tofu may see.
const CANARIES: [(&str, &str); 7] = [
    ("VAULT_SECRET_ID", "canary-secret-id-7f3a"),
    ("VAULT_ROLE_ID", "canary-role-id-91c2"),
    ("VAULT_TOKEN", "canary-vault-token-55e0"),
    ("GITHUB_TOKEN", "canary-github-token-d41b"),
    (
        "WILDSIDE_STATE_PASSPHRASE",
        "canary-state-passphrase-0b8e6c",
    ),
    ("WILDSIDE_DIGEST_KEY", "canary-digest-key-2c9d1e77"),
    ("WILDSIDE_PLAN_PASSPHRASE", "canary-plan-passphrase-93a0f1"),
];

/// Asserts that neither environment the fixture wrote to `out` holds a canary.
fn assert_no_canary(out: &Path) {
    for file in ["local-exec.env", "provider.env"] {
        let seen = read_env(&out.join(file));
        assert!(
            seen.lines().any(|line| line.starts_with("PATH=")),
            "{file}:\n{seen}"
        );
        for (name, value) in CANARIES {
            assert!(
                !seen.contains(value),
                "{file} holds the value of ${name}:\n{seen}"
            );
        }
    }
}

/// A stack calling the `env_dump` fixture, which writes what its code sees to `out`.
fn env_dump_stack(head: &str, out: &Path, extra_inputs: &str) -> String {
    format!(
        "{head}\n\n[[modules]]\nname = \"dump\"\nsource = \"env_dump\"\ninputs = {{ out = \"{}\" }}\n{extra_inputs}",
        out.display()
    )
}

/// The environment a file written by the fixture holds, as `NAME=value` lines.
fn read_env(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "`{}` was not written ({error}): the fixture did not see the environment",
            path.display()
        )
    })
}

fn with_canaries(mut run: Run) -> Run {
    for (name, value) in CANARIES {
        run = run.env(name, value);
    }
    run
}

#[test]
fn no_credential_of_wildside_tofu_reaches_a_local_exec_or_a_provider() {
    let project = Project::new().with_fixtures();
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    // No `[vault]`: the state is encrypted with the passphrase, so the passphrase is in use.
    project.stack("dump", &env_dump_stack("", &out, ""));
    with_canaries(project.run())
        .args(["up", "--yes", "dump"])
        .output()
        .expect_code(0);
    assert_no_canary(&out);
    // The passphrase really encrypts the state: the stored state is not JSON with resources in the clear.
    let stored = std::fs::read_to_string(
        project
            .path()
            .join(".wildside/state/dump/terraform.tfstate"),
    )
    .unwrap();
    assert!(!stored.contains("terraform_data"), "{stored}");
    // And the passphrase is the key: another passphrase cannot read the state, and nothing is written.
    let wrong = with_canaries(project.run())
        .env("WILDSIDE_STATE_PASSPHRASE", "another-passphrase-entirely")
        .args(["plan", "dump"])
        .output();
    assert_ne!(wrong.code(), 0, "{}", wrong.stderr());
    assert_eq!(
        std::fs::read_to_string(
            project
                .path()
                .join(".wildside/state/dump/terraform.tfstate"),
        )
        .unwrap(),
        stored
    );
    // A second run reads the state it wrote.
    with_canaries(project.run())
        .args(["up", "--yes", "dump"])
        .output()
        .expect_code(0);
}

#[test]
fn the_vault_token_of_a_transit_stack_reaches_no_local_exec_or_provider() {
    let bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    project.stack(
        "vaulted",
        &env_dump_stack(
            &format!("[vault]\naddress = \"{}\"", bao.address()),
            &out,
            "",
        ),
    );
    let up = || {
        with_canaries(project.run())
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .args(["up", "--yes", "vaulted"])
            .output()
            .expect_code(0)
    };
    up();
    for file in ["local-exec.env", "provider.env"] {
        let seen = read_env(&out.join(file));
        assert!(
            seen.lines().any(|line| line.starts_with("PATH=")),
            "{file}:\n{seen}"
        );
        assert!(
            !seen.contains(DEV_ROOT_TOKEN),
            "{file} holds the Vault token:\n{seen}"
        );
    }
    // The state is encrypted with the stack's key in Vault: a second run, and a plan, read it.
    let stored = std::fs::read_to_string(
        project
            .path()
            .join(".wildside/state/vaulted/terraform.tfstate"),
    )
    .unwrap();
    assert!(!stored.contains("terraform_data"), "{stored}");
    up();
    with_canaries(project.run())
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

#[test]
fn the_plan_passphrase_reaches_no_local_exec_or_provider() {
    let project = Project::new().with_fixtures();
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    // State in the clear by choice: saved plans are encrypted all the same, with the plan passphrase.
    project.stack(
        "plain",
        &env_dump_stack("[encryption]\nenabled = false", &out, ""),
    );
    let plan_file = project.path().join("plain.tfplan");
    with_canaries(project.run())
        .args(["plan", "plain", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    assert!(
        !std::fs::read(&plan_file)
            .unwrap()
            .windows(b"terraform_data".len())
            .any(|window| window == b"terraform_data"),
        "the saved plan is not encrypted"
    );
    // Another process applies it: the same passphrase, lent again, decrypts it.
    with_canaries(project.run())
        .args(["apply", "plain", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    assert_no_canary(&out);
}

/// A `[vault]` stack whose provider token is a secret that does not exist in Vault: reading it would fail.
fn sandbox_stack(bao: &OpenBao, backend: &str, out: &Path) -> String {
    env_dump_stack(
        &format!(
            "{backend}\n[vault]\naddress = \"{}\"\n\n[encryption]\nkey = \"passphrase\"\n\n[secrets]\ndo_token = {{ path = \"wildside/digitalocean\", key = \"token\" }}",
            bao.address()
        ),
        out,
        "secret_inputs = { token = \"do_token\" }\n",
    )
}

#[test]
fn with_sandbox_the_real_provider_token_is_never_read_or_sent() {
    let bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    let sandbox = Sandbox::start(project.path(), &[]);
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    project.stack("tokened", &sandbox_stack(&bao, "", &out));
    project
        .run()
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .env("DIGITALOCEAN_TOKEN", "canary-real-do-token-6a1f")
        .env("DIGITALOCEAN_ACCESS_TOKEN", "canary-real-do-token-6a1f")
        .env("SPACES_SECRET_ACCESS_KEY", "canary-real-spaces-key-0d3e")
        .args(["--sandbox", &sandbox.url, "up", "--yes", "tokened"])
        .output()
        .expect_code(0);
    let seen = read_env(&out.join("local-exec.env"));
    assert!(
        seen.lines()
            .any(|line| line == format!("TOKEN_SEEN={}", wildside_tofu::settings::SANDBOX_TOKEN)),
        "the module did not get the sandbox's token:\n{seen}"
    );
    assert!(
        seen.lines().any(|line| line
            == format!(
                "DIGITALOCEAN_TOKEN={}",
                wildside_tofu::settings::SANDBOX_TOKEN
            )),
        "{seen}"
    );
    for file in ["local-exec.env", "provider.env"] {
        let seen = read_env(&out.join(file));
        assert!(!seen.contains("canary-real-do-token"), "{file}:\n{seen}");
        assert!(!seen.contains("canary-real-spaces-key"), "{file}:\n{seen}");
    }
}

#[test]
fn with_sandbox_a_remote_backend_is_replaced_and_the_command_says_so() {
    let project = Project::new().with_fixtures();
    let sandbox = Sandbox::start(project.path(), &[]);
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    // Nothing listens at this endpoint: a run that used the backend would fail.
    let backend = format!(
        "[backend]\ntype = \"s3\"\nbucket = \"real-state\"\nendpoint = \"http://127.0.0.1:{}\"\n",
        free_port()
    );
    project.stack("remote", &env_dump_stack(&backend, &out, ""));
    let up = project
        .run()
        .args(["--sandbox", &sandbox.url, "up", "--yes", "remote"])
        .output()
        .expect_code(0);
    assert!(
        up.stderr().contains("the s3 backend of remote is not used")
            && up.stderr().contains(".wildside/sandbox/state/remote"),
        "{}",
        up.stderr()
    );
    assert!(
        project
            .path()
            .join(".wildside/sandbox/state/remote/terraform.tfstate")
            .is_file()
    );
    // The same stack without --sandbox does use its backend (and fails to reach it).
    let real = project.run().args(["plan", "remote"]).output();
    assert_ne!(real.code(), 0, "{}", real.stderr());
}

#[test]
fn with_sandbox_a_local_stack_keeps_sandbox_resources_out_of_its_real_state() {
    let project = Project::new().with_fixtures();
    let sandbox = Sandbox::start(project.path(), &[]);
    let out = project.path().join("seen");
    std::fs::create_dir_all(&out).unwrap();
    project.stack("local", &env_dump_stack("", &out, ""));
    project
        .run()
        .args(["--sandbox", &sandbox.url, "up", "--yes", "local"])
        .output()
        .expect_code(0);
    let real = project
        .path()
        .join(".wildside/state/local/terraform.tfstate");
    assert!(
        !real.exists(),
        "the sandbox run wrote the real state `{}`",
        real.display()
    );
    assert!(
        project
            .path()
            .join(".wildside/sandbox/state/local/terraform.tfstate")
            .is_file()
    );
    // The real state still has nothing: a real plan would create everything.
    let plan = project
        .run()
        .args(["--output", "json", "plan", "local"])
        .output();
    assert!(
        plan.stdout().contains("\"create\""),
        "{}\n{}",
        plan.stdout(),
        plan.stderr()
    );
}

fn digest_stack(message: &str) -> String {
    format!(
        "[[modules]]\nname = \"m\"\nsource = \"example\"\ninputs = {{ message = \"{message}\" }}\n"
    )
}

/// The digests of a plan report, resource by resource.
fn report_digests(reports: &Path) -> Vec<String> {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("d.json")).unwrap()).unwrap();
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["digest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn report_digests_are_keyed_and_agree_between_processes_with_one_key() {
    let project = Project::new();
    project.stack("d", &digest_stack("hunter2"));
    let reports = project.path().join("reports");
    let plan = |key: &str| {
        project
            .run()
            .env("WILDSIDE_DIGEST_KEY", key)
            .args(["plan", "d", "--report-dir"])
            .args([&reports])
            .output()
            .expect_code(0);
        report_digests(&reports)
    };
    let first = plan("digest-key-of-the-plan-job-0001");
    let other = plan("another-digest-key-entirely-0002");
    assert_eq!(first.len(), other.len());
    assert!(
        first.iter().zip(&other).all(|(a, b)| a != b),
        "the same values gave the same digests under two keys: {first:?}"
    );
    // Plan in one process, apply in another (as two CI jobs, with no `.wildside/` in common): one key agrees.
    plan("digest-key-of-the-plan-job-0001");
    let report = reports.join("d.json");
    let apply = |key: &str| {
        let _ = std::fs::remove_file(project.path().join(".wildside/digest.key"));
        project
            .run()
            .env("WILDSIDE_DIGEST_KEY", key)
            .args(["apply", "d", "--expect-report"])
            .args([&report])
            .output()
    };
    let refused = apply("another-digest-key-entirely-0002").expect_code(1);
    assert!(
        refused.stderr().contains("digest key"),
        "{}",
        refused.stderr()
    );
    apply("digest-key-of-the-plan-job-0001").expect_code(0);
}

#[test]
fn without_a_digest_key_the_plan_passphrase_or_a_private_key_file_is_used() {
    let project = Project::new();
    project.stack("d", &digest_stack("hunter2"));
    let reports = project.path().join("reports");
    let key_file = project.path().join(".wildside/digest.key");
    project
        .run()
        .args(["plan", "d", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let from_file = report_digests(&reports);
    project
        .run()
        .args(["plan", "d", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(0);
    assert_eq!(report_digests(&reports), from_file);
    // Jobs sharing the plan passphrase (and nothing on disk) agree too.
    let planned_with = |passphrase: &str| {
        let _ = std::fs::remove_file(&key_file);
        project
            .run()
            .env("WILDSIDE_PLAN_PASSPHRASE", passphrase)
            .args(["plan", "d", "--report-dir"])
            .args([&reports])
            .output()
            .expect_code(0);
        report_digests(&reports)
    };
    let one = planned_with("plan-passphrase-shared-by-jobs");
    assert_eq!(one, planned_with("plan-passphrase-shared-by-jobs"));
    assert_ne!(one, from_file);
}
