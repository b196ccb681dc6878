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
        .args(["--output", "json", "up", "demo"])
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
        .args(["--output", "json", "up", "demo"])
        .output()
        .expect_code(0);
    assert_eq!(again.json()["changed"], false);

    let down = with_env(project.run())
        .args(["--output", "json", "down", "demo"])
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
