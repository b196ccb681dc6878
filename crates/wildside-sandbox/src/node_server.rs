//! One droplet's long-running process, as its init system would run it: its server (`bao server -config=...`)
//! or a service its cloud-init installs (the appliance leader's enrollment signer); also each process of a
//! cluster's control plane (etcd, kube-apiserver, kube-controller-manager).
//!
//! The process runs in its own process group, so a Ctrl-C meant for the sandbox never reaches it directly: the
//! sandbox stops it deliberately, with SIGTERM to the group, then SIGKILL if it has not exited within
//! [`GRACE`]. Its output goes to a log file in the droplet's directory (`server.log` for the server; a file, so
//! it can never block), and a process still running when its handle is dropped is killed, so none is ever left
//! behind.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a server has to exit after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

/// Environment variables that would override what the config says.
const OVERRIDES: [&str; 8] = [
    "BAO_API_ADDR",
    "BAO_CLUSTER_ADDR",
    "BAO_RAFT_NODE_ID",
    "BAO_RAFT_PATH",
    "VAULT_API_ADDR",
    "VAULT_CLUSTER_ADDR",
    "VAULT_RAFT_NODE_ID",
    "VAULT_RAFT_PATH",
];

pub(super) struct NodeServer {
    child: Option<tokio::process::Child>,
    pub(super) log: PathBuf,
}

impl NodeServer {
    /// Starts `binary server -config=<config>` with its log in `dir`.
    pub(super) fn start(binary: &Path, dir: &Path, config: &Path) -> std::io::Result<Self> {
        let arguments = [
            "server".to_string(),
            format!("-config={}", config.display()),
        ];
        Self::launch(binary, &arguments, dir, None, dir.join("server.log"))
    }

    /// Starts a service: `command` with `ROOT` set to the droplet's root, its log in `dir`.
    pub(super) fn service(
        command: &[String],
        dir: &Path,
        root: &Path,
        index: usize,
    ) -> std::io::Result<Self> {
        let (program, arguments) = command.split_first().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "an empty ExecStart")
        })?;
        let log = dir.join(format!("service-{index}.log"));
        Self::launch(Path::new(program), arguments, dir, Some(root), log)
    }

    /// Starts `binary` with `args` in `dir`, its output appended to `log_name` there.
    pub(super) fn spawn(
        binary: &Path,
        args: &[String],
        dir: &Path,
        log_name: &str,
    ) -> std::io::Result<Self> {
        Self::launch(binary, args, dir, None, dir.join(log_name))
    }

    fn launch(
        program: &Path,
        arguments: &[String],
        dir: &Path,
        root: Option<&Path>,
        log: PathBuf,
    ) -> std::io::Result<Self> {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut command = tokio::process::Command::new(program);
        if let Some(root) = root {
            command.env("ROOT", root);
        }
        command
            .args(arguments)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .process_group(0);
        for name in OVERRIDES {
            command.env_remove(name);
        }
        let child = command.spawn()?;
        Ok(Self {
            child: Some(child),
            log,
        })
    }

    /// How the server exited, if it has.
    pub(super) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGTERM to the process group, then SIGKILL after the grace period; waits for the exit.
    pub(super) async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
            if tokio::time::timeout(GRACE, child.wait()).await.is_ok() {
                return;
            }
            tracing::warn!(
                "a server did not stop within {}s of SIGTERM: killing it (log: {})",
                GRACE.as_secs(),
                self.log.display()
            );
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = child.wait().await;
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        if let Some(pid) = self
            .child
            .as_ref()
            .and_then(tokio::process::Child::id)
            .and_then(|pid| i32::try_from(pid).ok())
        {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
