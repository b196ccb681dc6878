//! Vault with a real OpenBao: secrets in, outputs out, `outputs push` after an outage, `kubeconfig`, and a
//! canary secret that never shows up anywhere it should not.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project};

const CANARY: &str = "canary-7f3e9d21-do-not-leak";

fn vault_stack(address: &str, extra_modules: &str, extra_outputs: &str) -> String {
    format!(
        r#"
[vault]
address = "{address}"

[secrets]
api_token = {{ path = "wildside/inputs", key = "token" }}

[[modules]]
name = "echo"
source = "secret_echo"
inputs = {{ cluster = "vaulted" }}
secret_inputs = {{ secret = "api_token" }}
{extra_modules}
[[outputs]]
name = "secret_sha256"
from = "echo.secret_sha256"

[[outputs]]
name = "kubeconfig"
from = "echo.kubeconfig"
sensitive = true
{extra_outputs}
[outputs_to_vault]
kubeconfig = "kubeconfig"
"#
    )
}

fn sha256_hex(text: &str) -> String {
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A file's bytes; a saved plan is a zip archive (compressed), so its entries are read expanded.
fn readable_bytes(path: &std::path::Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_default();
    if !raw.starts_with(b"PK") {
        return raw;
    }
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nsys.stdout.buffer.write(b''.join(z.read(n) for n in z.namelist()))";
    let expanded = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        expanded.status.success(),
        "cannot expand {}",
        path.display()
    );
    expanded.stdout
}

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if readable_bytes(&path)
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn secrets_reach_tofu_outputs_reach_vault_and_the_canary_never_leaks() {
    let bao = OpenBao::dev();
    let put = bao.cli(
        DEV_ROOT_TOKEN,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/inputs",
            &format!("token={CANARY}"),
        ],
    );
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let project = Project::new().with_fixtures();
    project.stack("vaulted", &vault_stack(&bao.address(), "", ""));
    let run = || project.run().env("VAULT_TOKEN", DEV_ROOT_TOKEN);
    let mut transcripts = String::new();

    let up = run()
        .args(["--output", "json", "up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    transcripts += &(up.stdout() + &up.stderr());
    let report = up.json();
    assert_eq!(report["vault"]["writes"][0]["written"], true, "{report}");

    let output = run()
        .args(["output", "vaulted", "--json"])
        .output()
        .expect_code(0);
    transcripts += &(output.stdout() + &output.stderr());
    let hash = output.json()["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "secret_sha256")
        .unwrap()["value"]
        .clone();
    assert_eq!(hash, sha256_hex(CANARY), "the secret did not reach tofu");

    let stored = bao
        .kv_json(DEV_ROOT_TOKEN, "get", "wildside/vaulted/default/kubeconfig")
        .expect("kubeconfig in KV");
    assert!(
        stored["data"]["data"]["value"]
            .as_str()
            .unwrap()
            .contains("vaulted.invalid")
    );
    let metadata = bao
        .kv_json(
            DEV_ROOT_TOKEN,
            "metadata get",
            "wildside/vaulted/default/kubeconfig",
        )
        .unwrap();
    let custom = &metadata["data"]["custom_metadata"];
    assert_eq!(custom["stack"], "vaulted");
    assert_eq!(custom["workspace"], "default");
    assert!(
        custom["engine_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("OpenTofu ")),
        "{custom}"
    );
    assert!(custom["written_at"].as_str().is_some());
    assert_eq!(metadata["data"]["current_version"], 1);

    let again = run()
        .args(["--output", "json", "up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    transcripts += &(again.stdout() + &again.stderr());
    assert_eq!(again.json()["vault"]["writes"][0]["written"], false);
    let metadata = bao
        .kv_json(
            DEV_ROOT_TOKEN,
            "metadata get",
            "wildside/vaulted/default/kubeconfig",
        )
        .unwrap();
    assert_eq!(
        metadata["data"]["current_version"], 1,
        "an unchanged value was written again"
    );

    let kubeconfig = run()
        .args(["kubeconfig", "vaulted"])
        .output()
        .expect_code(0);
    assert!(
        kubeconfig.stdout().starts_with("apiVersion: v1"),
        "{}",
        kubeconfig.stdout()
    );
    let written = project.path().join("kube/config");
    run()
        .args(["kubeconfig", "vaulted", "--write"])
        .args([&written])
        .output()
        .expect_code(0);
    assert_eq!(
        std::fs::metadata(&written).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&written)
            .unwrap()
            .contains("vaulted.invalid")
    );

    let plan = run()
        .args(["plan", "vaulted", "--destroy"])
        .output()
        .expect_code(0);
    transcripts += &(plan.stdout() + &plan.stderr());
    let down = run()
        .args(["--output", "json", "down", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    transcripts += &(down.stdout() + &down.stderr());
    assert_eq!(down.json()["vault_deleted"], 1);
    assert!(
        bao.kv_json(DEV_ROOT_TOKEN, "get", "wildside/vaulted/default/kubeconfig")
            .is_none(),
        "down left the output in Vault"
    );

    assert!(
        !transcripts.contains(CANARY),
        "the canary leaked into the output"
    );
    let build = project.path().join(".wildside/build");
    assert!(
        build.join("vaulted/plans/default.tfplan").is_file(),
        "the saved plan is part of the canary check"
    );
    assert_eq!(
        files_containing(&build, CANARY),
        Vec::<std::path::PathBuf>::new(),
        "the canary is on disk"
    );
    assert_eq!(
        files_containing(&project.path().join(".wildside/state"), CANARY),
        Vec::<std::path::PathBuf>::new()
    );
}

/// A stack of the slow example module (its apply sleeps `delay` seconds), with `[vault]` at `bao`, the
/// secret it takes in put there first.
fn slow_vault_stack(bao: &OpenBao, message: &str, delay: u32, outputs: &str) -> String {
    let put = bao.cli(
        DEV_ROOT_TOKEN,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/inputs",
            &format!("token={message}"),
        ],
    );
    assert!(put.status.success(), "{put:?}");
    let slow = format!(
        "\n[[modules]]\nname = \"slow\"\nsource = \"example\"\ninputs = {{ message = \"{message}\", delay_seconds = {delay} }}\n"
    );
    vault_stack(&bao.address(), &slow, outputs)
}

/// Waits until the apply's `sleep <delay>` runs (at most a minute).
fn wait_for_apply(delay: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::process::Command::new("pgrep")
        .args(["-f", &format!("^sleep {delay}$")])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        assert!(Instant::now() < deadline, "the apply never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn outputs_push_recovers_every_output_after_a_vault_outage() {
    let port = crate::support::free_port();
    let mut bao = OpenBao::dev_on(port);
    let project = Project::new().with_fixtures();
    let message = "\n[[outputs]]\nname = \"message\"\nfrom = \"slow.message\"\n";
    // A dev server keeps its transit keys in memory, so the restarted one could not decrypt a state encrypted
    // before the outage: this stack keeps its state unencrypted.
    let stack = slow_vault_stack(&bao, "outage", 3, message).replace(
        "kubeconfig = \"kubeconfig\"",
        "kubeconfig = \"kubeconfig\"\nmessage = \"message\"",
    ) + "\n[encryption]\nenabled = false\n";
    project.stack("outage", &stack);
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_VAULT_RETRY_SECONDS", "1,1")
    };
    let child = run().args(["up", "--yes", "outage"]).spawn();
    wait_for_apply(3);
    bao.stop();
    let up = crate::support::Done(child.wait_with_output().unwrap()).expect_code(1);
    assert!(
        up.stderr().contains("were not written to Vault")
            && up.stderr().contains("outputs push outage"),
        "{}",
        up.stderr()
    );
    assert!(
        up.stderr().contains(&bao.address()),
        "the error does not name Vault's address:\n{}",
        up.stderr()
    );

    let bao = OpenBao::dev_on(port);
    let push = run()
        .args(["--output", "json", "outputs", "push", "outage"])
        .output()
        .expect_code(0);
    assert_eq!(push.json()["vault"]["writes"].as_array().unwrap().len(), 2);
    let message = bao
        .kv_json(DEV_ROOT_TOKEN, "get", "wildside/outage/default/message")
        .expect("message recovered");
    assert_eq!(message["data"]["data"]["value"], "outage");
    assert!(
        bao.kv_json(DEV_ROOT_TOKEN, "get", "wildside/outage/default/kubeconfig")
            .is_some()
    );
}

#[test]
fn ctrl_c_ends_the_wait_between_retries_of_a_vault_write() {
    let mut bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    let stack = slow_vault_stack(&bao, "wait", 4, "") + "\n[encryption]\nenabled = false\n";
    project.stack("waits", &stack);
    let mut child = project
        .run()
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .env("WILDSIDE_VAULT_RETRY_SECONDS", "600")
        .args(["up", "--yes", "waits"])
        .spawn();
    wait_for_apply(4);
    bao.stop();
    // The apply ends, the first write fails, and the run waits ten minutes before the next attempt.
    std::thread::sleep(Duration::from_secs(6));
    assert!(child.try_wait().unwrap().is_none(), "the run did not wait");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("Ctrl-C did not end the wait between Vault retries");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let up = crate::support::Done(child.wait_with_output().unwrap()).expect_code(130);
    assert!(
        up.stderr().contains("interrupted while waiting for Vault")
            && up.stderr().contains("outputs push waits"),
        "{}",
        up.stderr()
    );
}

#[test]
fn vault_errors_name_the_address_and_the_path() {
    let bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    project.stack("denied", &vault_stack(&bao.address(), "", ""));
    let missing = project
        .run()
        .args(["plan", "denied"])
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .output()
        .expect_code(1);
    assert!(
        missing.stderr().contains(&format!(
            "Vault at {} has no secret at `secret/data/wildside/inputs`",
            bao.address()
        )),
        "{}",
        missing.stderr()
    );
    let denied = project
        .run()
        .args(["plan", "denied"])
        .env("VAULT_TOKEN", "not-a-token")
        .output()
        .expect_code(1);
    assert!(
        denied
            .stderr()
            .contains("denied access to `secret/data/wildside/inputs`"),
        "{}",
        denied.stderr()
    );
    assert!(
        !denied.stderr().contains("ERROR"),
        "vaultrs error logs leaked through:\n{}",
        denied.stderr()
    );
    let unset = project
        .run()
        .args(["plan", "denied"])
        .env_remove_vault_token()
        .output()
        .expect_code(1);
    assert!(
        unset.stderr().contains("$VAULT_TOKEN, which is not set"),
        "{}",
        unset.stderr()
    );
    let port = crate::support::free_port();
    project.stack(
        "down",
        &vault_stack(&format!("http://127.0.0.1:{port}"), "", ""),
    );
    let down = project
        .run()
        .args(["plan", "down"])
        .env("VAULT_TOKEN", "x")
        .output()
        .expect_code(1);
    assert!(
        down.stderr()
            .contains(&format!("Vault at http://127.0.0.1:{port} is unreachable")),
        "{}",
        down.stderr()
    );
    let doctor = project
        .run()
        .args(["doctor", "denied", "down"])
        .output()
        .expect_code(1);
    let report = doctor.stdout();
    assert!(
        report.contains(&format!(
            "ok   stack denied: backend local reachable; Vault at {} unsealed",
            bao.address()
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "FAIL stack down: Vault at http://127.0.0.1:{port} is unreachable"
        )),
        "{report}"
    );
}

/// A secret Vault does not hold is named at its `[secrets]` line, with the command that writes it; an AppRole
/// whose role id is not set points at `vault bootstrap`.
#[test]
fn a_missing_secret_names_its_line_and_a_missing_role_id_says_how_to_get_one() {
    let bao = OpenBao::dev();
    let project = Project::new().with_fixtures();
    project.stack("absent", &vault_stack(&bao.address(), "", ""));
    let missing = project
        .run()
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
        .args(["plan", "absent"])
        .output()
        .expect_code(1);
    let file = project.path().join("stacks/absent.toml");
    assert!(
        missing
            .stderr()
            .contains(&format!("{}:6:1: secret `api_token`", file.display()))
            && missing
                .stderr()
                .contains("bao kv put -mount=secret wildside/inputs token=..."),
        "{}",
        missing.stderr()
    );

    let approle = vault_stack(&bao.address(), "", "").replace(
        &format!("address = \"{}\"", bao.address()),
        &format!("address = \"{}\"\nauth = \"approle\"", bao.address()),
    );
    project.stack("approle", &approle);
    let mut run = project.run();
    run.command.env_remove("VAULT_ROLE_ID");
    let unset = run.args(["plan", "approle"]).output().expect_code(1);
    assert!(
        unset.stderr().contains("$VAULT_ROLE_ID, which is not set")
            && unset.stderr().contains("wildside-tofu vault bootstrap"),
        "{}",
        unset.stderr()
    );
}
