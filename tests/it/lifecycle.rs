//! `up` → plan again exits 0 → `output` → `down`, with the real tofu, on each state backend.

use crate::support::{Postgres, Project, S3Server, example_stack};

/// The full lifecycle of one stack; `env` carries backend credentials.
fn lifecycle(project: &Project, env: &[(&str, String)]) {
    let with_env = |mut run: crate::support::Run| {
        for (key, value) in env {
            run = run.env(key, value);
        }
        run
    };
    let up = with_env(project.run())
        .args(["--output", "json", "up", "--yes", "demo"])
        .output()
        .expect_code(0);
    let report = up.json();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["command"], "up");
    assert_eq!(report["changed"], true);
    assert_eq!(
        report["summary"]["changes"].as_array().unwrap().len(),
        3,
        "{report}"
    );

    let plan = with_env(project.run())
        .args(["plan", "demo", "--detailed-exitcode"])
        .output()
        .expect_code(0);
    assert!(plan.stdout().contains("no changes"), "{}", plan.stdout());
    let init_again = plan.stderr().contains("initialising");
    assert!(
        !init_again,
        "init ran again with nothing changed:\n{}",
        plan.stderr()
    );

    let output = with_env(project.run())
        .args(["output", "demo", "--json"])
        .output()
        .expect_code(0);
    let outputs = output.json()["outputs"].clone();
    assert_eq!(outputs[1]["name"], "message");
    assert_eq!(outputs[1]["value"], "lifecycle canary-5b1e");
    assert_eq!(outputs[0]["name"], "digest");
    assert_eq!(outputs[0]["sensitive"], true);
    assert!(outputs[0].get("value").is_none());

    let again = with_env(project.run())
        .args(["--output", "json", "up", "--yes", "demo"])
        .output()
        .expect_code(0);
    assert_eq!(again.json()["changed"], false);

    let down = with_env(project.run())
        .args(["--output", "json", "down", "--yes", "demo"])
        .output()
        .expect_code(0);
    assert_eq!(
        down.json()["summary"]["changes"].as_array().unwrap().len(),
        3
    );
    let empty = with_env(project.run())
        .args(["plan", "demo", "--destroy", "--detailed-exitcode"])
        .output()
        .expect_code(0);
    assert!(empty.stdout().contains("no changes"));
}

const INPUTS: &str = "message = \"lifecycle canary-5b1e\"";

#[test]
fn local_backend_lifecycle() {
    let project = Project::new();
    project.stack(
        "demo",
        &example_stack("[backend]\ntype = \"local\"", INPUTS),
    );
    lifecycle(&project, &[]);
    assert!(
        project
            .path()
            .join(".wildside/state/demo/terraform.tfstate")
            .is_file()
    );
}

#[test]
fn pg_backend_lifecycle() {
    let postgres = Postgres::start();
    let project = Project::new();
    project.stack(
        "demo",
        &example_stack(
            "[backend]\ntype = \"pg\"\nconn_str_env = \"DEMO_PG\"",
            INPUTS,
        ),
    );
    lifecycle(&project, &[("DEMO_PG", postgres.conn_str())]);
    let backend = std::fs::read_to_string(
        project
            .path()
            .join(".wildside/build/demo/backend.tfbackend"),
    )
    .unwrap();
    assert!(
        !backend.contains("postgres://"),
        "connection string written to disk:\n{backend}"
    );
}

#[test]
fn s3_backend_lifecycle() {
    let s3 = S3Server::start("wildside-state");
    let project = Project::new();
    let backend = format!(
        "[backend]\ntype = \"s3\"\nbucket = \"wildside-state\"\nendpoint = \"{}\"\nuse_path_style = true",
        s3.endpoint()
    );
    project.stack("demo", &example_stack(&backend, INPUTS));
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret-canary-77".to_string()),
    ];
    lifecycle(&project, &credentials);
    let rendered = std::fs::read_to_string(
        project
            .path()
            .join(".wildside/build/demo/backend.tfbackend"),
    )
    .unwrap();
    assert!(!rendered.contains("secret-canary-77"));
}

/// A plan on an S3 backend reads the state without taking its lock (read-only Spaces keys cannot write the
/// lock file): while a slow apply from one checkout holds the lock, a plan from another checkout (another CI
/// runner) that may not wait for it still runs, and an `up` from there, which must lock, is refused.
#[test]
fn a_plan_on_s3_does_not_take_the_lock_an_apply_holds() {
    let s3 = S3Server::start("wildside-state");
    let (project, elsewhere) = (Project::new(), Project::new());
    let backend = format!(
        "[backend]\ntype = \"s3\"\nbucket = \"wildside-state\"\nendpoint = \"{}\"\nuse_path_style = true",
        s3.endpoint()
    );
    let delay = format!("30.{:03}1", std::process::id() % 1000);
    let stack = example_stack(
        &backend,
        &format!("message = \"slow\", delay_seconds = {delay}"),
    );
    project.stack("locked", &stack);
    elsewhere.stack("locked", &stack);
    let run_in = |project: &Project| {
        project
            .run()
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
    };
    let run = || run_in(&project);
    let other = || run_in(&elsewhere);
    run().args(["plan", "locked"]).output().expect_code(0);
    let mut apply = run().args(["up", "--yes", "locked"]).spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::process::Command::new("pgrep")
        .args(["-f", &format!("^sleep {delay}$")])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let plan = other()
        .env("WILDSIDE_LOCK_TIMEOUT", "0s")
        .args(["plan", "locked"])
        .output();
    let up = other()
        .env("WILDSIDE_LOCK_TIMEOUT", "0s")
        .args(["up", "--yes", "locked"])
        .output();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(apply.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let _ = apply.wait();
    assert_eq!(plan.code(), 0, "{}", plan.stderr());
    assert_ne!(up.code(), 0, "up must wait for the lock: {}", up.stdout());
}

/// A module whose apply records the transparent huge page setting its commands run with.
const THP_MODULE: &str = r#"resource "terraform_data" "thp" {
  provisioner "local-exec" {
    command = "grep THP_enabled /proc/self/status > thp.txt || true"
  }
}
"#;

#[test]
fn tofu_runs_with_the_huge_page_setting_wildside_tofu_was_started_with() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("modules/thp")).unwrap();
    std::fs::write(project.path().join("modules/thp/main.tf"), THP_MODULE).unwrap();
    project.stack(
        "thp",
        "[backend]\ntype = \"local\"\n\n[encryption]\nenabled = false\n\n[[modules]]\nname = \"t\"\nsource = \"thp\"\n",
    );
    project
        .run()
        .args(["up", "--yes", "thp"])
        .output()
        .expect_code(0);
    let ours = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|line| line.starts_with("THP_enabled"))
        .map(|line| format!("{line}\n"))
        .unwrap_or_default();
    let tofus =
        std::fs::read_to_string(project.path().join(".wildside/build/thp/thp.txt")).unwrap();
    assert_eq!(tofus, ours, "wildside-tofu turns THP off for itself only");
}
