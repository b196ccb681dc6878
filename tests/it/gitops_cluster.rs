//! The rendered trees on a real API server: a sandbox cluster (kube-apiserver, etcd and the controller
//! manager) with the CRDs of Flux and of the platform's operators installed. The platform tree `gitops push`
//! commits and the overlays `preview up` commits, each taken from its (local bare) Git repository and built
//! with kustomize, are applied server-side with kustomize-controller's field manager, as Flux would apply
//! them. A preview's namespace then has its quota and network policy, and the API server itself refuses a pod
//! over that quota once the controller manager has computed it. After `preview down`, applying the
//! repository again with prune removes the namespace.
//!
//! The Flux controllers are not run: kubectl stands in for kustomize-controller. It prunes through an
//! ApplySet, the inventory of what the last apply applied, as kustomize-controller prunes through the
//! inventory it keeps in a Kustomization's status. kubectl 1.34 has no other way to prune what server-side
//! apply created: `--prune -l <selector>` refuses with "--prune is in alpha and doesn't currently work on
//! objects created by server-side apply". The ApplySet's parent is cluster-scoped, because a Secret or
//! ConfigMap parent needs `--namespace`, and kubectl then refuses objects of any other namespace; kubectl
//! cannot create a parent of a custom type, so the test makes its type and the parent object.
//!
//! Without the Kubernetes tools the test says why and is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::gitops::{bare_repository, checkout, git, namespace_preview_stack};
use crate::gitops_build::{BuildTools, build_tools, kube_tools, objects};
use crate::sandbox_kube::{PATIENCE, kubectl_or_skip, running_cluster, text, write_kubeconfig};
use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project, Sandbox};

/// The ApplySet parent's type: a cluster-scoped kind whose CRD carries the label that lets kubectl use it.
const INVENTORY_GROUP: &str = "test.wildside.example";
const INVENTORY: &str = "previews";

/// kubectl against one cluster, with ApplySets (alpha in kubectl 1.34) enabled.
pub(crate) struct Kube {
    pub(crate) kubectl: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) scratch: PathBuf,
}

impl Kube {
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .env("KUBECTL_APPLYSET", "true")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--request-timeout", "60s"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs kubectl, which must succeed; its standard output.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// The object `args` gets, as JSON, or `None` when kubectl cannot get it (it does not exist).
    pub(crate) fn get(&self, args: &[&str]) -> Option<Value> {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        let output = self.run(&args);
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).unwrap())
    }

    /// Applies a YAML stream server-side with kustomize-controller's field manager, then finds every one of
    /// its objects in the API server; kubectl's report.
    fn apply(&self, name: &str, stream: &str, flags: &[&str]) -> String {
        let file = self.scratch.join(format!("{name}.yaml"));
        std::fs::write(&file, stream).unwrap();
        let file = file.to_str().unwrap();
        let mut args = vec![
            "apply",
            "--server-side",
            "--field-manager=kustomize-controller",
            "-f",
            file,
        ];
        args.extend(flags);
        let report = self.ok(&args);
        let found = self.ok(&["get", "-f", file, "-o", "name"]);
        assert_eq!(
            found.lines().count(),
            objects(stream).len(),
            "every object of {name} is in the API server:\n{found}\n{stream}"
        );
        report
    }

    /// The names of the cluster's namespaces.
    fn namespaces(&self) -> Vec<String> {
        self.ok(&["get", "namespaces", "-o", "name"])
            .lines()
            .map(|line| line.trim_start_matches("namespace/").to_string())
            .collect()
    }
}

/// Polls `check` until it holds, for at most [`PATIENCE`]; the last reason it gave when it never does.
pub(crate) fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(reason) => assert!(started.elapsed() < PATIENCE, "{what}: {reason}"),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The ApplySet parent's id, as kubectl computes it: the base64url SHA-256 of `<name>.<namespace>.<kind>.<group>`.
fn applyset_id() -> String {
    let digest = Sha256::digest(format!("{INVENTORY}..Inventory.{INVENTORY_GROUP}"));
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The ApplySet parent's type and the parent itself, made as kubectl expects to find them.
fn make_inventory(kube: &Kube) {
    let definition = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("inventories.{INVENTORY_GROUP}"),
            "labels": { "applyset.kubernetes.io/is-parent-type": "true" },
        },
        "spec": {
            "group": INVENTORY_GROUP,
            "scope": "Cluster",
            "names": {
                "kind": "Inventory", "listKind": "InventoryList",
                "plural": "inventories", "singular": "inventory",
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object" } },
            }],
        },
    });
    let file = kube.scratch.join("inventory-crd.json");
    std::fs::write(&file, definition.to_string()).unwrap();
    kube.ok(&["apply", "--server-side", "-f", file.to_str().unwrap()]);
    kube.ok(&[
        "wait",
        "--for=condition=established",
        "--timeout=120s",
        &format!("crd/inventories.{INVENTORY_GROUP}"),
    ]);
    let version = kube.json(&["version", "--client"])["clientVersion"]["gitVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let parent = json!({
        "apiVersion": format!("{INVENTORY_GROUP}/v1"),
        "kind": "Inventory",
        "metadata": {
            "name": INVENTORY,
            "labels": { "applyset.kubernetes.io/id": applyset_id() },
            "annotations": {
                "applyset.kubernetes.io/tooling": format!("kubectl/{version}"),
                "applyset.kubernetes.io/contains-group-kinds": "",
            },
        },
    });
    let file = kube.scratch.join("inventory.json");
    std::fs::write(&file, parent.to_string()).unwrap();
    kube.ok(&[
        "apply",
        "--server-side",
        "--field-manager=kubectl-applyset",
        "-f",
        file.to_str().unwrap(),
    ]);
}

/// The CRDs of Flux and of the platform's operators, installed and established.
fn install_crds(kube: &Kube, tools: &BTreeMap<String, String>) {
    for key in ["FLUX_CRDS", "OPERATOR_CRDS"] {
        kube.ok(&["apply", "--server-side", "-f", &tools[key]]);
    }
    kube.ok(&[
        "wait",
        "--for=condition=established",
        "--timeout=120s",
        "crd",
        "--all",
    ]);
}

/// A pod the namespace's restricted Pod Security admits, requesting `cpu` and `memory` (limits twice that).
fn pod(namespace: &str, name: &str, cpu: u32, memory: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "securityContext": { "runAsNonRoot": true, "seccompProfile": { "type": "RuntimeDefault" } },
            "containers": [{
                "name": "app", "image": "registry.invalid/app:1",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": { "drop": ["ALL"] },
                },
                "resources": {
                    "requests": { "cpu": format!("{cpu}m"), "memory": format!("{memory}Mi") },
                    "limits": { "cpu": format!("{}m", cpu * 2), "memory": format!("{}Mi", memory * 2) },
                },
            }],
        },
    })
}

/// The platform tree `gitops push` committed, applied directory by directory.
fn apply_platform(kube: &Kube, build: &BuildTools, infra: &Path) {
    kube.apply("cluster", &build.build(&infra.join("clusters/dev")), &[]);
    let mut directories: Vec<PathBuf> = std::fs::read_dir(infra.join("platform"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    directories.sort();
    assert_eq!(directories.len(), 7, "{directories:?}");
    for directory in directories {
        let name = directory.file_name().unwrap().to_str().unwrap().to_string();
        kube.apply(&format!("platform-{name}"), &build.build(&directory), &[]);
    }
}

/// The application repository's preview overlays, applied with prune through the ApplySet; kubectl's report.
fn apply_previews(kube: &Kube, build: &BuildTools, apps: &Path) -> String {
    let applyset = format!("--applyset=inventories.{INVENTORY_GROUP}/{INVENTORY}");
    kube.apply(
        "previews",
        &build.build(&apps.join("overlays/ephemeral")),
        &["--prune", &applyset],
    )
}

#[test]
fn rendered_trees_applied_to_a_real_api_server_bind_a_quota_and_prune_a_closed_preview() {
    let Some(kubectl) = kubectl_or_skip("rendered_trees_applied_to_a_real_api_server") else {
        return;
    };
    let (Some(tools), Some(build)) = (kube_tools(), build_tools()) else {
        return;
    };
    if !tools.contains_key("FLUX_CRDS") {
        eprintln!(
            "skipped: kube-tools.env names no FLUX_CRDS (`make tools` writes it with scripts/kube-tools.sh)"
        );
        return;
    }
    let bao = OpenBao::dev();
    let project = Project::new();
    let apps_remote = bare_repository(project.path(), "wildside-apps.git");
    let infra_remote = bare_repository(project.path(), "wildside-infra.git");
    project.stack(
        "preview",
        &namespace_preview_stack(&bao.address(), &apps_remote, &infra_remote),
    );
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", "2030-03-17T12:00:00Z")
    };
    run()
        .args(["gitops", "push", "preview"])
        .output()
        .expect_code(0);
    for pr in [1u64, 2] {
        run()
            .args(["preview", "up", "--yes", "--pr", &pr.to_string()])
            .args(["--sha", &format!("{pr:040x}")])
            .output()
            .expect_code(0);
    }

    let scratch = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start_with_clusters(scratch.path(), &[]);
    let id = running_cluster(&sandbox, "gitops");
    let kubeconfig = scratch.path().join("kubeconfig");
    write_kubeconfig(&sandbox, &id, "", &kubeconfig);
    let kube = Kube {
        kubectl,
        kubeconfig,
        scratch: scratch.path().to_path_buf(),
    };
    install_crds(&kube, &tools);
    make_inventory(&kube);

    // `gitops bootstrap` makes Flux's namespace; the cluster path's objects live there.
    kube.ok(&["create", "namespace", "flux-system"]);
    let infra = checkout(&infra_remote, &scratch.path().join("infra"));
    apply_platform(&kube, &build, &infra);
    let issuer = kube.json(&["get", "clusterissuer", "letsencrypt"]);
    assert_eq!(
        issuer["spec"]["acme"]["email"], "ops@wildside.example",
        "{issuer}"
    );

    let apps = checkout(&apps_remote, &scratch.path().join("apps"));
    apply_previews(&kube, &build, &apps);
    let namespace = kube.json(&["get", "namespace", "wildside-pr-1"]);
    assert_eq!(namespace["status"]["phase"], "Active", "{namespace}");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(namespace["metadata"]["labels"]["pr"], "1");
    let quota = kube.json(&["-n", "wildside-pr-1", "get", "resourcequota", "preview"]);
    assert_eq!(quota["spec"]["hard"]["requests.cpu"], "650m", "{quota}");
    let policy = kube.json(&[
        "-n",
        "wildside-pr-1",
        "get",
        "networkpolicy",
        "default-deny-ingress",
    ]);
    assert_eq!(policy["spec"]["podSelector"], json!({}), "{policy}");
    assert_eq!(
        policy["spec"]["policyTypes"],
        json!(["Ingress"]),
        "{policy}"
    );
    assert!(policy["spec"]["ingress"].is_null(), "{policy}");
    assert!(kube.namespaces().contains(&"wildside-pr-2".to_string()));

    // The controller manager computes the quota's status and makes the namespace's default ServiceAccount.
    eventually("the controller manager computes the quota", || {
        let quota = kube.json(&["-n", "wildside-pr-1", "get", "resourcequota", "preview"]);
        let account = kube.run(&["-n", "wildside-pr-1", "get", "serviceaccount", "default"]);
        if quota["status"]["hard"]["requests.cpu"] == "650m" && account.status.success() {
            Ok(())
        } else {
            Err(format!("{quota} {}", text(&account)))
        }
    });
    let create = |name: &str| {
        let file = scratch.path().join(format!("pod-{name}.json"));
        std::fs::write(&file, pod("wildside-pr-1", name, 400, 512).to_string()).unwrap();
        kube.run(&["create", "-f", file.to_str().unwrap()])
    };
    let within = create("within");
    assert!(
        within.status.success(),
        "a pod within the quota is admitted: {}",
        text(&within)
    );
    let over = create("over");
    assert!(
        !over.status.success()
            && text(&over).contains("Forbidden")
            && text(&over).contains("exceeded quota: preview"),
        "the API server refuses a pod over the quota: {}",
        text(&over)
    );

    // Closing pull request 2 changes the repository, not the cluster; the next apply prunes its namespace.
    run()
        .args(["preview", "down", "--yes", "--pr", "2"])
        .output()
        .expect_code(0);
    assert!(kube.namespaces().contains(&"wildside-pr-2".to_string()));
    git(&apps, &["pull", "--quiet", "origin", "main"]);
    let report = apply_previews(&kube, &build, &apps);
    assert!(
        report.contains("namespace/wildside-pr-2 pruned"),
        "{report}"
    );
    eventually("the closed preview's namespace goes", || {
        let namespaces = kube.namespaces();
        if namespaces.contains(&"wildside-pr-2".to_string()) {
            Err(format!("{namespaces:?}"))
        } else {
            Ok(())
        }
    });
    assert!(kube.namespaces().contains(&"wildside-pr-1".to_string()));
    kube.ok(&["-n", "wildside-pr-1", "get", "pod", "within"]);
    sandbox.stop();
}
