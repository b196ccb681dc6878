//! State locking and workspace isolation, with the real tofu and local state.

use crate::support::{Project, example_stack, wait_for};

const LOCAL: &str = "[backend]\ntype = \"local\"";

#[test]
fn concurrent_applies_on_one_workspace_never_corrupt_state() {
    let project = Project::new();
    project.stack(
        "slow",
        &example_stack(LOCAL, "message = \"one\", delay_seconds = 8"),
    );
    // Initialise first, so both runs race for the state lock and not for the first init.
    project.run().args(["plan", "slow"]).output().expect_code(0);
    let first = project
        .run()
        .args(["up", "--yes", "slow"])
        .env("WILDSIDE_LOCK_TIMEOUT", "1s")
        .spawn();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let second = project
        .run()
        .args(["up", "--yes", "slow"])
        .env("WILDSIDE_LOCK_TIMEOUT", "1s")
        .output();
    let first = crate::support::Done(first.wait_with_output().unwrap());
    first.expect_code(0);
    let second = second.expect_code(1);
    let stderr = second.stderr();
    assert_eq!(
        stderr
            .matches("another run holds slow (workspace default) and did not finish within 1s")
            .count(),
        1,
        "the lock timeout is told exactly once:\n{stderr}"
    );
    assert!(
        stderr.contains("pid ") && stderr.contains(" since "),
        "the holder is not named:\n{stderr}"
    );
    // State stayed valid: a new plan sees exactly what the first run applied.
    project
        .run()
        .args(["plan", "slow", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

#[test]
fn a_waiting_run_takes_the_lock_once_it_is_free() {
    let project = Project::new();
    project.stack(
        "slow",
        &example_stack(LOCAL, "message = \"two\", delay_seconds = 5"),
    );
    project.run().args(["plan", "slow"]).output().expect_code(0);
    let first = project.run().args(["up", "--yes", "slow"]).spawn();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let second = project
        .run()
        .args(["--output", "json", "up", "--yes", "slow"])
        .env("WILDSIDE_LOCK_TIMEOUT", "60s")
        .output()
        .expect_code(0);
    crate::support::Done(first.wait_with_output().unwrap()).expect_code(0);
    assert_eq!(
        second.json()["changed"],
        false,
        "the waiting run should find the work done"
    );
}

#[test]
fn workspaces_hold_separate_state() {
    let project = Project::new();
    project.stack("multi", &example_stack(LOCAL, "message = \"shared\""));
    for workspace in ["pr-1", "pr-2"] {
        let up = project
            .run()
            .args([
                "--output",
                "json",
                "up",
                "--yes",
                "multi",
                "--workspace",
                workspace,
            ])
            .output()
            .expect_code(0);
        assert_eq!(up.json()["changed"], true, "{workspace} started empty");
    }
    let down = project
        .run()
        .args([
            "--output",
            "json",
            "down",
            "--yes",
            "multi",
            "--workspace",
            "pr-1",
            "--delete-workspace",
        ])
        .output()
        .expect_code(0);
    assert_eq!(down.json()["workspace_deleted"], true);
    let plan = project
        .run()
        .args([
            "plan",
            "multi",
            "--workspace",
            "pr-2",
            "--detailed-exitcode",
        ])
        .output()
        .expect_code(0);
    assert!(
        plan.stdout().contains("no changes"),
        "pr-2 lost its state when pr-1 went down"
    );
    let default = project
        .run()
        .args(["plan", "multi", "--detailed-exitcode"])
        .output()
        .expect_code(2);
    assert!(
        default.stdout().contains("3 to add"),
        "{}",
        default.stdout()
    );
    assert!(
        project
            .path()
            .join(".wildside/state/multi/workspaces/pr-2/terraform.tfstate")
            .is_file()
    );
    assert!(
        !project
            .path()
            .join(".wildside/state/multi/workspaces/pr-1")
            .exists()
    );
}

#[test]
fn twenty_races_of_two_ups_on_one_workspace_both_succeed() {
    let project = Project::new();
    for trial in 0..20 {
        project.stack(
            "race",
            &example_stack(LOCAL, &format!("message = \"trial {trial}\"")),
        );
        let first = project
            .run()
            .args(["--output", "json", "up", "--yes", "race"])
            .spawn();
        let second = project
            .run()
            .args(["--output", "json", "up", "--yes", "race"])
            .output();
        let first = crate::support::Done(first.wait_with_output().unwrap());
        let (first, second) = (first.expect_code(0), second.expect_code(0));
        let applied = [
            first.json()["changed"].as_bool(),
            second.json()["changed"].as_bool(),
        ];
        assert!(
            applied.contains(&Some(true)),
            "trial {trial}: one of the runs applies the change: {applied:?}"
        );
    }
    project
        .run()
        .args(["plan", "race", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

#[test]
fn a_failing_run_prints_each_error_once() {
    let project = Project::new();
    project.stack(
        "broken",
        &example_stack(LOCAL, "message = \"x\", delay_seconds = -5"),
    );
    let failed = project
        .run()
        .args(["up", "--yes", "broken"])
        .output()
        .expect_code(1);
    let stderr = failed.stderr();
    let summary = stderr
        .lines()
        .find(|line| line.contains("Invalid value for variable"))
        .unwrap_or_else(|| panic!("tofu's error is shown:\n{stderr}"))
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    assert_eq!(stderr.matches(summary.as_str()).count(), 1, "{stderr}");
}

/// A module whose apply in workspace `a` takes a while and leaves `a-done` behind, and whose apply in any other
/// workspace fails unless `a-done` is already there.
const ORDERED_MODULE: &str = r#"variable "label" {
  type = string
}

resource "terraform_data" "step" {
  triggers_replace = [var.label]

  provisioner "local-exec" {
    command = terraform.workspace == "a" ? "touch a-started && sleep 4 && touch a-done" : "test -f a-done"
  }
}
"#;

#[test]
fn a_run_that_changes_the_build_directory_waits_for_runs_using_it() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("modules/ordered")).unwrap();
    std::fs::write(
        project.path().join("modules/ordered/main.tf"),
        ORDERED_MODULE,
    )
    .unwrap();
    let stack = |label: &str| {
        format!(
            "{LOCAL}\n\n[encryption]\nenabled = false\n\n[[modules]]\nname = \"o\"\nsource = \"ordered\"\ninputs = {{ label = \"{label}\" }}\n"
        )
    };
    project.stack("ordered", &stack("one"));
    let applying = project
        .run()
        .args(["up", "--yes", "ordered", "-w", "a"])
        .spawn();
    let started = project.path().join(".wildside/build/ordered/a-started");
    wait_for(|| started.exists(), "the first apply to start");
    // Another input renders another root: this run must not rewrite the directory under the apply.
    project.stack("ordered", &stack("two"));
    let second = project
        .run()
        .args(["up", "--yes", "ordered", "-w", "b"])
        .output()
        .expect_code(0);
    assert!(
        second
            .stderr()
            .contains("waiting for another run on the same stack"),
        "{}",
        second.stderr()
    );
    crate::support::Done(applying.wait_with_output().unwrap()).expect_code(0);
}
