//! Flux itself reconciles a sandbox cluster. Flux's source-controller and kustomize-controller, built from
//! their pinned Go modules by `make test-tools`, run as local processes (`scripts/local-flux.py`) against the
//! cluster's real API server, and clone the platform and application repositories from a local Git
//! smart-HTTP server (`git http-backend`). The tool only commits and bootstraps: `gitops push` and
//! `gitops bootstrap` put the platform in place, Flux applies it, a pull request's namespace appears with its
//! quota after `preview up`, and Flux prunes it after `preview down`.
//!
//! A Git host would call Flux's webhook receiver on each push; here the test asks for a reconciliation as that
//! receiver does, by annotating the GitRepository. The operators' CRDs are installed first, standing in for the
//! charts helm-controller (not run: a sandbox cluster has no nodes to run the operators on) would install.
//!
//! Without the Kubernetes tools or the Flux controllers the test says why and is skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::gitops::{bare_repository, namespace_preview_stack};
use crate::gitops_build::kube_tools;
use crate::gitops_cluster::{Kube, eventually};
use crate::sandbox_kube::{kubectl_or_skip, running_cluster, write_kubeconfig};
use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project, Sandbox};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Flux's controllers and the Git server, as `scripts/local-flux.py` runs them; stopped when dropped.
pub(crate) struct LocalFlux {
    child: Child,
    /// The Git server's base URL: `<url>/<name>.git` clones the bare repository `<name>.git`.
    pub(crate) git_url: String,
    work: tempfile::TempDir,
}

impl LocalFlux {
    /// The Git server alone, until [`LocalFlux::controllers_ready`]: the stacks need its URL before Flux can
    /// be pointed at the cluster.
    pub(crate) fn start(kubeconfig: &Path, repositories: &Path) -> (Self, BufReader<ChildStdout>) {
        let work = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-flux.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--repositories")
            .arg(repositories)
            .arg("--work")
            .arg(work.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        let git_url = line
            .trim()
            .strip_prefix("git ")
            .unwrap_or_else(|| panic!("local-flux.py printed no Git address: {line:?}"))
            .to_string();
        let flux = Self {
            child,
            git_url,
            work,
        };
        (flux, lines)
    }

    /// Waits for the controllers to answer their health checks.
    pub(crate) fn controllers_ready(&self, lines: &mut BufReader<ChildStdout>) {
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the Flux controllers started (their logs: {})",
            self.work.path().display()
        );
    }
}

impl Drop for LocalFlux {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
        if std::thread::panicking() {
            for controller in ["source-controller", "kustomize-controller"] {
                let log =
                    std::fs::read_to_string(self.work.path().join(format!("{controller}.log")))
                        .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                eprintln!("{controller}'s last lines:");
                for line in tail.into_iter().rev() {
                    eprintln!("  {line}");
                }
            }
        }
    }
}

/// Whether `make test-tools` built the Flux controllers and generated the CRDs; prints why not.
fn flux_controllers_or_skip(test: &str) -> bool {
    let Some(tools) = kube_tools() else {
        return false;
    };
    let missing: Vec<&str> = [
        "FLUX_SOURCE_CONTROLLER",
        "FLUX_KUSTOMIZE_CONTROLLER",
        "FLUX_CRDS",
        "OPERATOR_CRDS",
    ]
    .into_iter()
    .filter(|key| tools.get(*key).is_none_or(|path| !Path::new(path).exists()))
    .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: kube-tools.env names no {} (`make test-tools` builds them with scripts/kube-tools.sh)",
        missing.join(", ")
    );
    false
}

/// Asks source-controller to fetch the repository now, as Flux's webhook receiver does on a push.
fn reconcile_source(kube: &Kube, name: &str) {
    let now = jiff::Timestamp::now().to_string();
    kube.ok(&[
        "-n",
        "flux-system",
        "annotate",
        "--overwrite",
        &format!("gitrepository/{name}"),
        &format!("reconcile.fluxcd.io/requestedAt={now}"),
    ]);
}

/// Whether Flux's object `kind/name` says it is Ready; its status otherwise.
fn flux_ready(kube: &Kube, kind: &str, name: &str) -> Result<(), String> {
    let object = kube
        .get(&["-n", "flux-system", "get", &format!("{kind}/{name}")])
        .ok_or_else(|| format!("{kind}/{name} does not exist"))?;
    let ready = object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|condition| condition["type"] == "Ready" && condition["status"] == "True");
    if ready {
        Ok(())
    } else {
        Err(format!("{kind}/{name}: {}", object["status"]))
    }
}

#[test]
fn flux_applies_the_platform_and_a_preview_namespace_and_prunes_it_when_the_preview_is_down() {
    const TEST: &str = "flux_applies_the_platform_and_a_preview_namespace";
    let Some(kubectl) = kubectl_or_skip(TEST) else {
        return;
    };
    if !flux_controllers_or_skip(TEST) {
        return;
    }
    let tools = kube_tools().unwrap();
    let bao = OpenBao::dev();
    let project = Project::new();
    let repositories = project.path().join("repositories");
    std::fs::create_dir(&repositories).unwrap();
    let apps_remote = bare_repository(&repositories, "wildside-apps.git");
    let infra_remote = bare_repository(&repositories, "wildside-infra.git");

    let scratch = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_with_clusters(scratch.path(), &[]);
    let id = running_cluster(&sandbox, "flux");
    let kubeconfig = scratch.path().join("kubeconfig");
    write_kubeconfig(&sandbox, &id, "", &kubeconfig);
    let kube = Kube {
        kubectl,
        kubeconfig: kubeconfig.clone(),
        scratch: scratch.path().to_path_buf(),
    };
    kube.ok(&["apply", "--server-side", "-f", &tools["OPERATOR_CRDS"]]);

    let (flux, mut lines) = LocalFlux::start(&kubeconfig, &repositories);
    project.stack(
        "preview",
        &namespace_preview_stack(&bao.address(), &apps_remote, &infra_remote)
            .replace("https://git.wildside.example", &flux.git_url),
    );
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_GITOPS_TOKEN", "flux-reads-with-this")
    };
    run()
        .args(["gitops", "push", "preview"])
        .output()
        .expect_code(0);
    run()
        .args(["gitops", "bootstrap", "preview", "--kubeconfig"])
        .args([&kubeconfig])
        .args(["--crds", &tools["FLUX_CRDS"]])
        .output()
        .expect_code(0);
    flux.controllers_ready(&mut lines);

    eventually("Flux applies the platform repository", || {
        flux_ready(&kube, "gitrepository", "flux-system")?;
        for name in [
            "flux-system",
            "platform-sources",
            "platform-vault",
            "platform-traefik",
            "platform-cert-manager",
            "platform-external-dns",
            "platform-databases",
            "platform-redis",
        ] {
            flux_ready(&kube, "kustomization", name)?;
        }
        Ok(())
    });
    let issuer = kube.get(&["get", "clusterissuer", "letsencrypt"]).unwrap();
    assert_eq!(
        issuer["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"], "platform-cert-manager",
        "{issuer}"
    );

    run()
        .args(["preview", "up", "--yes", "--pr", "1", "--sha"])
        .args([format!("{:040x}", 1)])
        .output()
        .expect_code(0);
    reconcile_source(&kube, "apps");
    eventually("Flux applies pull request 1's overlay", || {
        let quota = kube
            .get(&["-n", "wildside-pr-1", "get", "resourcequota", "preview"])
            .ok_or("no quota in wildside-pr-1 yet")?;
        if quota["status"]["hard"]["requests.cpu"] == "650m" {
            Ok(())
        } else {
            Err(format!("the quota has no status yet: {quota}"))
        }
    });
    let namespace = kube.get(&["get", "namespace", "wildside-pr-1"]).unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"], "apps-previews",
        "{namespace}"
    );
    assert!(
        kube.get(&[
            "-n",
            "wildside-pr-1",
            "get",
            "networkpolicy",
            "default-deny-ingress"
        ])
        .is_some()
    );

    run()
        .args(["preview", "down", "--yes", "--pr", "1"])
        .output()
        .expect_code(0);
    reconcile_source(&kube, "apps");
    eventually(
        "Flux prunes the closed preview's namespace",
        || match kube.get(&["get", "namespace", "wildside-pr-1"]) {
            None => Ok(()),
            Some(namespace) => Err(format!("still there: {}", namespace["status"])),
        },
    );
    drop(flux);
    sandbox.stop();
}
