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
