//! An `up` of a workspace its last `up` left converged plans without saving the plan, and still reviews and
//! applies a saved plan when the workspace turns out to have changes.

use crate::support::{Done, Project, example_stack};

const STACK: &str = "converged";

fn project() -> Project {
    let project = Project::new();
    project.stack(
        STACK,
        &format!(
            "{}\n[encryption]\nenabled = false\n",
            example_stack("[backend]\ntype = \"local\"", "message = \"converged\"")
        ),
    );
    project
}

/// The `tofu plan` command lines a verbose run logged.
fn plans(run: &Done) -> Vec<String> {
    run.stderr()
        .lines()
        .filter_map(|line| line.split_once("ran `tofu plan "))
        .map(|(_, rest)| rest.split('`').next().unwrap_or_default().to_string())
        .collect()
}

fn up(project: &Project, extra: &[&str]) -> Done {
    project
        .run()
        .args(["-v", "--output", "json", "up", STACK])
        .args(extra)
        .output()
}

#[test]
fn a_converged_workspace_is_planned_without_a_saved_plan_until_it_changes() {
    let project = project();
    let first = up(&project, &["--yes"]).expect_code(0);
    assert_eq!(first.json()["changed"], true);
    let saved = plans(&first);
    assert_eq!(saved.len(), 1, "{}", first.stderr());
    assert!(saved[0].contains("-out="), "{saved:?}");

    let again = up(&project, &["--yes"]).expect_code(0);
    assert_eq!(again.json()["changed"], false);
    let unsaved = plans(&again);
    assert_eq!(unsaved.len(), 1, "{}", again.stderr());
    assert!(!unsaved[0].contains("-out="), "{unsaved:?}");

    // The state goes behind the tool's back: the workspace no longer matches what the last up left.
    std::fs::remove_file(
        project
            .path()
            .join(".wildside/state")
            .join(STACK)
            .join("terraform.tfstate"),
    )
    .unwrap();
    // The unsaved plan finds changes; the saved plan that follows is what the question is asked about.
    let refused = up(&project, &[]).expect_code(4);
    assert_eq!(refused.json()["kind"], "approval_required");
    let replanned = plans(&refused);
    assert_eq!(replanned.len(), 2, "{}", refused.stderr());
    assert!(!replanned[0].contains("-out="), "{replanned:?}");
    assert!(replanned[1].contains("-out="), "{replanned:?}");
    assert!(
        refused
            .stderr()
            .contains("has changed since its last up; planning again to save the plan"),
        "{}",
        refused.stderr()
    );
    // A refused up leaves no record: the next one goes straight to a saved plan.
    let applied = up(&project, &["--yes"]).expect_code(0);
    assert_eq!(applied.json()["changed"], true, "{}", applied.stdout());
    let saved = plans(&applied);
    assert_eq!(saved.len(), 1, "{}", applied.stderr());
    assert!(saved[0].contains("-out="), "{saved:?}");

    project
        .run()
        .args(["down", STACK, "--yes"])
        .output()
        .expect_code(0);
    let after_down = up(&project, &["--yes"]).expect_code(0);
    assert_eq!(after_down.json()["changed"], true);
    assert_eq!(plans(&after_down).len(), 1, "{}", after_down.stderr());
}
