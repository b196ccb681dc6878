//! Ctrl-C during a slow apply: tofu is asked to stop once, state is saved, the lock released, exit 130, and
//! the next `up` converges.

use std::time::{Duration, Instant};

use crate::support::{Project, example_stack, wait_for};

#[test]
fn sigint_during_apply_saves_state_and_exits_130() {
    // A delay no other run uses, so the `sleep` we wait for is this apply's (an interrupted local-exec may
    // leave its sleep behind).
    let delay = 100 + std::process::id() % 400;
    let project = Project::new();
    // The test reads the stored state file, so it is kept unencrypted.
    project.stack(
        "slow",
        &example_stack(
            "[backend]\ntype = \"local\"\n\n[encryption]\nenabled = false",
            &format!("message = \"slow\", delay_seconds = {delay}"),
        ),
    );
    project.run().args(["plan", "slow"]).output().expect_code(0);
    let started = Instant::now();
    let child = project.run().args(["up", "--yes", "slow"]).spawn();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // The local-exec sleep shows the apply is under way.
    wait_for(
        || {
            std::process::Command::new("pgrep")
                .args(["-f", &format!("^sleep {delay}$")])
                .output()
                .is_ok_and(|out| out.status.success())
        },
        "the slow apply to start",
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let done = crate::support::Done(child.wait_with_output().unwrap()).expect_code(130);
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the interrupt did not stop the apply"
    );
    assert!(done.stderr().contains("interrupt"), "{}", done.stderr());
    let state = std::fs::read_to_string(
        project
            .path()
            .join(".wildside/state/slow/terraform.tfstate"),
    )
    .unwrap();
    assert!(
        state.contains("time_static"),
        "state was not saved:\n{state}"
    );
    // The lock was released and the next run converges.
    project.stack(
        "slow",
        &example_stack(
            "[backend]\ntype = \"local\"\n\n[encryption]\nenabled = false",
            "message = \"slow\", delay_seconds = 0",
        ),
    );
    project
        .run()
        .args(["up", "--yes", "slow"])
        .env("WILDSIDE_LOCK_TIMEOUT", "0s")
        .output()
        .expect_code(0);
    project
        .run()
        .args(["plan", "slow", "--detailed-exitcode"])
        .output()
        .expect_code(0);
}

#[test]
fn sigint_while_waiting_for_the_build_directory_lock_exits_130() {
    let project = Project::new();
    project.stack(
        "busy",
        &example_stack("[backend]\ntype = \"local\"", "message = \"busy\""),
    );
    let build = project.path().join(".wildside/build/busy");
    std::fs::create_dir_all(&build).unwrap();
    let held = std::fs::File::create(build.join(".wildside.lock")).unwrap();
    held.lock().unwrap();
    let mut child = project.run().args(["plan", "busy"]).spawn();
    // Long enough for the run to reach the lock and wait on it.
    std::thread::sleep(Duration::from_secs(3));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(held);
    let status = status.expect("Ctrl-C did not stop a run waiting for the build-directory lock");
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("waiting for another run"), "{stderr}");
}
