//! The rendered trees build and validate: `kustomize build` of the platform repository's cluster path and of
//! every platform directory, and of a namespace preview's overlay over the application's base, each yields the
//! objects the tree declares, and kubeconform finds every one of them valid, strictly, against the schemas of
//! Kubernetes, Flux and the operators the platform installs (cert-manager, External Secrets, CloudNativePG). An
//! object of a kind without a schema fails the test. kustomize, kubeconform and the schemas come from
//! `make tools` (`kube-tools.env`); without them the test is skipped and says why.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wildside_tofu::gitops::{
    PlatformInputs, PreviewOverlay, Tree, render_base, render_index, render_overlay,
    render_preview_cluster,
};
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

/// The tools this file's test needs, or `None` (with the reason printed) when `make tools` has not made them.
pub(crate) fn build_tools() -> Option<BuildTools> {
    let tools = kube_tools()?;
    let missing: Vec<&str> = [
        "KUSTOMIZE",
        "KUBECONFORM",
        "KUBECONFORM_SCHEMA_LOCATION",
        "OPERATOR_CRDS",
    ]
    .into_iter()
    .filter(|key| !tools.contains_key(*key))
    .collect();
    if !missing.is_empty() {
        eprintln!(
            "skipped: kube-tools.env names no {} (`make tools` writes them with scripts/kube-tools.sh)",
            missing.join(", ")
        );
        return None;
    }
    Some(BuildTools {
        kustomize: PathBuf::from(&tools["KUSTOMIZE"]),
        kubeconform: PathBuf::from(&tools["KUBECONFORM"]),
        schema_location: tools["KUBECONFORM_SCHEMA_LOCATION"].clone(),
    })
}

pub(crate) struct BuildTools {
    pub(crate) kustomize: PathBuf,
    kubeconform: PathBuf,
    schema_location: String,
}

impl BuildTools {
    /// `kustomize build` of `directory`, its output validated by kubeconform: the YAML stream.
    pub(crate) fn build(&self, directory: &Path) -> String {
        let output = Command::new(&self.kustomize)
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
        if let Err(report) = self.validate(&text) {
            panic!(
                "kubeconform finds the build of {} invalid:\n{report}",
                directory.display()
            );
        }
        text
    }

    /// kubeconform over `stream`, strictly (no unknown field) and with no kind left without a schema: its
    /// report, as the error unless every object is valid. Only the local schemas are searched: kubeconform's
    /// default location is on GitHub, which is not reachable.
    fn validate(&self, stream: &str) -> Result<(), String> {
        let mut child = Command::new(&self.kubeconform)
            .args(["-strict", "-summary", "-output", "text"])
            .arg("-schema-location")
            .arg(&self.schema_location)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stream.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let count = objects(stream).len();
        let all_valid =
            format!("found parsing stdin - Valid: {count}, Invalid: 0, Errors: 0, Skipped: 0");
        if output.status.success() && report.contains(&all_valid) {
            Ok(())
        } else {
            Err(report)
        }
    }
}

/// The objects of a YAML stream, as (kind, namespace/name).
pub(crate) fn objects(text: &str) -> Vec<(String, String)> {
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

/// The application repository, so that the platform tree has its `GitRepository` and `Kustomization` too.
const APPS: &str = r#"
[gitops.apps]
repository = "/nowhere-apps"
source_url = "https://git.wildside.example/wildside-apps.git"
project = "wildside"
image = "ghcr.io/example/wildside-app"
databases = ["postgres", "redis"]
"#;

#[test]
fn rendered_trees_build_with_kustomize_and_validate_with_kubeconform() {
    let Some(tools) = build_tools() else {
        return;
    };
    let project = Project::new();
    let out = project.path().join("infra");
    project.stack(
        "dev",
        &format!(
            "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n{}{APPS}",
            gitops_section(Path::new("/nowhere"), "ops@wildside.example")
        ),
    );
    project
        .run()
        .args(["gitops", "render", "dev", "--out"])
        .args([&out])
        .output()
        .expect_code(0);
    let cluster = objects(&tools.build(&out.join("clusters/dev")));
    for expected in ["platform-cert-manager", "apps-previews"] {
        assert!(
            cluster.contains(&(
                "Kustomization".to_string(),
                format!("flux-system/{expected}")
            )),
            "{expected} in {cluster:?}"
        );
    }
    let sources = objects(&tools.build(&out.join("platform/sources")));
    assert!(
        sources.contains(&("GitRepository".to_string(), "flux-system/apps".to_string())),
        "{sources:?}"
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
        let built = objects(&tools.build(&out.join("platform").join(directory)));
        assert!(
            built.iter().any(|(kind, _)| kind != "Namespace"),
            "{directory}: {built:?}"
        );
    }

    let apps = AppsSettings {
        repository: GitRemote::Path(PathBuf::from("/nowhere")),
        source_url: "https://git.wildside.example/wildside-apps.git".to_string(),
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
    let previews = objects(&tools.build(&repository.join("overlays/ephemeral")));
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

/// A cluster preview's directory in the platform repository builds: the platform's Kustomizations, the
/// cluster's ConfigMap and the Kustomization of the application; and the application directory it points at
/// builds into the same objects a namespace preview's overlay holds.
#[test]
fn a_cluster_previews_directory_builds_with_its_application_overlay() {
    let Some(tools) = build_tools() else {
        return;
    };
    let project = Project::new();
    project.stack(
        "previews",
        &format!(
            "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ message = \"hi\" }}\n{}{APPS}",
            gitops_section(Path::new("/nowhere"), "ops@wildside.example")
        ),
    );
    let stack = wildside_tofu::stack::load_stack(
        &project.path().join("stacks/previews.toml"),
        &["example".to_string()],
    )
    .unwrap();
    let settings = stack.gitops.unwrap();
    let apps = settings.apps.clone().unwrap();
    let overlay = PreviewOverlay {
        apps: &apps,
        domain: "wildside.example",
        pr: 7,
        sha: "0123456789abcdef0123456789abcdef01234567",
        expires: "2030-03-17T12:00:00Z".parse().unwrap(),
        vault_path: "wildside/previews/pr-7/services".to_string(),
        redis_chart: "22.0.7",
    };
    let inputs = PlatformInputs {
        stack: "previews".to_string(),
        cluster_name: "previews-pr-7".to_string(),
        vault_address: "https://vault.wildside.example:8200".to_string(),
        vault_ca: None,
    };
    let repository = project.path().join("infra");
    let tree = render_preview_cluster(&settings, &inputs, &overlay).unwrap();
    tree.write_to(&repository).unwrap();
    let directory = repository.join("clusters/dev-pr-7");
    let cluster = objects(&tools.build(&directory));
    for expected in [
        ("Kustomization", "flux-system/platform-databases"),
        ("Kustomization", "flux-system/preview-app"),
        ("ConfigMap", "flux-system/wildside-cluster"),
    ] {
        assert!(
            cluster.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {cluster:?}"
        );
    }
    let app = objects(&tools.build(&directory.join("app")));
    for expected in [
        ("Namespace", "/wildside-pr-7"),
        ("ResourceQuota", "wildside-pr-7/preview"),
        ("NetworkPolicy", "wildside-pr-7/default-deny-ingress"),
        ("Cluster", "wildside-pr-7/postgres"),
        ("HelmRelease", "wildside-pr-7/wildside"),
    ] {
        assert!(
            app.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {app:?}"
        );
    }
    // Written again, the tree changes nothing; an empty tree owning the directory removes it whole.
    assert_eq!(tree.write_to(&repository).unwrap(), Vec::<String>::new());
    Tree::owning(["clusters/dev-pr-7".to_string()])
        .write_to(&repository)
        .unwrap();
    assert!(!directory.exists());
}

/// The validation can fail: an unknown field, a kind no schema knows and a value outside a CRD's pattern are
/// each refused.
#[test]
fn kubeconform_refuses_unknown_fields_kinds_without_a_schema_and_invalid_values() {
    let Some(tools) = build_tools() else {
        return;
    };
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: valid\n";
    assert_eq!(tools.validate(namespace), Ok(()));
    for (invalid, why) in [
        (
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: typo\nspek: {}\n",
            "additional properties 'spek' not allowed",
        ),
        (
            "apiVersion: example.com/v1\nkind: Unknown\nmetadata:\n  name: nothing\n",
            "could not find schema for Unknown",
        ),
        (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: local\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: file:///srv/apps.git\n",
            "does not match pattern",
        ),
    ] {
        let stream = format!("{namespace}---\n{invalid}");
        let report = tools.validate(&stream).unwrap_err();
        assert!(report.contains(why), "{why} in {report}");
    }
}
