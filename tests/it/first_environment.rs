//! The README's first real environment, walked as a new user walks it, on the sandbox: `init`, the edits to
//! `stacks/dev.toml` the README asks for (state bucket, Vault address), the DigitalOcean token into Vault,
//! `doctor`, `plan`, `up`, the kubeconfig back from Vault, the lock file to commit, and `down`, after which
//! the sandbox holds nothing. moto's S3 server stands in for Spaces and an OpenBao dev server for Vault.
//!
//! It needs the `digitalocean/digitalocean` provider, so it is ignored unless a mirror holds it (see
//! `sandbox_provider`).

use std::path::Path;

use crate::sandbox_provider::provider_mirror;
use crate::support::{DEV_ROOT_TOKEN, OpenBao, Run, S3Server, Sandbox};

const BUCKET: &str = "walk-tofu-state";
const DO_TOKEN_CANARY: &str = "dop_v1_first-environment-canary-0123456789";

/// One edit a person makes in their editor: `from` must be in the file, once.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` is in the scaffolded {}:\n{text}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// An AppRole for the stack, made on the dev server with the `bao` CLI (`vault bootstrap` does this for a
/// real Vault): its role id and a secret id.
fn approle(bao: &OpenBao, scratch: &Path) -> (String, String) {
    let run = |args: &[&str]| {
        let output = bao.cli(DEV_ROOT_TOKEN, args);
        assert!(
            output.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let policy = scratch.join("wildside-dev.hcl");
    std::fs::write(
        &policy,
        "path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\"] }\n\
         path \"transit/*\" { capabilities = [\"create\", \"read\", \"update\", \"list\"] }\n",
    )
    .unwrap();
    run(&["policy", "write", "wildside-dev", policy.to_str().unwrap()]);
    run(&["auth", "enable", "approle"]);
    run(&[
        "write",
        "auth/approle/role/wildside-dev",
        "token_policies=wildside-dev",
    ]);
    let role_id = run(&[
        "read",
        "-field=role_id",
        "auth/approle/role/wildside-dev/role-id",
    ]);
    let secret_id = run(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/wildside-dev/secret-id",
    ]);
    (role_id, secret_id)
}

#[test]
#[ignore = "needs the digitalocean provider in a mirror (WILDSIDE_PROVIDER_MIRROR)"]
fn a_new_user_walks_from_init_to_down_on_the_sandbox() {
    let mirror = provider_mirror();
    let scratch = tempfile::tempdir().unwrap();
    let infra = scratch.path().join("infra");
    let s3 = S3Server::start(BUCKET);
    let bao = OpenBao::dev();
    let sandbox = Sandbox::start(scratch.path(), &[]);

    // wildside-tofu init infra
    Run::new()
        .args(["init"])
        .args([&infra])
        .output()
        .expect_code(0);

    // $EDITOR stacks/dev.toml: the state bucket and the Vault address; everything else stays.
    let stack = infra.join("stacks/dev.toml");
    edit(
        &stack,
        "bucket = \"my-team-tofu-state\"",
        &format!("bucket = \"{BUCKET}\""),
    );
    edit(
        &stack,
        "endpoint = \"https://nyc3.digitaloceanspaces.com\"",
        &format!("endpoint = \"{}\"", s3.endpoint()),
    );
    edit(
        &stack,
        "address = \"https://vault.example.com:8200\"",
        &format!("address = \"{}\"", bao.address()),
    );

    // The DigitalOcean token into Vault, where `[secrets]` names it; an AppRole for the runs.
    let put = bao.cli(
        DEV_ROOT_TOKEN,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/digitalocean",
            &format!("token={DO_TOKEN_CANARY}"),
        ],
    );
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let (role_id, secret_id) = approle(&bao, scratch.path());

    // Every later command runs in the project, as `cd infra` leaves the user.
    let user = |args: &[&str]| {
        let mut run = Run::new()
            .env_remove_passphrase()
            .env_remove_vault_token()
            .args(["--sandbox", &sandbox.url])
            .args(args)
            .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
            .env("VAULT_ROLE_ID", &role_id)
            .env("VAULT_SECRET_ID", &secret_id)
            .env("AWS_ACCESS_KEY_ID", "walk-access-key")
            .env("AWS_SECRET_ACCESS_KEY", "walk-secret-key");
        run.command.current_dir(&infra);
        let done = run.output();
        for stream in [done.stdout(), done.stderr()] {
            assert!(
                !stream.contains(DO_TOKEN_CANARY),
                "the DigitalOcean token was printed by {args:?}"
            );
        }
        done
    };

    let doctor = user(&["--output", "json", "doctor"]).expect_code(0);
    assert_eq!(doctor.json()["healthy"], true, "{}", doctor.stdout());

    let plan = user(&["--output", "json", "plan", "dev"]).expect_code(0);
    let creates: Vec<String> = plan.json()["summary"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("a plan summary: {}", plan.stdout()))
        .iter()
        .filter(|change| change["action"] == "create")
        .map(|change| change["address"].as_str().unwrap().to_string())
        .collect();
    assert!(
        creates.contains(&"module.cluster.digitalocean_kubernetes_cluster.this".to_string()),
        "the plan creates the cluster: {}",
        plan.stdout()
    );
    assert!(
        sandbox.resources().is_empty(),
        "a plan creates nothing: {:?}",
        sandbox.resources()
    );

    user(&["up", "dev", "--yes"]).expect_code(0);
    let held = sandbox.resources();
    for kind in ["vpcs", "clusters"] {
        assert!(
            held.iter().any(|(held, count)| held == kind && *count == 1),
            "one of {kind} after up: {held:?}"
        );
    }

    let kubeconfig = user(&["kubeconfig", "dev"]).expect_code(0).stdout();
    let stored = bao
        .kv_json(DEV_ROOT_TOKEN, "get", "wildside/dev/default/kubeconfig")
        .expect("up wrote the kubeconfig to Vault");
    let stored: Vec<&str> = stored["data"]["data"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(
        stored.iter().any(|value| kubeconfig.trim() == value.trim()),
        "`kubeconfig dev` prints what Vault holds:\n{kubeconfig}"
    );
    let parsed: serde_json::Value = serde_norway::from_str(&kubeconfig)
        .unwrap_or_else(|error| panic!("not a kubeconfig ({error}):\n{kubeconfig}"));
    assert_eq!(parsed["kind"], "Config", "{kubeconfig}");
    assert!(
        parsed["clusters"][0]["cluster"]["server"].is_string(),
        "{kubeconfig}"
    );

    let lock = std::fs::read_to_string(infra.join("stacks/dev.terraform.lock.hcl"))
        .expect("the first run wrote the lock file beside the stack, to commit");
    assert!(
        lock.contains("registry.opentofu.org/digitalocean/digitalocean"),
        "{lock}"
    );

    user(&["down", "dev", "--yes"]).expect_code(0);
    assert_eq!(sandbox.resources(), Vec::<(String, usize)>::new());
    assert_eq!(
        bao.kv_json(DEV_ROOT_TOKEN, "get", "wildside/dev/default/kubeconfig"),
        None,
        "down removes the outputs from Vault"
    );
}
