//! The rendered trees build: `kustomize build` of the platform repository's cluster path and of every platform
//! directory, and of a namespace preview's overlay over the application's base, each yields the objects the
//! tree declares. kustomize comes from `make tools` (`KUSTOMIZE` in `kube-tools.env`); without that manifest
//! the test is skipped and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wildside_tofu::gitops::{PreviewOverlay, render_base, render_index, render_overlay};
use wildside_tofu::stack::{AppsSettings, ChartPin, GitRemote, PostgresPlacement, PreviewDatabase};

use crate::gitops::gitops_section;
use crate::support::Project;

/// The Kubernetes tools' manifest, or `None` (with the reason printed) when `make tools` has not made it.
pub(crate) fn kube_tools() -> Option<BTreeMap<String, String>> {
    let dir = std::env::var_os("WILDSIDE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/wildside-tofu")
        });
    let path = dir.join("kube-tools.env");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| line.split_once('='))
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        ),
        Err(error) => {
            eprintln!(
                "skipped: {} cannot be read ({error}); `make tools` builds the Kubernetes tools and writes it",
                path.display()
            );
            None
        }
    }
}

/// `kustomize build` of `directory`: the objects, as (kind, namespace/name).
fn build(kustomize: &Path, directory: &Path) -> Vec<(String, String)> {
    let output = Command::new(kustomize)
        .arg("build")
        .arg(directory)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kustomize build {}: {}",
        directory.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.split("\n---\n")
        .filter(|document| !document.trim().is_empty())
        .map(|document| {
            let object: serde_json::Value = serde_norway::from_str(document).unwrap();
            let metadata = &object["metadata"];
            (
                object["kind"].as_str().unwrap().to_string(),
                format!(
                    "{}/{}",
                    metadata["namespace"].as_str().unwrap_or(""),
                    metadata["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn rendered_trees_build_with_kustomize() {
    let Some(tools) = kube_tools() else {
        return;
    };
    let kustomize = PathBuf::from(&tools["KUSTOMIZE"]);
    let project = Project::new();
    let out = project.path().join("infra");
    project.stack(
        "dev",
        &format!(
            "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n{}",
            gitops_section(Path::new("/nowhere"), "ops@wildside.example")
        ),
    );
    project
        .run()
        .args(["gitops", "render", "dev", "--out"])
        .args([&out])
        .output()
        .expect_code(0);
    let cluster = build(&kustomize, &out.join("clusters/dev"));
    assert!(
        cluster.contains(&(
            "Kustomization".to_string(),
            "flux-system/platform-cert-manager".to_string()
        )),
        "{cluster:?}"
    );
    for directory in [
        "sources",
        "traefik",
        "cert-manager",
        "external-dns",
        "vault",
        "databases",
        "redis",
    ] {
        let objects = build(&kustomize, &out.join("platform").join(directory));
        assert!(
            objects.iter().any(|(kind, _)| kind != "Namespace"),
            "{directory}: {objects:?}"
        );
    }

    let apps = AppsSettings {
        repository: GitRemote::Path(PathBuf::from("/nowhere")),
        branch: "main".to_string(),
        project: "wildside".to_string(),
        image: "ghcr.io/example/wildside-app".to_string(),
        chart: ChartPin {
            version: "0.1.0".to_string(),
        },
        databases: vec![PreviewDatabase::Postgres, PreviewDatabase::Redis],
        postgres: PostgresPlacement::PerPullRequest,
        ingress_namespace: "traefik".to_string(),
    };
    let repository = project.path().join("apps");
    render_base(&apps).unwrap().write_to(&repository).unwrap();
    let overlay = PreviewOverlay {
        apps: &apps,
        domain: "wildside.example",
        pr: 4,
        sha: "0123456789abcdef0123456789abcdef01234567",
        expires: "2030-03-17T12:00:00Z".parse().unwrap(),
        vault_path: "wildside/apps/pr-4/services".to_string(),
        redis_chart: "22.0.7",
    };
    render_overlay(&overlay)
        .unwrap()
        .write_to(&repository)
        .unwrap();
    render_index(&repository)
        .unwrap()
        .write_to(&repository)
        .unwrap();
    let previews = build(&kustomize, &repository.join("overlays/ephemeral"));
    for expected in [
        ("Namespace", "/wildside-pr-4"),
        ("ResourceQuota", "wildside-pr-4/preview"),
        ("LimitRange", "wildside-pr-4/preview"),
        ("NetworkPolicy", "wildside-pr-4/default-deny-ingress"),
        ("Cluster", "wildside-pr-4/postgres"),
        ("ExternalSecret", "wildside-pr-4/postgres-credentials"),
        ("HelmRelease", "wildside-pr-4/wildside"),
        ("HelmRelease", "wildside-pr-4/redis"),
    ] {
        assert!(
            previews.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {previews:?}"
        );
    }
}
