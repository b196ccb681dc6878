//! State encryption with a real OpenBao (transit), PostgreSQL and S3 server: a canary in a sensitive output
//! never reaches a stored state or a saved plan; `state encrypt` migrates, `state rotate-key` re-encrypts every
//! workspace; a sealed Vault and a wrong passphrase fail clearly and leave the state untouched.

use std::path::Path;

use crate::support::{DEV_ROOT_TOKEN, OpenBao, Postgres, Project, Run, S3Server, tool};

const CANARY: &str = "canary-state-5e1d-do-not-store";

fn canary_stack(head: &str) -> String {
    format!(
        r#"{head}

[[modules]]
name = "public"
source = "example"
inputs = {{ message = "hello in the clear" }}

[[modules]]
name = "secretive"
source = "example"
inputs = {{ message = "{CANARY}" }}

[[outputs]]
name = "greeting"
from = "public.message"

[[outputs]]
name = "token"
from = "secretive.message"
sensitive = true
"#
    )
}

fn vault_head(bao: &OpenBao, backend: &str) -> String {
    format!("{backend}\n\n[vault]\naddress = \"{}\"\n", bao.address())
}

fn with_env(run: Run, env: &[(&str, String)]) -> Run {
    env.iter()
        .fold(run, |run, (key, value)| run.env(key, value))
        .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
}

/// `up`, then a saved plan; neither the stored state (as `stored` reads it) nor the plan holds the canary, and
/// `output` still shows the non-sensitive output.
fn canary_round(project: &Project, env: &[(&str, String)], stored: impl Fn() -> Vec<u8>) {
    let up = with_env(project.run(), env)
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    assert!(
        !up.stderr().contains("Unencrypted method"),
        "{}",
        up.stderr()
    );
    let state = stored();
    assert!(!state.is_empty(), "no stored state found");
    assert!(
        !contains(&state, CANARY),
        "the canary is stored in plain text"
    );
    assert!(
        contains(&state, "encryption_version"),
        "the stored state is not an encrypted envelope"
    );
    let plan_file = project.path().join("saved.tfplan");
    with_env(project.run(), env)
        .args(["plan", "vaulted", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    assert!(
        !contains(&std::fs::read(&plan_file).unwrap(), CANARY),
        "the canary is in the saved plan"
    );
    let output = with_env(project.run(), env)
        .args(["--output", "json", "output", "vaulted"])
        .output()
        .expect_code(0);
    assert!(
        output.stdout().contains("hello in the clear"),
        "{}",
        output.stdout()
    );
    assert!(!output.stdout().contains(CANARY), "{}", output.stdout());
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn local_state(project: &Project, stack: &str, workspace: &str) -> Vec<u8> {
    let dir = project.path().join(".wildside/state").join(stack);
    let path = if workspace == "default" {
        dir.join("terraform.tfstate")
    } else {
        dir.join("workspaces")
            .join(workspace)
            .join("terraform.tfstate")
    };
    std::fs::read(path).unwrap_or_default()
}

#[test]
fn local_state_and_plans_never_hold_the_canary() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    canary_round(&project, &[], || {
        local_state(&project, "vaulted", "default")
    });
    let doctor = with_env(project.run(), &[])
        .args(["doctor", "vaulted"])
        .output();
    assert!(
        doctor.stderr().contains("transit key `wildside-vaulted`")
            || doctor.stdout().contains("transit key `wildside-vaulted`"),
        "{}\n{}",
        doctor.stdout(),
        doctor.stderr()
    );
}

#[test]
fn pg_state_never_holds_the_canary() {
    let bao = OpenBao::dev();
    let postgres = Postgres::start();
    let project = Project::new();
    project.stack(
        "vaulted",
        &canary_stack(&vault_head(&bao, "[backend]\ntype = \"pg\"")),
    );
    let env = [("PG_CONN_STR", postgres.conn_str())];
    canary_round(&project, &env, || {
        let out = std::process::Command::new(tool("WILDSIDE_POSTGRES_BIN_DIR").join("psql"))
            .arg(postgres.conn_str())
            .args(["-At", "-c", "select data from vaulted.states"])
            .output()
            .unwrap();
        out.stdout
    });
}

#[test]
fn s3_state_never_holds_the_canary() {
    let bao = OpenBao::dev();
    let s3 = S3Server::start("wildside-state");
    let project = Project::new();
    let backend = format!(
        "[backend]\ntype = \"s3\"\nbucket = \"wildside-state\"\nendpoint = \"{}\"\nuse_path_style = true",
        s3.endpoint()
    );
    project.stack("vaulted", &canary_stack(&vault_head(&bao, &backend)));
    let env = [
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
    ];
    canary_round(&project, &env, || {
        // moto refuses unsigned reads of objects: boto3, beside moto in its virtualenv, signs them.
        let python = tool("WILDSIDE_MOTO_SERVER_BIN").with_file_name("python");
        let script = "import boto3,sys; sys.stdout.buffer.write(boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test').get_object(Bucket='wildside-state', Key='vaulted/terraform.tfstate')['Body'].read())";
        let out = std::process::Command::new(python)
            .args(["-c", script, &s3.endpoint()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    });
}

#[test]
fn an_unencrypted_state_is_migrated_then_plans_clean() {
    let project = Project::new();
    let opted_out = canary_stack("[encryption]\nenabled = false");
    project.stack("vaulted", &opted_out);
    let up = project
        .run()
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    assert!(up.stdout().contains("UNENCRYPTED"), "{}", up.stdout());
    assert!(contains(
        &local_state(&project, "vaulted", "default"),
        CANARY
    ));

    project.stack("vaulted", &canary_stack(""));
    let refused = project
        .run()
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    assert!(
        refused.stderr().contains("state encrypt vaulted"),
        "{}",
        refused.stderr()
    );
    let migrated = project
        .run()
        .args(["state", "encrypt", "vaulted"])
        .output()
        .expect_code(0);
    assert!(
        migrated.stdout().contains("plan clean"),
        "{}",
        migrated.stdout()
    );
    let dir = project.path().join(".wildside/state/vaulted");
    for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(!contains(&bytes, CANARY), "{name} holds the canary");
    }
    project
        .run()
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);

    let wrong = project
        .run()
        .env(
            "WILDSIDE_STATE_PASSPHRASE",
            "not-the-right-passphrase-at-all",
        )
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    assert!(
        wrong.stderr().contains("cannot be decrypted")
            && wrong.stderr().contains("WILDSIDE_STATE_PASSPHRASE"),
        "{}",
        wrong.stderr()
    );
    let missing = project
        .run()
        .env_remove_passphrase()
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    assert!(
        missing
            .stderr()
            .contains("export WILDSIDE_STATE_PASSPHRASE"),
        "{}",
        missing.stderr()
    );

    project
        .run()
        .args(["state", "decrypt", "vaulted"])
        .output()
        .expect_code(0);
    assert!(contains(
        &local_state(&project, "vaulted", "default"),
        CANARY
    ));
    project.stack("vaulted", &opted_out);
    project
        .run()
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

fn transit_version(state: &[u8]) -> String {
    let envelope: serde_json::Value = serde_json::from_slice(state).unwrap();
    let meta = envelope["meta"].as_object().unwrap();
    let (_, value) = meta.iter().next().unwrap();
    let bytes = base64_decode(value.as_str().unwrap());
    let meta: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let ciphertext = base64_decode(meta["ciphertext"].as_str().unwrap());
    String::from_utf8(ciphertext)
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .to_string()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn five_workspaces_stay_readable_after_a_rotation() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    let workspaces: Vec<String> = (1..=5).map(|pr| format!("pr-{pr}")).collect();
    for workspace in &workspaces {
        with_env(project.run(), &[])
            .args(["up", "--yes", "vaulted", "-w", workspace])
            .output()
            .expect_code(0);
        assert_eq!(
            transit_version(&local_state(&project, "vaulted", workspace)),
            "v1"
        );
    }
    let rotated = with_env(project.run(), &[])
        .args(["state", "rotate-key", "vaulted"])
        .output()
        .expect_code(0);
    assert!(
        rotated.stdout().contains("rotated to version 2"),
        "{}",
        rotated.stdout()
    );
    for workspace in &workspaces {
        let state = local_state(&project, "vaulted", workspace);
        assert!(!contains(&state, CANARY));
        assert_eq!(
            transit_version(&state),
            "v2",
            "{workspace} was not re-encrypted"
        );
        with_env(project.run(), &[])
            .args(["plan", "vaulted", "-w", workspace, "--detailed-exitcode"])
            .output()
            .expect_code(0);
    }
}

#[test]
fn a_sealed_vault_fails_the_plan_and_leaves_the_state_untouched() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    let before = local_state(&project, "vaulted", "default");
    let sealed = bao.cli(DEV_ROOT_TOKEN, &["operator", "seal"]);
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let plan = with_env(project.run(), &[])
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    assert!(plan.stderr().contains("is sealed"), "{}", plan.stderr());
    assert_eq!(before, local_state(&project, "vaulted", "default"));
    assert!(Path::new(&project.path().join(".wildside/state/vaulted")).is_dir());
}

/// Deletes the transit key of stack `vaulted`, as someone with the rights to could.
fn delete_key(bao: &OpenBao) {
    for args in [
        &[
            "write",
            "transit/keys/wildside-vaulted/config",
            "deletion_allowed=true",
        ][..],
        &["delete", "transit/keys/wildside-vaulted"][..],
    ] {
        let done = bao.cli(DEV_ROOT_TOKEN, args);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

fn key_exists(bao: &OpenBao) -> bool {
    bao.cli(DEV_ROOT_TOKEN, &["read", "transit/keys/wildside-vaulted"])
        .status
        .success()
}

#[test]
fn a_state_whose_key_was_deleted_is_refused_and_no_new_key_is_made() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    let before = local_state(&project, "vaulted", "default");
    delete_key(&bao);
    for command in ["plan", "up"] {
        let refused = with_env(project.run(), &[])
            .args([command, "vaulted"])
            .output()
            .expect_code(1);
        assert!(
            refused
                .stderr()
                .contains("has no transit key `wildside-vaulted`")
                && refused
                    .stderr()
                    .contains("a new key would never decrypt it")
                && refused
                    .stderr()
                    .contains("hint: restore the key from its backup"),
            "{}",
            refused.stderr()
        );
        assert!(
            !key_exists(&bao),
            "a new key was made in place of the deleted one"
        );
        assert_eq!(before, local_state(&project, "vaulted", "default"));
    }
}

#[test]
fn the_restore_hint_for_a_deleted_key_works_as_written() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    let up = with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    // The run that made the key said how to back it up: do exactly that, in the directory the hint runs in.
    let backup_command = up
        .stderr()
        .split('`')
        .find(|part| part.starts_with("bao read -field=backup"))
        .unwrap_or_else(|| panic!("no backup command in:\n{}", up.stderr()))
        .to_string();
    let shell = |command: &str| {
        let bin_dir = tool("WILDSIDE_BAO_BIN").parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let done = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(project.path())
            .env("PATH", path)
            .env("BAO_ADDR", bao.address())
            .env("BAO_TOKEN", DEV_ROOT_TOKEN)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "`{command}` failed: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    };
    shell(&backup_command);
    delete_key(&bao);
    let refused = with_env(project.run(), &[])
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    let hint = refused
        .stderr()
        .split_once("hint: restore the key from its backup with `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(command, _)| command.to_string())
        .unwrap_or_else(|| panic!("no restore command in:\n{}", refused.stderr()));
    shell(&hint);
    with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
}

#[test]
fn a_new_stack_gets_a_key_that_can_be_backed_up() {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("vaulted", &canary_stack(&vault_head(&bao, "")));
    with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    let backup = bao.cli(
        DEV_ROOT_TOKEN,
        &["read", "-field=backup", "transit/backup/wildside-vaulted"],
    );
    assert!(
        backup.status.success() && !backup.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
}

#[test]
fn a_stack_with_secrets_is_migrated_rotated_and_decrypted_with_its_plan_verified() {
    let bao = OpenBao::dev();
    let stored = bao.cli(
        DEV_ROOT_TOKEN,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/inputs",
            "token=s3cr3t-input",
        ],
    );
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    let project = Project::new().with_fixtures();
    let stack = |encryption: &str| {
        format!(
            "{}\n{encryption}\n[secrets]\ntoken = {{ path = \"wildside/inputs\", key = \"token\" }}\n\n[[modules]]\nname = \"echo\"\nsource = \"secret_echo\"\nsecret_inputs = {{ secret = \"token\" }}\n\n[[outputs]]\nname = \"digest\"\nfrom = \"echo.secret_sha256\"\n",
            vault_head(&bao, "")
        )
    };
    project.stack("vaulted", &stack("[encryption]\nenabled = false"));
    with_env(project.run(), &[])
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    project.stack("vaulted", &stack(""));
    for action in ["encrypt", "rotate-key"] {
        let migrated = with_env(project.run(), &[])
            .args(["state", action, "vaulted"])
            .output()
            .expect_code(0);
        assert!(
            migrated.stdout().contains("plan clean"),
            "{action}: {}",
            migrated.stdout()
        );
        assert!(!contains(
            &local_state(&project, "vaulted", "default"),
            "s3cr3t-input"
        ));
    }
    with_env(project.run(), &[])
        .args(["state", "decrypt", "vaulted"])
        .output()
        .expect_code(0);
    project.stack("vaulted", &stack("[encryption]\nenabled = false"));
    with_env(project.run(), &[])
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

/// A passphrase no other run on this machine uses, so finding it anywhere is this test's doing.
const LENT_PASSPHRASE: &str = "lent-passphrase-canary-7c2f-0123456789";

/// The key wildside-tofu derives for new states of `workspace` of `stack` from `passphrase`: PBKDF2-HMAC-SHA512,
/// 210,000 iterations, over SHA-256 of a fixed label and the two length-prefixed names.
fn derived_key(passphrase: &str, stack: &str, workspace: &str) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"wildside-tofu state key v1");
    for name in [stack, workspace] {
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
    }
    let mut key = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        std::num::NonZeroU32::new(210_000).unwrap(),
        &hasher.finalize(),
        passphrase.as_bytes(),
        &mut key,
    );
    key
}

/// Writes the local state of `stack`, now unencrypted, in the form earlier versions wrote: AES-GCM keyed by
/// tofu's own `pbkdf2` key provider with `passphrase`, run by the real tofu in the stack's build directory.
fn write_in_pbkdf2_form(project: &Project, stack: &str, passphrase: &str) {
    let path = project
        .path()
        .join(".wildside/state")
        .join(stack)
        .join("terraform.tfstate");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap() + 1);
    let build = project.path().join(".wildside/build").join(stack);
    let pushed = build.join("pushed.tfstate");
    std::fs::write(&pushed, state.to_string()).unwrap();
    let config = format!(
        r#"
key_provider "pbkdf2" "wildside" {{
  passphrase = "{passphrase}"
  iterations = 210000
  hash_function = "sha512"
}}
method "aes_gcm" "wildside" {{
  keys = key_provider.pbkdf2.wildside
}}
method "unencrypted" "wildside" {{}}
state {{
  method = method.aes_gcm.wildside
  fallback {{
    method = method.unencrypted.wildside
  }}
}}
"#
    );
    let push = std::process::Command::new(tool("WILDSIDE_TOFU_BIN"))
        .current_dir(&build)
        .args(["state", "push", "pushed.tfstate"])
        .env("TF_ENCRYPTION", config)
        .env("TF_CLI_CONFIG_FILE", tool("WILDSIDE_TOFU_CLI_CONFIG"))
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_WORKSPACE")
        .output()
        .unwrap();
    std::fs::remove_file(&pushed).unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
}

/// The pid of `pid`'s parent, from `/proc`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's closing parenthesis: state, then the parent's pid.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|parent| parent.parse::<u32>().ok())
}

/// Whether `pid` is a child `root` has forked and not yet turned into the program it runs: until its `exec`,
/// a fork shows the run's own environment (which holds what the run was given), and it is no other program.
fn unexecuted_fork(pid: u32, root: u32) -> bool {
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    parent_of(pid) == Some(root) && exe(pid).is_some() && exe(pid) == exe(root)
}

/// The pids of `root`'s descendants.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(parent) = parent_of(pid) else {
            continue;
        };
        parents.push((pid, parent));
    }
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, candidate)| *candidate == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.split_off(1)
}

/// Runs `run` to its end while watching every process it starts: returns the run's output and the names of the
/// processes seen, and fails if any process's arguments or environment holds one of `secrets`.
fn watched(run: Run, secrets: &[Vec<u8>]) -> (std::process::Output, Vec<String>) {
    let mut command = run.command;
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let root = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (done, secrets) = (done.clone(), secrets.to_vec());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for pid in descendants(root) {
                    if unexecuted_fork(pid, root) {
                        continue;
                    }
                    let dir = std::path::PathBuf::from(format!("/proc/{pid}"));
                    let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                    for file in ["cmdline", "environ"] {
                        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
                        for secret in &secrets {
                            assert!(
                                !bytes.windows(secret.len()).any(|window| window == secret),
                                "process {pid} ({}) has a secret in its {file}",
                                name.trim()
                            );
                        }
                    }
                    seen.push(name.trim().to_string());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            seen
        })
    };
    let output = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    (output, watcher.join().unwrap())
}

/// Every file under `dir` that holds one of `secrets`.
fn files_holding(dir: &Path, secrets: &[Vec<u8>]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false) {
            found.extend(files_holding(&path, secrets));
        } else if let Ok(bytes) = std::fs::read(&path)
            && secrets
                .iter()
                .any(|secret| bytes.windows(secret.len()).any(|window| window == secret))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_state_in_the_pbkdf2_form_is_read_and_written_back_with_the_derived_key() {
    use base64::Engine;
    let project = Project::new();
    let opted_out = canary_stack("[encryption]\nenabled = false");
    project.stack("vaulted", &opted_out);
    project
        .run()
        .args(["up", "--yes", "vaulted"])
        .output()
        .expect_code(0);
    write_in_pbkdf2_form(&project, "vaulted", LENT_PASSPHRASE);
    let stored = local_state(&project, "vaulted", "default");
    assert!(contains(&stored, "key_provider.pbkdf2.wildside"));
    assert!(!contains(&stored, CANARY));

    // The stack encrypts with the same passphrase: the state in the earlier form still plans clean.
    project.stack("vaulted", &canary_stack(""));
    let with_passphrase = || {
        project
            .run()
            .env("WILDSIDE_STATE_PASSPHRASE", LENT_PASSPHRASE)
    };
    with_passphrase()
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);

    // A change writes the state back with the derived key, and no process sees the passphrase or the key.
    let key = derived_key(LENT_PASSPHRASE, "vaulted", "default");
    let secrets = vec![
        LENT_PASSPHRASE.as_bytes().to_vec(),
        key.to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(key)
            .into_bytes(),
        hex::encode(key).into_bytes(),
    ];
    project.stack(
        "vaulted",
        &canary_stack("").replace("hello in the clear", "hello again in the clear"),
    );
    let (output, seen) = watched(with_passphrase().args(["up", "--yes", "vaulted"]), &secrets);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        seen.iter().any(|name| name == "tofu"),
        "no tofu process was seen: {seen:?}"
    );
    let stored = local_state(&project, "vaulted", "default");
    assert!(
        contains(&stored, "key_provider.external.wildside_key"),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    assert!(!contains(&stored, "key_provider.pbkdf2.wildside"));
    assert!(!contains(&stored, CANARY));
    let on_disk = files_holding(project.path(), &secrets);
    assert!(on_disk.is_empty(), "{on_disk:?}");

    with_passphrase()
        .args(["plan", "vaulted", "--detailed-exitcode"])
        .output()
        .expect_code(0);
    let wrong = project
        .run()
        .env(
            "WILDSIDE_STATE_PASSPHRASE",
            "not-the-right-passphrase-at-all",
        )
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
    assert!(
        wrong.stderr().contains("cannot be decrypted")
            && wrong.stderr().contains("WILDSIDE_STATE_PASSPHRASE"),
        "{}",
        wrong.stderr()
    );
    // Without the key, tofu cannot read what is stored.
    project.stack("vaulted", &opted_out);
    project
        .run()
        .args(["plan", "vaulted"])
        .output()
        .expect_code(1);
}
