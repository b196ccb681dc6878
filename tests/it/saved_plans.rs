//! `apply --plan` applies exactly the reviewed plan, and refuses one whose state has moved on.

use crate::support::{Project, example_stack};

const LOCAL: &str = "[backend]\ntype = \"local\"";

#[test]
fn a_reviewed_plan_is_applied_as_is() {
    let project = Project::new();
    project.stack(
        "reviewed",
        &example_stack(LOCAL, "message = \"reviewed\", instances = 2"),
    );
    let plan_file = project.path().join("reviewed.tfplan");
    let plan = project
        .run()
        .args(["plan", "reviewed", "--detailed-exitcode", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(2);
    assert!(plan.stdout().contains("4 to add"), "{}", plan.stdout());
    // The stack file changes after review; the reviewed plan is what gets applied.
    project.stack(
        "reviewed",
        &example_stack(LOCAL, "message = \"reviewed\", instances = 5"),
    );
    let apply = project
        .run()
        .args(["--output", "json", "apply", "reviewed", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    assert_eq!(
        apply.json()["summary"]["changes"].as_array().unwrap().len(),
        4
    );
    let next = project
        .run()
        .args(["plan", "reviewed", "--detailed-exitcode"])
        .output()
        .expect_code(2);
    assert!(next.stdout().contains("3 to add"), "{}", next.stdout());
}

#[test]
fn a_stale_plan_is_refused() {
    let project = Project::new();
    project.stack("stale", &example_stack(LOCAL, "message = \"stale\""));
    let plan_file = project.path().join("stale.tfplan");
    project
        .run()
        .args(["plan", "stale", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    project
        .run()
        .args(["up", "--yes", "stale"])
        .output()
        .expect_code(0);
    let apply = project
        .run()
        .args(["apply", "stale", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(1);
    assert!(
        apply.stderr().to_lowercase().contains("stale"),
        "{}",
        apply.stderr()
    );
}
