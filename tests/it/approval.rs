//! The question before a change: without a terminal and without `--yes`, `up`, `down` and the other commands
//! that apply refuse (exit 4) and change nothing; on a terminal they show the plan and go ahead only on `yes`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{Project, TEST_STATE_PASSPHRASE, example_stack};

fn project() -> Project {
    let project = Project::new();
    project.stack(
        "asked",
        &example_stack("[backend]\ntype = \"local\"", "message = \"asked\""),
    );
    project
}

/// Whether the stack still has changes to make (so nothing was applied).
fn has_changes(project: &Project) -> bool {
    let plan = project
        .run()
        .args(["plan", "asked", "--detailed-exitcode"])
        .output();
    assert!(matches!(plan.code(), 0 | 2), "{}", plan.stderr());
    plan.code() == 2
}

#[test]
fn without_a_terminal_up_and_down_refuse_unless_approved() {
    let project = project();
    let refused = project
        .run()
        .args(["--output", "json", "up", "asked"])
        .output()
        .expect_code(4);
    assert!(
        refused.stderr().contains("without approval") && refused.stderr().contains("pass --yes"),
        "{}",
        refused.stderr()
    );
    assert!(
        !refused.stderr().contains("applying"),
        "{}",
        refused.stderr()
    );
    assert_eq!(refused.json()["kind"], "approval_required");
    assert!(has_changes(&project), "a refused up applied something");

    for yes in ["--yes", "-y", "--auto-approve", "-auto-approve"] {
        project
            .run()
            .args(["up", "asked", yes])
            .output()
            .expect_code(0);
    }
    assert!(!has_changes(&project));

    let refused = project
        .run()
        .args(["down", "asked"])
        .output()
        .expect_code(4);
    assert!(
        refused.stderr().contains("refusing to destroy"),
        "{}",
        refused.stderr()
    );
    assert!(!has_changes(&project), "a refused down destroyed something");
    project
        .run()
        .args(["down", "asked", "--yes"])
        .output()
        .expect_code(0);
    assert!(has_changes(&project));
}

/// Runs `wildside-tofu --project P <args>` on a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_a_terminal(project: &Project, args: &str, answer: &str) -> (i32, String) {
    let command = format!(
        "{} --project {} {args}",
        env!("CARGO_BIN_EXE_wildside-tofu"),
        project.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("WILDSIDE_STATE_PASSPHRASE", TEST_STATE_PASSPHRASE)
        .env("WILDSIDE_LOCK_TIMEOUT", "60s")
        .env_remove("TF_WORKSPACE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    let done = child.wait_with_output().unwrap();
    (
        done.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&done.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_the_plan_is_shown_and_only_yes_applies_it() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("needs util-linux `script` for a pseudo-terminal");
    }
    let project = project();
    let (code, screen) = on_a_terminal(&project, "up asked", "no");
    assert_eq!(code, 4, "{screen}");
    assert!(
        screen.contains("asked (workspace default) will apply 3 changes")
            && screen.contains("+ create  module.greeting.")
            && screen.contains("not approved, nothing was applied"),
        "{screen}"
    );
    assert!(has_changes(&project), "a declined up applied something");

    let (code, screen) = on_a_terminal(&project, "up asked", "yes");
    assert_eq!(code, 0, "{screen}");
    assert!(!has_changes(&project));

    let (code, screen) = on_a_terminal(&project, "down asked", "yes");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("will destroy"), "{screen}");
    assert!(has_changes(&project));
}
