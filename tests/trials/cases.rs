//! The fault trials, one function per case: each makes a fresh scratch project, injects its fault, and then
//! checks what must hold afterwards, returning what was lost when it does not.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEV_ROOT_TOKEN, Done, OpenBao, Project, Run, Sandbox, example_stack};

/// A trial: `Ok` when nothing was lost, else what was.
pub(crate) type Case = fn(u32) -> Result<(), String>;

pub(crate) const ALL: [(&str, Case); 6] = [
    ("SIGINT mid-apply", sigint_mid_apply),
    ("two concurrent `up`s of one workspace", concurrent_ups),
    ("Vault down at output capture", vault_down_at_output_capture),
    ("sandbox 5xx and 429 during apply", sandbox_faults),
    (
        "`kill -9` of the driver mid-apply, then a rerun",
        kill_driver,
    ),
    ("gc racing `preview up`", gc_racing_preview_up),
];

/// Why a case cannot run on this machine, if it cannot.
pub(crate) fn skip_reason(case: &str) -> Option<String> {
    if case != "sandbox 5xx and 429 during apply" {
        return None;
    }
    match crate::support::find_provider_mirror() {
        Some(_) => None,
        None => Some(
            "needs the digitalocean provider: no mirror in WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"
                .into(),
        ),
    }
}

/// A delay, in seconds, that no other run on this machine sleeps for, so its `sleep` identifies this apply. It
/// ends in 1, so tofu prints the number as written.
fn unique_delay(trial: u32, base: u32) -> String {
    format!("{base}.{:03}{trial:02}1", std::process::id() % 1000)
}

fn slow_stack(project: &Project, delay: &str, extra: &str) {
    project.stack(
        "slow",
        &format!(
            "{}\n{extra}",
            example_stack(
                "[backend]\ntype = \"local\"",
                &format!("message = \"trial\", delay_seconds = {delay}")
            )
        ),
    );
}

fn sleeping(delay: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", &format!("^sleep {delay}$")])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn wait_until(condition: impl Fn() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The child, once its apply sleeps in the local-exec; a child whose apply never starts is stopped.
fn apply_started(mut child: Child, delay: &str) -> Result<Child, String> {
    if wait_until(|| sleeping(delay), Duration::from_secs(180)) {
        return Ok(child);
    }
    let _ = child.kill();
    let _ = child.wait();
    Err("the apply never started".into())
}

fn done(child: Child) -> Done {
    Done(child.wait_with_output().unwrap())
}

/// The checks every trial ends with: a rerun that may not wait for any lock converges, and a second plan is
/// clean (the state is readable and holds everything).
fn converges(run: impl Fn() -> Run, stack: &str) -> Result<(), String> {
    let rerun = run()
        .env("WILDSIDE_LOCK_TIMEOUT", "0s")
        .args(["up", "--yes", stack])
        .output();
    if rerun.code() != 0 {
        return Err(format!(
            "the rerun failed (a lock left behind, or unreadable state): {}",
            rerun.stderr().lines().last().unwrap_or_default()
        ));
    }
    let plan = run().args(["plan", stack, "--detailed-exitcode"]).output();
    if plan.code() != 0 {
        return Err(format!(
            "the plan after the rerun is not clean (exit {})",
            plan.code()
        ));
    }
    Ok(())
}

fn sigint_mid_apply(trial: u32) -> Result<(), String> {
    let project = Project::new();
    let delay = unique_delay(trial, 120);
    slow_stack(&project, &delay, "");
    let child = project.run().args(["up", "--yes", "slow"]).spawn();
    let child = apply_started(child, &delay)?;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let interrupted = done(child);
    if interrupted.code() != 130 {
        return Err(format!("exit {} instead of 130", interrupted.code()));
    }
    slow_stack(&project, "0", "");
    converges(|| project.run(), "slow")
}

fn concurrent_ups(trial: u32) -> Result<(), String> {
    let project = Project::new();
    slow_stack(&project, &unique_delay(trial, 2), "");
    let first = project.run().args(["up", "--yes", "slow"]).spawn();
    let second = project.run().args(["up", "--yes", "slow"]).spawn();
    for (which, run) in [("first", done(first)), ("second", done(second))] {
        if run.code() != 0 {
            return Err(format!(
                "the {which} `up` failed: {}",
                run.stderr().lines().last().unwrap_or_default()
            ));
        }
    }
    converges(|| project.run(), "slow")
}

fn vault_down_at_output_capture(trial: u32) -> Result<(), String> {
    let mut bao = OpenBao::dev();
    let project = Project::new();
    let delay = unique_delay(trial, 3);
    let vault = format!(
        "[encryption]\nkey = \"passphrase\"\n\n[vault]\naddress = \"{}\"\n\n[outputs_to_vault]\nmessage = \"message\"\n",
        bao.address()
    );
    slow_stack(&project, &delay, &vault);
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_VAULT_RETRY_SECONDS", "1,1")
    };
    let child = run()
        .args(["--output", "json", "up", "--yes", "slow"])
        .spawn();
    let child = apply_started(child, &delay)?;
    let port = bao.port;
    bao.stop();
    let up = done(child);
    if up.json()["kind"] != "outputs_not_pushed" {
        return Err(format!(
            "the run did not say the outputs await a push (exit {}): {}",
            up.code(),
            up.stderr().lines().last().unwrap_or_default()
        ));
    }
    let bao = OpenBao::dev_on(port);
    let push = run().args(["outputs", "push", "slow"]).output();
    if push.code() != 0 {
        return Err(format!(
            "`outputs push` failed once Vault was back: {}",
            push.stderr().lines().last().unwrap_or_default()
        ));
    }
    if bao
        .kv_json(DEV_ROOT_TOKEN, "get", "wildside/slow/default/message")
        .is_none()
    {
        return Err("the output never reached Vault".into());
    }
    converges(run, "slow")
}

fn sandbox_faults(trial: u32) -> Result<(), String> {
    let mirror = crate::support::find_provider_mirror().expect("skip_reason checked the mirror");
    let project = Project::new();
    project.stack(
        "net",
        "[digitalocean]\nregion = \"nyc3\"\n\n[backend]\ntype = \"local\"\n\n[vpc]\ncidr = \"10.30.0.0/16\"\n\n[cluster]\nversion = \"1.33\"\n\n[[node_pools]]\nname = \"core\"\nsize = \"s-2vcpu-4gb\"\ncount = 1\n",
    );
    let faults = format!("5xx=0.1,429=0.1,seed={trial}");
    let sandbox = Sandbox::start(project.path(), &["--faults", &faults]);
    let run = || {
        project
            .run()
            .args(["--sandbox", &sandbox.url])
            .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
    };
    let up = run().args(["up", "--yes", "net"]).output();
    // A fault may fail the run; what matters is that a rerun converges and nothing is orphaned.
    let result = converges(run, "net").and_then(|()| {
        let down = run().args(["down", "--yes", "net"]).output();
        let down = if down.code() == 0 {
            down
        } else {
            run().args(["down", "--yes", "net"]).output()
        };
        if down.code() != 0 {
            return Err(format!(
                "`down` failed twice: {}",
                down.stderr().lines().last().unwrap_or_default()
            ));
        }
        let left = sandbox.resources();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "left in the sandbox after down: {left:?} (first up exit {})",
                up.code()
            ))
        }
    });
    sandbox.stop();
    result
}

fn kill_driver(trial: u32) -> Result<(), String> {
    let project = Project::new();
    let delay = unique_delay(trial, 3);
    slow_stack(&project, &delay, "");
    let child = project.run().args(["up", "--yes", "slow"]).spawn();
    let mut child = apply_started(child, &delay)?;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    // tofu, in its own process group, finishes the apply it started and then releases its lock: the rerun
    // waits for it.
    let rerun = project.run().args(["up", "--yes", "slow"]).output();
    if rerun.code() != 0 {
        return Err(format!(
            "the rerun failed: {}",
            rerun.stderr().lines().last().unwrap_or_default()
        ));
    }
    converges(|| project.run(), "slow")
}

fn gc_racing_preview_up(trial: u32) -> Result<(), String> {
    let bao = OpenBao::dev();
    let project = Project::new();
    project.stack(
        "preview",
        &format!(
            "[vault]\naddress = \"{}\"\n\n[preview]\nmax_concurrent = 5\nttl = \"1h\"\n\n[[modules]]\nname = \"app\"\nsource = \"example\"\npreview_inputs = {{ message = \"commit_sha\" }}\n",
            bao.address()
        ),
    );
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", "2030-01-01T00:00:00Z")
    };
    let pr = (trial + 1).to_string();
    let up = run()
        .args([
            "preview", "up", "--yes", "--stack", "preview", "--pr", &pr, "--sha", "abc1234",
        ])
        .spawn();
    let gc = run()
        .args([
            "preview",
            "gc",
            "--yes",
            "--stack",
            "preview",
            "--open-prs",
            &pr,
        ])
        .spawn();
    let (up, gc) = (done(up), done(gc));
    if up.code() != 0 {
        return Err(format!(
            "`preview up` failed: {}",
            up.stderr().lines().last().unwrap_or_default()
        ));
    }
    if gc.code() != 0 {
        return Err(format!(
            "`preview gc` failed: {}",
            gc.stderr().lines().last().unwrap_or_default()
        ));
    }
    let list = run()
        .args(["--output", "json", "preview", "list", "--stack", "preview"])
        .output();
    let alive = list.json()["previews"]
        .as_array()
        .is_some_and(|previews| previews.iter().any(|record| record["pr"] == trial + 1));
    if !alive {
        return Err(format!("gc removed the open pull request {pr}'s preview"));
    }
    let workspace = format!("pr-{pr}");
    let outputs = run()
        .args(["--output", "json", "output", "preview", "-w", &workspace])
        .output();
    if outputs.code() != 0 {
        return Err("the preview's state is unreadable".into());
    }
    Ok(())
}
