//! Snapshots of what every command prints, in both formats: the human text or the `--output json` report on
//! stdout, and the error on stderr when a command fails. They run the real binary, tofu and OpenBao on the
//! example module, so a change to a view, a report or a message shows up as a snapshot diff to review.
//!
//! What varies between machines and runs (scratch paths, server addresses, tool paths and versions, ids,
//! digests) becomes a placeholder before a transcript is compared, the times shown come from a clock the test
//! sets, and the secrets a run could see are checked to be absent from it. The snapshots live in `snapshots/`;
//! the README's Tests section says how to update them.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{
    DEV_ROOT_TOKEN, Done, GitHubDouble, OpenBao, Project, Run, TEST_STATE_PASSPHRASE,
    example_stack, tool,
};

/// The clock of the scenarios that read one (`WILDSIDE_NOW`), so expiries and ages are the same on every run.
const FIXED_NOW: &str = "2100-01-01T00:00:00Z";

/// A secret the runs can see (in Vault, or as a token); no snapshot may show it.
const CANARY: &str = "canary-snapshot-31c4-do-not-print";

/// Replacements for what varies between runs, applied in order after each scenario's own literals.
const FILTERS: &[(&str, &str)] = &[
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[UUID]",
    ),
    (r"\b[0-9a-f]{64}\b", "[SHA256]"),
    (r"OpenTofu \d+\.\d+\.\d+\S*", "OpenTofu [VERSION]"),
    (r"\b\d+ provider versions\b", "[N] provider versions"),
];

#[derive(Clone, Copy)]
enum Format {
    Human,
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Format::Human => &[],
            Format::Json => &["--output", "json"],
        }
    }
}

/// One scenario's runs in one format, each compared with its snapshot `<scenario>__<step>__<format>`.
struct Transcripts {
    scenario: &'static str,
    format: Format,
    literals: Vec<(String, &'static str)>,
    secrets: Vec<String>,
}

impl Transcripts {
    fn new(scenario: &'static str, format: Format) -> Self {
        Self {
            scenario,
            format,
            literals: [
                ("WILDSIDE_TOFU_BIN", "[TOFU]"),
                ("WILDSIDE_PROVIDER_MIRROR", "[MIRROR]"),
                ("WILDSIDE_TOFU_CLI_CONFIG", "[TOFU_CLI_CONFIG]"),
            ]
            .map(|(key, placeholder)| (tool(key).display().to_string(), placeholder))
            .into(),
            secrets: vec![
                CANARY.to_string(),
                TEST_STATE_PASSPHRASE.to_string(),
                DEV_ROOT_TOKEN.to_string(),
            ],
        }
    }

    /// Shows `text` (a scratch directory, a server's address) as `placeholder`.
    fn literal(mut self, text: impl std::fmt::Display, placeholder: &'static str) -> Self {
        self.literals.push((text.to_string(), placeholder));
        self
    }

    fn secret(&mut self, text: impl Into<String>) {
        self.secrets.push(text.into());
    }

    /// Runs `args` in this format, expects exit status `code`, and compares the transcript with its snapshot.
    /// The run's GitHub Actions context is fixed, as a preview's creator and an output's commit come from it.
    fn check(&self, step: &str, mut run: Run, args: &[&str], code: i32) -> Done {
        run.command.env_remove("GITHUB_SHA");
        let done = run
            .env("GITHUB_ACTOR", "snapshot-actor")
            .args(self.format.args())
            .args(args)
            .output()
            .expect_code(code);
        let everything = done.stdout() + &done.stderr();
        for secret in &self.secrets {
            assert!(
                !everything.contains(secret.as_str()),
                "`{step}` printed a secret:\n{everything}"
            );
        }
        let text = self.literals.iter().fold(
            self.transcript(args, &done),
            |text, (literal, placeholder)| text.replace(literal.as_str(), placeholder),
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        for (pattern, replacement) in FILTERS {
            settings.add_filter(pattern, *replacement);
        }
        let name = format!("{}__{step}__{}", self.scenario, self.format.name());
        settings.bind(|| insta::assert_snapshot!(name, text));
        done
    }

    /// The command line, the exit status, stdout (a JSON report pretty-printed), and stderr from the `error:`
    /// line on when the run failed.
    fn transcript(&self, args: &[&str], done: &Done) -> String {
        let mut command = vec!["wildside-tofu"];
        command.extend(self.format.args());
        command.extend(args);
        let stdout = match self.format {
            Format::Human => done.stdout(),
            Format::Json => serde_json::to_string_pretty(&done.json()).unwrap() + "\n",
        };
        let mut text = format!(
            "$ {}\nexit status {}\n--- stdout\n{stdout}",
            command.join(" "),
            done.code()
        );
        let stderr = done.stderr();
        if let Some(start) = stderr.find("error: ").filter(|_| done.code() != 0) {
            text += &format!("--- stderr\n{}", &stderr[start..]);
        }
        text
    }
}

/// `render`, `plan`, `up`, `output`, `cost`, `drift`, `doctor`, `apply` of a saved plan and `down` of a stack of
/// the example module with local state; `hibernate` and `wake`, which only platform stacks take; and the errors
/// of a missing and a malformed stack. The value of the sensitive `digest` output never shows.
fn lifecycle(format: Format) {
    let project = Project::new();
    let stack = |message: &str| {
        example_stack(
            "[backend]\ntype = \"local\"",
            &format!("message = \"{message}\""),
        )
    };
    project.stack("demo", &stack("hello snapshots"));
    let mut t =
        Transcripts::new("lifecycle", format).literal(project.path().display(), "[PROJECT]");
    for message in ["hello snapshots", "hello again"] {
        t.secret(hex::encode(Sha256::digest(message)));
    }
    let plan_file = project.path().join("reviewed.tfplan");
    let plan_file = plan_file.to_str().unwrap();

    t.check("render", project.run(), &["render", "demo"], 0);
    t.check(
        "render_check",
        project.run(),
        &["render", "demo", "--check"],
        0,
    );
    t.check("plan", project.run(), &["plan", "demo"], 0);
    t.check("up", project.run(), &["up", "--yes", "demo"], 0);
    t.check("up_unchanged", project.run(), &["up", "--yes", "demo"], 0);
    t.check("output", project.run(), &["output", "demo"], 0);
    t.check("cost", project.run(), &["cost", "demo"], 0);
    t.check("drift", project.run(), &["drift", "demo"], 0);
    let tools_mirror = project
        .run()
        .env("WILDSIDE_PROVIDER_MIRROR", tool("WILDSIDE_PROVIDER_MIRROR"));
    t.check("doctor", tools_mirror, &["doctor", "demo"], 0);
    t.check(
        "hibernate",
        project.run(),
        &["hibernate", "--yes", "demo"],
        1,
    );
    t.check("wake", project.run(), &["wake", "--yes", "demo"], 1);

    project.stack("demo", &stack("hello again"));
    t.check(
        "plan_update",
        project.run(),
        &["plan", "demo", "--detailed-exitcode", "--out", plan_file],
        2,
    );
    t.check(
        "apply",
        project.run(),
        &["apply", "demo", "--plan", plan_file],
        0,
    );
    t.check("down", project.run(), &["down", "--yes", "demo"], 0);

    t.check("missing_stack", project.run(), &["plan", "nosuch"], 1);
    project.stack("broken", "[backend]\ntype = \"lokal\"\n");
    t.check("malformed_stack", project.run(), &["plan", "broken"], 1);
}

#[test]
fn lifecycle_human() {
    lifecycle(Format::Human);
}

#[test]
fn lifecycle_json() {
    lifecycle(Format::Json);
}

fn git(dir: &Path, args: &[&str]) {
    let done = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// `ci changed` on a git history where one of two stacks changed, `plan --all` of both (the multi-stack table),
/// and `ci comment` creating, then updating, the sticky comment on a double of GitHub, and refusing to run
/// without a token.
fn ci(format: Format) {
    let project = Project::new();
    let root = project.path();
    for name in ["alpha", "beta"] {
        project.stack(
            name,
            &example_stack("[backend]\ntype = \"local\"", "message = \"ci\""),
        );
    }
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    project.stack(
        "beta",
        &example_stack("[backend]\ntype = \"local\"", "message = \"changed\""),
    );
    git(root, &["commit", "-q", "-am", "beta"]);

    let github = GitHubDouble::start();
    let mut t = Transcripts::new("ci", format)
        .literal(root.display(), "[PROJECT]")
        .literal(github.api_url(), "[GITHUB]");
    t.secret("token-canary-github-5d2a");
    let base = ["ci", "changed", "--base", "HEAD~1"];
    t.check("changed", project.run(), &base, 0);
    t.check(
        "changed_matrix",
        project.run(),
        &[&base[..], &["--matrix"]].concat(),
        0,
    );
    t.check("plan_all", project.run(), &["plan", "--all"], 0);

    let body = root.join("summary.md");
    let comment = [
        "ci",
        "comment",
        "--repo",
        "o/r",
        "--pr",
        "7",
        "--api-url",
        &github.api_url(),
        "--body",
        body.to_str().unwrap(),
    ];
    let with_token = || {
        project
            .run()
            .env("GITHUB_TOKEN", "token-canary-github-5d2a")
    };
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nfirst plan\n").unwrap();
    t.check("comment_created", with_token(), &comment, 0);
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nsecond plan\n").unwrap();
    t.check("comment_updated", with_token(), &comment, 0);
    let mut without_token = project.run();
    without_token.command.env_remove("GITHUB_TOKEN");
    t.check("comment_without_token", without_token, &comment, 1);
}

#[test]
fn ci_human() {
    ci(Format::Human);
}

#[test]
fn ci_json() {
    ci(Format::Json);
}

/// The preview stack of the example module, with Vault at `address` for its bookkeeping and outputs.
fn preview_stack(address: &str) -> String {
    format!(
        r#"[vault]
address = "{address}"

[preview]
max_concurrent = 3
max_pins = 1
ttl = "24h"
url = "https://wildside-pr-{{pr}}.preview.example.com"

[[modules]]
name = "app"
source = "example"
preview_inputs = {{ message = "commit_sha" }}

[[outputs]]
name = "message"
from = "app.message"

[outputs_to_vault]
message = "message"
"#
    )
}

/// Every `preview` subcommand on a clock the test sets, with `outputs push` and `kubeconfig` (here: any output
/// kept in Vault) on the preview's workspace; `hibernate` and `wake` refuse a preview that is not a platform.
fn preview(format: Format) {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack("preview", &preview_stack(&bao.address()));
    let t = Transcripts::new("preview", format)
        .literal(project.path().display(), "[PROJECT]")
        .literal(bao.address(), "[VAULT]");
    let at = |now: &str| {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", now)
    };
    let run = || at(FIXED_NOW);
    let comment = project.path().join("comment.md");

    t.check(
        "up",
        run(),
        &[
            "preview",
            "up",
            "--yes",
            "--pr",
            "1",
            "--sha",
            "aaa111",
            "--comment",
            comment.to_str().unwrap(),
        ],
        0,
    );
    t.check("list", run(), &["preview", "list"], 0);
    t.check(
        "pin",
        run(),
        &["preview", "pin", "--pr", "1", "--for", "12h"],
        0,
    );
    t.check("unpin", run(), &["preview", "unpin", "--pr", "1"], 0);
    t.check(
        "hibernate",
        run(),
        &["preview", "hibernate", "--yes", "--pr", "1"],
        1,
    );
    t.check("wake", run(), &["preview", "wake", "--yes", "--pr", "1"], 1);
    t.check(
        "outputs_push",
        run(),
        &["outputs", "push", "preview", "-w", "pr-1"],
        0,
    );
    t.check(
        "kubeconfig",
        run(),
        &["kubeconfig", "preview", "-w", "pr-1", "--name", "message"],
        0,
    );
    t.check(
        "gc_open",
        run(),
        &["preview", "gc", "--open-prs", "1", "--dry-run"],
        0,
    );
    t.check(
        "gc_expired",
        at("2100-01-03T00:00:00Z"),
        &["preview", "gc", "--open-prs", "1", "--dry-run"],
        0,
    );
    t.check("down", run(), &["preview", "down", "--yes", "--pr", "1"], 0);
    t.check("list_empty", run(), &["preview", "list"], 0);
    t.check(
        "not_a_preview",
        run(),
        &["preview", "list", "--stack", "nosuch"],
        1,
    );
}

#[test]
fn preview_human() {
    preview(Format::Human);
}

#[test]
fn preview_json() {
    preview(Format::Json);
}

/// A stack whose module gets the canary from Vault, and whose kubeconfig output goes to Vault.
fn vault_stack(address: &str) -> String {
    format!(
        r#"[vault]
address = "{address}"

[secrets]
api_token = {{ path = "wildside/inputs", key = "token" }}

[[modules]]
name = "echo"
source = "secret_echo"
inputs = {{ cluster = "vaulted" }}
secret_inputs = {{ secret = "api_token" }}

[[outputs]]
name = "secret_sha256"
from = "echo.secret_sha256"

[[outputs]]
name = "kubeconfig"
from = "echo.kubeconfig"
sensitive = true

[outputs_to_vault]
kubeconfig = "kubeconfig"
"#
    )
}

/// Secrets from Vault into `up`, `outputs push`, and `kubeconfig` to stdout and to a file.
fn vault(format: Format) {
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
    project.stack("vaulted", &vault_stack(&bao.address()));
    let t = Transcripts::new("vault", format)
        .literal(project.path().display(), "[PROJECT]")
        .literal(bao.address(), "[VAULT]");
    let run = || project.run().env("VAULT_TOKEN", DEV_ROOT_TOKEN);
    let written = project.path().join("kubeconfig.yaml");

    t.check("up", run(), &["up", "--yes", "vaulted"], 0);
    t.check("outputs_push", run(), &["outputs", "push", "vaulted"], 0);
    t.check("kubeconfig", run(), &["kubeconfig", "vaulted"], 0);
    t.check(
        "kubeconfig_write",
        run(),
        &[
            "kubeconfig",
            "vaulted",
            "--write",
            written.to_str().unwrap(),
        ],
        0,
    );
    t.check("down", run(), &["down", "--yes", "vaulted"], 0);
}

#[test]
fn vault_human() {
    vault(Format::Human);
}

#[test]
fn vault_json() {
    vault(Format::Json);
}

/// A stack of the example module with its state keys in Vault's transit engine, and `head` on top.
fn encrypted_stack(address: &str, head: &str) -> String {
    format!(
        "{head}\n[vault]\naddress = \"{address}\"\n\n{}",
        example_stack("", "message = \"kept encrypted\"")
    )
}

/// `state encrypt`, `rotate-key` and `decrypt` of a state that starts unencrypted, and the plan that refuses
/// it before it is encrypted.
fn state(format: Format) {
    let bao = OpenBao::dev();
    let project = Project::new();
    let opted_out = encrypted_stack(&bao.address(), "[encryption]\nenabled = false\n");
    project.stack("vaulted", &opted_out);
    let t = Transcripts::new("state", format)
        .literal(project.path().display(), "[PROJECT]")
        .literal(bao.address(), "[VAULT]");
    let run = || project.run().env("VAULT_TOKEN", DEV_ROOT_TOKEN);

    t.check("up_unencrypted", run(), &["up", "--yes", "vaulted"], 0);
    project.stack("vaulted", &encrypted_stack(&bao.address(), ""));
    t.check("plan_refused", run(), &["plan", "vaulted"], 1);
    t.check("encrypt", run(), &["state", "encrypt", "vaulted"], 0);
    t.check("rotate_key", run(), &["state", "rotate-key", "vaulted"], 0);
    t.check("decrypt", run(), &["state", "decrypt", "vaulted"], 0);
}

#[test]
fn state_human() {
    state(Format::Human);
}

#[test]
fn state_json() {
    state(Format::Json);
}

/// `vault bootstrap` of a fresh OpenBao; what it keeps in its state file (unseal keys, the root token, secret
/// ids) it never prints.
fn vault_bootstrap(format: Format) {
    let bao = OpenBao::real();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("bootstrap.json");
    let t = Transcripts::new("vault_bootstrap", format)
        .literal(dir.path().display(), "[DIR]")
        .literal(bao.address(), "[VAULT]");
    let args = [
        "vault",
        "bootstrap",
        "--address",
        &bao.address(),
        "--key-shares",
        "3",
        "--key-threshold",
        "2",
        "--state-file",
        state.to_str().unwrap(),
    ];
    let mut run = Run::new();
    run.command.current_dir(dir.path());
    let done = t.check("bootstrap", run, &args, 0);
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let mut secrets: Vec<&serde_json::Value> =
        kept["unseal_keys_b64"].as_array().unwrap().iter().collect();
    secrets.extend([
        &kept["root_token"],
        &kept["plan"]["secret_id"],
        &kept["apply"]["secret_id"],
    ]);
    let everything = done.stdout() + &done.stderr();
    for secret in secrets {
        let secret = secret.as_str().expect("the state file keeps every secret");
        assert!(
            !everything.contains(secret),
            "bootstrap printed a secret:\n{everything}"
        );
    }
}

#[test]
fn vault_bootstrap_human() {
    vault_bootstrap(Format::Human);
}

#[test]
fn vault_bootstrap_json() {
    vault_bootstrap(Format::Json);
}

/// A project policy that denies new `terraform_data`, with a test of it.
const NO_DATA: &str = r#"package main

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	"create" in rc.change.actions
	msg := sprintf("%s: no new terraform_data", [rc.address])
}
"#;

const NO_DATA_TEST: &str = r#"package main

test_new_data_is_denied if {
	count(deny) == 1 with input as {"resource_changes": [{"address": "x", "type": "terraform_data", "change": {"actions": ["create"]}}]}
}
"#;

/// A plan's JSON as `tofu show -json` gives it, creating one resource of type `kind`.
fn plan_json(kind: &str) -> String {
    serde_json::json!({
        "format_version": "1.2",
        "resource_changes": [{
            "address": format!("module.greeting.{kind}.example"),
            "mode": "managed",
            "type": kind,
            "change": { "actions": ["create"], "before": null, "after": {} }
        }]
    })
    .to_string()
}

/// `policy check` of an allowed and a denied plan, and `policy test`.
fn policy(format: Format) {
    let project = Project::new();
    project.stack(
        "demo",
        &example_stack("[backend]\ntype = \"local\"", "message = \"policy\""),
    );
    let policies = project.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("no_data.rego"), NO_DATA).unwrap();
    std::fs::write(policies.join("no_data_test.rego"), NO_DATA_TEST).unwrap();
    let allowed = project.path().join("allowed.json");
    std::fs::write(&allowed, plan_json("time_static")).unwrap();
    let denied = project.path().join("denied.json");
    std::fs::write(&denied, plan_json("terraform_data")).unwrap();
    let t = Transcripts::new("policy", format).literal(project.path().display(), "[PROJECT]");
    let run = || project.run().env("WILDSIDE_NOW", FIXED_NOW);

    for (step, plan, code) in [("check_allowed", &allowed, 0), ("check_denied", &denied, 3)] {
        let plan = plan.to_str().unwrap();
        t.check(
            step,
            run(),
            &["policy", "check", "--stack", "demo", "--plan", plan],
            code,
        );
    }
    t.check("test", run(), &["policy", "test"], 0);
}

#[test]
fn policy_human() {
    policy(Format::Human);
}

#[test]
fn policy_json() {
    policy(Format::Json);
}

/// `schema`, the JSON Schema of stack files, in either format.
fn schema(format: Format) {
    Transcripts::new("schema", format).check("schema", Run::new(), &["schema"], 0);
}

#[test]
fn schema_human() {
    schema(Format::Human);
}

#[test]
fn schema_json() {
    schema(Format::Json);
}
