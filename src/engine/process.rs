//! Running one tofu command as a child process, deliberately.
//!
//! - The child gets its own process group, so a terminal's Ctrl-C reaches only wildside-tofu, which decides.
//! - The first interrupt is forwarded to tofu exactly once, as SIGINT: tofu then stops its providers, saves
//!   state and releases its lock, and we wait for that. A second interrupt only warns. A third within
//!   [`FORCE_WINDOW`] of the second kills the whole group with SIGKILL, saying what that risks. Nothing else
//!   ever sends SIGKILL.
//! - The child's environment is the allow-list of `environment` and what the invocation sets, nothing else.
//! - stdout (the `-json` UI) is handed over line by line; stderr is drained on its own so tofu never blocks.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::environment::Inherit;
use super::error::EngineError;
use super::redact::Redactor;
use super::signals::Interrupts;

/// How long to keep reading tofu's output after it exited.
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// How soon after the second interrupt a third one force-kills tofu.
const FORCE_WINDOW: Duration = Duration::from_secs(3);

/// Everything needed to start one tofu command.
pub(crate) struct Invocation<'a> {
    pub(crate) program: &'a Path,
    pub(crate) args: Vec<String>,
    pub(crate) cwd: &'a Path,
    /// What tofu inherits of wildside-tofu's own environment.
    pub(crate) inherit: Inherit,
    pub(crate) env: Vec<(String, String)>,
    /// Values that must reach tofu but never a file, a log or `Debug` output.
    pub(crate) secret_env: &'a [(String, SecretString)],
    /// What tofu reads on stdin (a state for `state push -`); nothing when `None`.
    pub(crate) stdin: Option<SecretString>,
}

/// How a child ended.
pub(crate) struct Completed {
    pub(crate) code: i32,
    pub(crate) stderr: String,
}

/// Runs the invocation, passing each stdout line to `on_line`; returns once tofu has exited.
pub(crate) async fn run(
    invocation: Invocation<'_>,
    interrupts: &mut Interrupts,
    mut on_line: impl FnMut(&str) -> Result<(), EngineError>,
) -> Result<Completed, EngineError> {
    let already = interrupts.received();
    if already > 0 {
        return Err(EngineError::Interrupted);
    }
    let tofu_log = tofu_log_wanted();
    let started = Instant::now();
    let shown = shown_command(&invocation);
    let mut command = Command::new(invocation.program);
    command
        .args(&invocation.args)
        .current_dir(invocation.cwd)
        .env_clear()
        .envs(invocation.inherit.filter(std::env::vars_os()))
        .envs(invocation.env.iter().map(|(key, value)| (key, value)))
        .envs(
            invocation
                .secret_env
                .iter()
                .map(|(key, value)| (key, value.expose_secret())),
        )
        .envs(tofu_log.then_some(("TF_LOG_CORE", "DEBUG")))
        .process_group(0)
        .stdin(if invocation.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let huge_pages = crate::huge_pages::AsTheSystemSets::for_a_child();
    let spawned = command.spawn();
    drop(huge_pages);
    let mut child = spawned.map_err(|source| EngineError::Spawn {
        program: invocation.program.to_path_buf(),
        source,
    })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    if let (Some(input), Some(mut pipe)) = (invocation.stdin, child.stdin.take()) {
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = pipe.write_all(input.expose_secret().as_bytes()).await;
        });
    }
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr_task = if tofu_log {
        let redactor = Redactor::new(
            invocation
                .secret_env
                .iter()
                .map(|(_, value)| value)
                .chain(&invocation.inherit.credentials(std::env::vars_os())),
        );
        tokio::spawn(relay_log(stderr, redactor))
    } else {
        tokio::spawn(async move {
            let mut stderr = stderr;
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        })
    };
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let mut first_error = None;
    let mut interrupted = 0;
    let mut second_at: Option<Instant> = None;
    let mut stdout_open = true;
    let status = loop {
        tokio::select! {
            line = lines.next_line(), if stdout_open => match line {
                Ok(Some(line)) => {
                    if let Err(error) = on_line(&line) {
                        first_error.get_or_insert(error);
                    }
                }
                _ => stdout_open = false,
            },
            status = child.wait() => break status,
            total = interrupts.next() => {
                interrupted = total - already;
                respond_to_interrupt(interrupted, pid, &mut second_at);
            }
        }
    }
    .map_err(|source| EngineError::io("waiting for tofu", source))?;
    // tofu has exited: take what is left in its pipes, but do not wait on a grandchild that kept them open.
    let drain = async {
        while stdout_open && let Ok(Some(line)) = lines.next_line().await {
            if let Err(error) = on_line(&line) {
                first_error.get_or_insert(error);
            }
        }
    };
    let _ = tokio::time::timeout(PIPE_GRACE, drain).await;
    let stderr = tokio::time::timeout(PIPE_GRACE, stderr_task)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    tracing::debug!(
        "ran `{shown}` in `{}`: {:.1}s, exit status {}",
        invocation.cwd.display(),
        started.elapsed().as_secs_f64(),
        status.code().map_or_else(
            || "none (killed by a signal)".to_string(),
            |code| code.to_string()
        )
    );
    if interrupted > 0 {
        return Err(EngineError::Interrupted);
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    Ok(Completed {
        code: status.code().unwrap_or(1),
        stderr,
    })
}

/// tofu's own log (core only: a provider's log can hold the credentials it sends) is relayed when the log
/// shows trace detail (`-vv`), unless the user configured tofu's logging themselves.
fn tofu_log_wanted() -> bool {
    tracing::enabled!(tracing::Level::TRACE)
        && ["TF_LOG", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_LOG_PATH"]
            .iter()
            .all(|name| std::env::var_os(name).is_none())
}

/// The command as a person would type it, for the log.
fn shown_command(invocation: &Invocation<'_>) -> String {
    let mut shown = invocation.program.file_name().map_or_else(
        || invocation.program.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    for arg in &invocation.args {
        shown.push(' ');
        shown.push_str(arg);
    }
    shown
}

/// Relays tofu's log lines (`<time> [LEVEL] ...`) to the trace log, with secrets masked, and returns the rest of
/// stderr (tofu's own messages) as the error text.
async fn relay_log(stderr: tokio::process::ChildStderr, redactor: Redactor) -> String {
    let mut reader = BufReader::new(stderr);
    let mut text = String::new();
    let mut line = Vec::new();
    while let Ok(read) = reader.read_until(b'\n', &mut line).await {
        if read == 0 {
            break;
        }
        let decoded =
            redactor.redact(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']));
        tracing::trace!("tofu: {decoded}");
        if !is_log_line(&decoded) {
            text.push_str(&decoded);
            text.push('\n');
        }
        line.clear();
    }
    text
}

/// Whether a stderr line is one of tofu's log lines: a time (`Z`, or an offset such as `+0100`), then the level
/// in brackets.
fn is_log_line(line: &str) -> bool {
    line.split_once(' ').is_some_and(|(time, rest)| {
        (time.parse::<jiff::Timestamp>().is_ok()
            || jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%z", time).is_ok())
            && ["[TRACE]", "[DEBUG]", "[INFO]", "[WARN]", "[ERROR]"]
                .iter()
                .any(|level| rest.starts_with(level))
    })
}

fn respond_to_interrupt(count: u32, pid: Option<Pid>, second_at: &mut Option<Instant>) {
    let Some(pid) = pid else { return };
    match count {
        1 => {
            tracing::warn!(
                "interrupt received: asking tofu to stop; waiting for it to save state and release the lock"
            );
            let _ = kill(pid, Signal::SIGINT);
        }
        _ if second_at.is_some_and(|at| at.elapsed() <= FORCE_WINDOW) => {
            tracing::error!(
                "force-killing tofu: its state lock may stay held (release it with `tofu force-unlock`) and changes made since the last state save may be missing from state"
            );
            let _ = killpg(pid, Signal::SIGKILL);
        }
        _ => {
            *second_at = Some(Instant::now());
            tracing::warn!(
                "still waiting for tofu to stop safely; press Ctrl-C again within {}s to force-kill it (risks a stale lock and lost state)",
                FORCE_WINDOW.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_log_line;

    #[test]
    fn tofu_log_lines_are_told_from_its_messages() {
        assert!(is_log_line(
            "2026-12-02T16:00:00.123Z [DEBUG] backend/local: starting Plan operation"
        ));
        assert!(is_log_line(
            "2026-12-02T16:00:00.123+0100 [INFO]  OpenTofu version: 1.10.0"
        ));
        assert!(!is_log_line("Error: Failed to load plugin schemas"));
        assert!(!is_log_line("[DEBUG] no time"));
    }
}
