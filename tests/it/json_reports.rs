//! `--output json` is a versioned contract: one object per command with `schema_version`, the command and
//! its exit code. These snapshots fail when the shape changes, so a change is a deliberate one.

use crate::support::{Project, example_stack};
use serde_json::{Value, json};

/// Replaces the scratch project's path, so snapshots do not depend on where the test ran.
fn normalised(project: &Project, value: Value) -> Value {
    let root = project.path().display().to_string();
    serde_json::from_str(&value.to_string().replace(&root, "<project>")).unwrap()
}

#[test]
fn plan_render_and_errors_keep_their_json_shape() {
    let project = Project::new();
    project.stack(
        "snap",
        &example_stack("[backend]\ntype = \"local\"", "message = \"json\""),
    );
    let plan = project
        .run()
        .args(["--output", "json", "plan", "snap"])
        .output()
        .expect_code(0);
    let mut plan = normalised(&project, plan.json());
    let mut changes = plan["summary"]["changes"].take();
    for change in changes.as_array_mut().unwrap() {
        let digest = change.as_object_mut().unwrap().remove("digest").unwrap();
        assert!(
            digest.as_str().is_some_and(
                |digest| digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit())
            ),
            "{digest}"
        );
    }
    let output_digests = plan["summary"]["output_digests"].take();
    let output_digests = output_digests.as_object().unwrap();
    assert_eq!(
        output_digests.keys().collect::<Vec<_>>(),
        ["digest", "message"]
    );
    assert!(
        output_digests
            .values()
            .all(|digest| digest.as_str().is_some_and(|digest| digest.len() == 64)),
        "{output_digests:?}"
    );
    plan["summary"]
        .as_object_mut()
        .unwrap()
        .remove("output_digests");
    let policy = plan["policy"].take();
    assert_eq!(
        plan["cost"].take(),
        json!({
            "changes": [],
            "before": { "known_usd": 0.0, "unknown": 0 },
            "after": { "known_usd": 0.0, "unknown": 0 },
            "sizes_read": null
        })
    );
    assert_eq!(policy["denials"], json!([]));
    assert_eq!(policy["files"].as_array().unwrap().len(), 8, "{policy}");
    assert_eq!(
        policy["files"][0],
        json!({
            "file": "builtin/ha_control_plane.rego",
            "package": "wildside.builtin.ha_control_plane",
            "builtin": "ha_control_plane",
            "rules": [{ "name": "deny", "line": 5, "findings": 0, "resources": 0 }]
        })
    );
    assert_eq!(
        plan,
        json!({
            "schema_version": 2,
            "command": "plan",
            "stack": "snap",
            "workspace": "default",
            "state_encrypted": true,
            "changed": true,
            "summary": { "changes": null, "output_changes": ["digest", "message"] },
            "plan_file": "<project>/.wildside/build/snap/plans/default.tfplan",
            "policy": null,
            "cost": null,
            "exit_code": 0
        })
    );
    assert_eq!(
        changes,
        json!([
            { "address": "module.greeting.terraform_data.copy[0]", "action": "create" },
            { "address": "module.greeting.terraform_data.message", "action": "create" },
            { "address": "module.greeting.time_static.created", "action": "create" }
        ])
    );

    let render = project
        .run()
        .args(["--output", "json", "render", "snap", "--check"])
        .output()
        .expect_code(0);
    assert_eq!(
        normalised(&project, render.json()),
        json!({
            "schema_version": 2,
            "command": "render",
            "stack": "snap",
            "dir": "<project>/.wildside/build/snap",
            "files": [],
            "stale": [],
            "check": true,
            "exit_code": 0
        })
    );

    let error = project
        .run()
        .args(["--output", "json", "plan", "nosuch"])
        .output()
        .expect_code(1);
    let error = error.json();
    assert_eq!(error["schema_version"], 2);
    assert_eq!(error["command"], "plan");
    assert_eq!(error["kind"], "project");
    assert_eq!(error["exit_code"], 1);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("no stack `nosuch`"),
        "{error}"
    );

    project.stack("broken", "[backend]\ntype = \"lokal\"\n");
    let error = project
        .run()
        .args(["--output", "json", "plan", "broken"])
        .output()
        .expect_code(1)
        .json();
    assert_eq!(error["kind"], "stack", "{error}");
}

#[test]
fn argument_and_environment_errors_have_their_own_kinds() {
    let project = Project::new();
    project.stack(
        "demo",
        &example_stack("[backend]\ntype = \"local\"", "message = \"hi\""),
    );
    let kind_of = |args: &[&str]| {
        let mut run = project.run();
        run.command.env_remove("GITHUB_TOKEN");
        let error = run
            .args(["--output", "json"])
            .args(args)
            .output()
            .expect_code(1)
            .json();
        (
            error["kind"].as_str().unwrap_or_default().to_string(),
            error["error"].as_str().unwrap_or_default().to_string(),
        )
    };
    let body = project.path().join("body.md");
    std::fs::write(&body, "hello").unwrap();
    let (kind, message) = kind_of(&[
        "ci",
        "comment",
        "--repo",
        "o/r",
        "--pr",
        "1",
        "--body",
        body.to_str().unwrap(),
    ]);
    assert_eq!(kind, "missing_env", "{message}");
    assert!(message.starts_with("$GITHUB_TOKEN is not set"), "{message}");
    let (kind, message) = kind_of(&["preview", "list", "--stack", "demo"]);
    assert_eq!(kind, "not_a_preview", "{message}");
    assert!(
        message.contains("stack `demo` is not a preview stack"),
        "{message}"
    );
    // The project is no git repository.
    let (kind, message) = kind_of(&["plan", "--changed", "--base", "main"]);
    assert_eq!(kind, "git", "{message}");
    assert!(
        message.contains("git cannot compare `main` with HEAD"),
        "{message}"
    );
    project.stack(
        "pg",
        &example_stack(
            "[backend]\ntype = \"pg\"\nconn_str_env = \"WILDSIDE_TEST_NO_SUCH_PG\"",
            "message = \"hi\"",
        ),
    );
    let (kind, message) = kind_of(&["plan", "pg"]);
    assert_eq!(kind, "missing_env", "{message}");
    assert!(
        message.starts_with(
            "the pg backend reads its connection string from $WILDSIDE_TEST_NO_SUCH_PG"
        ),
        "{message}"
    );
}
