//! GitOps with real Git repositories (local bare ones): the platform tree rendered byte-stably, committed only
//! when it changed and replayed over commits made by others; namespace previews written into one application
//! repository by ten concurrent `preview up`s, none lost, and removed by `preview down`. Vault is a real
//! OpenBao.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{DEV_ROOT_TOKEN, OpenBao, Project};

pub(crate) fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=someone",
            "-c",
            "user.email=someone@example.com",
        ])
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// An empty bare repository.
pub(crate) fn bare_repository(parent: &Path, name: &str) -> PathBuf {
    let path = parent.join(name);
    std::fs::create_dir_all(&path).unwrap();
    git(
        &path,
        &["init", "--quiet", "--bare", "--initial-branch", "main"],
    );
    path
}

/// A work tree of `main` of `remote`.
pub(crate) fn checkout(remote: &Path, into: &Path) -> PathBuf {
    git(
        into.parent().unwrap(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            remote.to_str().unwrap(),
            into.to_str().unwrap(),
        ],
    );
    into.to_path_buf()
}

pub(crate) fn gitops_section(repository: &Path, email: &str) -> String {
    format!(
        r#"
[gitops]
repository = "{}"
source_url = "https://git.wildside.example/wildside-infra.git"
cluster_path = "clusters/dev"
domain = "wildside.example"

[gitops.cert_manager]
acme_email = "{email}"

[gitops.external_dns]
dns_provider = "cloudflare"

[gitops.vault]
address = "https://vault.wildside.example:8200"
"#,
        repository.display()
    )
}

const MODULE: &str = r#"
[[modules]]
name = "greeting"
source = "example"
inputs = { message = "hi" }
"#;

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

#[test]
fn render_writes_the_platform_tree_and_a_second_render_changes_nothing() {
    let project = Project::new();
    let out = project.path().join("rendered");
    project.stack(
        "dev",
        &format!(
            "{MODULE}{}",
            gitops_section(Path::new("/nowhere"), "ops@wildside.example")
        ),
    );
    let render = || {
        project
            .run()
            .args(["--output", "json", "gitops", "render", "dev", "--out"])
            .args([&out])
            .output()
            .expect_code(0)
            .json()
    };
    let first = render();
    let changed: Vec<&str> = first["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|path| path.as_str().unwrap())
        .collect();
    for expected in [
        "clusters/dev/kustomization.yaml",
        "clusters/dev/platform.yaml",
        "platform/sources/helm-repositories.yaml",
        "platform/traefik/helmrelease.yaml",
        "platform/cert-manager/cluster-issuer.yaml",
        "platform/external-dns/helmrelease.yaml",
        "platform/vault/cluster-secret-store.yaml",
        "platform/databases/cnpg-operator.yaml",
        "platform/databases/postgres-cluster.yaml",
        "platform/redis/helmrelease.yaml",
    ] {
        assert!(changed.contains(&expected), "{expected} in {changed:?}");
    }
    let issuer: serde_json::Value =
        serde_norway::from_str(&read(&out, "platform/cert-manager/cluster-issuer.yaml")).unwrap();
    assert_eq!(issuer["kind"], "ClusterIssuer");
    assert_eq!(issuer["spec"]["acme"]["email"], "ops@wildside.example");
    assert!(issuer["spec"]["acme"]["solvers"][0]["dns01"]["cloudflare"].is_object());
    let store: serde_json::Value =
        serde_norway::from_str(&read(&out, "platform/vault/cluster-secret-store.yaml")).unwrap();
    assert_eq!(
        store["spec"]["provider"]["vault"]["server"],
        "https://vault.wildside.example:8200"
    );
    let traefik: serde_json::Value =
        serde_norway::from_str(&read(&out, "platform/traefik/helmrelease.yaml")).unwrap();
    assert_eq!(traefik["spec"]["chart"]["spec"]["version"], "37.1.2");
    let before = read(&out, "clusters/dev/platform.yaml");
    assert!(before.contains("path: ./platform/cert-manager"), "{before}");

    let second = render();
    assert_eq!(second["changed"], serde_json::json!([]), "{second}");
    assert_eq!(read(&out, "clusters/dev/platform.yaml"), before);

    // A stale file in an owned directory goes; a changed setting changes exactly its files.
    std::fs::write(out.join("platform/traefik/old.yaml"), "stale").unwrap();
    project.stack(
        "dev",
        &format!(
            "{MODULE}{}",
            gitops_section(Path::new("/nowhere"), "platform@wildside.example")
        ),
    );
    let third = render();
    assert_eq!(
        third["changed"],
        serde_json::json!([
            "platform/cert-manager/cluster-issuer.yaml",
            "platform/traefik/old.yaml"
        ])
    );
}

#[test]
fn push_commits_only_changes_and_replays_over_commits_made_by_others() {
    let project = Project::new();
    let repository = bare_repository(project.path(), "wildside-infra.git");
    project.stack(
        "dev",
        &format!(
            "{MODULE}{}",
            gitops_section(&repository, "ops@wildside.example")
        ),
    );
    let push = || {
        project
            .run()
            .args(["--output", "json", "gitops", "push", "dev"])
            .output()
            .expect_code(0)
            .json()
    };
    let first = push();
    let commit = first["commit"].as_str().expect("a commit").to_string();
    assert!(push()["commit"].is_null(), "a second push commits nothing");
    let count = git(&repository, &["rev-list", "--count", "main"]);
    assert_eq!(count, "1");
    let message = git(&repository, &["log", "-1", "--format=%s", "main"]);
    assert!(message.contains("stack dev"), "{message}");
    assert_eq!(git(&repository, &["rev-parse", "main"]), commit);

    // Someone else commits; a changed render lands on top of their commit, which is kept.
    let scratch = tempfile::tempdir().unwrap();
    let work = checkout(&repository, &scratch.path().join("work"));
    std::fs::write(work.join("README.md"), "the platform\n").unwrap();
    git(&work, &["add", "README.md"]);
    git(&work, &["commit", "--quiet", "-m", "readme"]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    project.stack(
        "dev",
        &format!(
            "{MODULE}{}",
            gitops_section(&repository, "platform@wildside.example")
        ),
    );
    let third = push();
    assert_eq!(
        third["changed"],
        serde_json::json!(["platform/cert-manager/cluster-issuer.yaml"])
    );
    assert_eq!(git(&repository, &["rev-list", "--count", "main"]), "3");
    let tree = git(&repository, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.contains("README.md"), "{tree}");
    let issuer = git(
        &repository,
        &["show", "main:platform/cert-manager/cluster-issuer.yaml"],
    );
    assert!(issuer.contains("platform@wildside.example"), "{issuer}");
}

pub(crate) fn namespace_preview_stack(vault: &str, apps: &Path, infra: &Path) -> String {
    format!(
        r#"
[vault]
address = "{vault}"

[preview]
kind = "namespace"
max_concurrent = 20
ttl = "24h"
{}
[gitops.apps]
repository = "{}"
source_url = "https://git.wildside.example/wildside-apps.git"
project = "wildside"
image = "ghcr.io/example/wildside-app"
databases = ["postgres", "redis"]
"#,
        gitops_section(infra, "ops@wildside.example"),
        apps.display()
    )
}

#[test]
fn ten_concurrent_namespace_previews_lose_no_commit_and_down_removes_one() {
    let bao = OpenBao::dev();
    let project = Project::new();
    let apps = bare_repository(project.path(), "wildside-apps.git");
    let infra = bare_repository(project.path(), "wildside-infra.git");
    project.stack(
        "preview",
        &namespace_preview_stack(&bao.address(), &apps, &infra),
    );
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", "2030-03-17T12:00:00Z")
    };
    let children: Vec<_> = (1..=10u64)
        .map(|pr| {
            run()
                .args([
                    "--output",
                    "json",
                    "preview",
                    "up",
                    "--yes",
                    "--pr",
                    &pr.to_string(),
                ])
                .args(["--sha", &format!("{pr:040x}")])
                .spawn()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let scratch = tempfile::tempdir().unwrap();
    let work = checkout(&apps, &scratch.path().join("apps"));
    let log = git(&work, &["log", "--format=%s"]);
    for pr in 1..=10 {
        assert!(
            log.lines()
                .any(|line| line.contains(&format!("preview pr-{pr} "))),
            "pr-{pr} in\n{log}"
        );
        assert!(
            work.join(format!("overlays/ephemeral/pr-{pr}/kustomization.yaml"))
                .is_file()
        );
    }
    assert_eq!(log.lines().count(), 10, "{log}");
    let index: serde_json::Value =
        serde_norway::from_str(&read(&work, "overlays/ephemeral/kustomization.yaml")).unwrap();
    let expected: Vec<String> = (1..=10).map(|pr| format!("pr-{pr}")).collect();
    assert_eq!(index["resources"], serde_json::json!(expected));
    assert!(work.join("base/helmrelease.yaml").is_file());

    // What one overlay holds.
    let namespace: serde_json::Value =
        serde_norway::from_str(&read(&work, "overlays/ephemeral/pr-7/namespace.yaml")).unwrap();
    assert_eq!(namespace["metadata"]["name"], "wildside-pr-7");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let quota_text = read(&work, "overlays/ephemeral/pr-7/quota.yaml");
    let quota: serde_json::Value =
        serde_norway::from_str(quota_text.split("---\n").next().unwrap()).unwrap();
    // 300m and 512Mi, plus PostgreSQL's 250m and 512Mi and Redis's 100m and 256Mi.
    assert_eq!(quota["spec"]["hard"]["requests.cpu"], "650m");
    assert_eq!(quota["spec"]["hard"]["requests.memory"], "1280Mi");
    let kustomization: serde_json::Value =
        serde_norway::from_str(&read(&work, "overlays/ephemeral/pr-7/kustomization.yaml")).unwrap();
    assert_eq!(kustomization["labels"][0]["pairs"]["pr"], "7");
    assert_eq!(
        kustomization["labels"][0]["pairs"]["expires"],
        "20300318T120000Z"
    );
    let patch = read(&work, "overlays/ephemeral/pr-7/patch-release.yaml");
    assert!(patch.contains("wildside-pr-7.wildside.example"), "{patch}");
    assert!(patch.contains(&format!("{:040x}", 7)), "{patch}");
    let policies = read(&work, "overlays/ephemeral/pr-7/network-policy.yaml");
    assert!(
        policies.contains("kubernetes.io/metadata.name: traefik"),
        "{policies}"
    );
    let postgres = read(&work, "overlays/ephemeral/pr-7/postgres.yaml");
    assert!(postgres.contains("kind: Cluster"), "{postgres}");
    assert!(postgres.contains("kind: ExternalSecret"), "{postgres}");
    // The password is in Vault, never in the repository.
    let secret = bao
        .kv_json(
            DEV_ROOT_TOKEN,
            "get",
            "wildside/preview/pr-7/services/postgres",
        )
        .expect("the credentials are in Vault");
    let password = secret["data"]["data"]["password"].as_str().unwrap();
    assert_eq!(password.len(), 32);
    let everything = git(&work, &["log", "-p", "--all"]);
    assert!(!everything.contains(password));

    // Bringing a preview up again with the same commit changes nothing.
    run()
        .args([
            "preview",
            "up",
            "--yes",
            "--pr",
            "7",
            "--sha",
            &format!("{:040x}", 7),
        ])
        .output()
        .expect_code(0);
    assert_eq!(git(&apps, &["rev-list", "--count", "main"]), "10");

    run()
        .args(["preview", "down", "--yes", "--pr", "3"])
        .output()
        .expect_code(0);
    git(&work, &["pull", "--quiet", "origin", "main"]);
    assert!(!work.join("overlays/ephemeral/pr-3").exists());
    let index: serde_json::Value =
        serde_norway::from_str(&read(&work, "overlays/ephemeral/kustomization.yaml")).unwrap();
    assert!(
        !index["resources"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("pr-3"))
    );
    assert!(
        bao.kv_json(
            DEV_ROOT_TOKEN,
            "get",
            "wildside/preview/pr-3/services/postgres"
        )
        .is_none()
    );
    let list = run()
        .args(["--output", "json", "preview", "list"])
        .output()
        .expect_code(0)
        .json();
    let prs: Vec<u64> = list["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["pr"].as_u64().unwrap())
        .collect();
    assert_eq!(prs, [1, 2, 4, 5, 6, 7, 8, 9, 10]);
    assert!(
        list["previews"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["workspace"] == true && row["status"] == "ready"),
        "{list}"
    );
}

/// A platform preview whose stack has `[gitops.apps]` carries the application: once its workspace is up,
/// `preview up` commits a directory of its own to the platform repository, with the platform's Kustomizations
/// and the pull request's overlay; `gitops bootstrap -w pr-<n>` would point that cluster's Flux there; and
/// `preview down` removes the directory and the pull request's credentials.
#[test]
fn a_cluster_preview_carries_the_application_in_its_platform_repository_directory() {
    let bao = OpenBao::dev();
    let project = Project::new();
    let apps = bare_repository(project.path(), "wildside-apps.git");
    let infra = bare_repository(project.path(), "wildside-infra.git");
    let stack = crate::preview::preview_stack(&bao.address(), 5)
        + &gitops_section(&infra, "ops@wildside.example")
        + &format!(
            "[gitops.apps]\nrepository = \"{}\"\nsource_url = \"https://git.wildside.example/wildside-apps.git\"\nproject = \"wildside\"\nimage = \"ghcr.io/example/wildside-app\"\ndatabases = [\"postgres\"]\n",
            apps.display()
        );
    project.stack("preview", &stack);
    let run = || {
        project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", "2030-03-17T12:00:00Z")
    };
    run()
        .args(["preview", "up", "--yes", "--pr", "3", "--sha", "cafe0003"])
        .output()
        .expect_code(0);
    let work = checkout(&infra, &project.path().join("infra-work"));
    let app: serde_json::Value =
        serde_norway::from_str(&read(&work, "clusters/dev-pr-3/app.yaml")).unwrap();
    assert_eq!(app["spec"]["path"], "./clusters/dev-pr-3/app", "{app}");
    let overlay: serde_json::Value =
        serde_norway::from_str(&read(&work, "clusters/dev-pr-3/app/kustomization.yaml")).unwrap();
    assert!(
        overlay["resources"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("base")),
        "{overlay}"
    );
    let patch = read(&work, "clusters/dev-pr-3/app/patch-release.yaml");
    assert!(
        patch.contains("cafe0003"),
        "the image tag is the commit: {patch}"
    );
    assert!(
        work.join("clusters/dev-pr-3/app/base/helmrelease.yaml")
            .is_file()
    );
    let credentials = bao.kv_json(
        DEV_ROOT_TOKEN,
        "get",
        "wildside/preview/pr-3/services/postgres",
    );
    assert!(
        credentials.is_some(),
        "the database credentials are in Vault"
    );
    assert!(
        !git(&apps, &["log", "--oneline", "--all"]).contains("pr-3"),
        "nothing goes to the application repository: the cluster has the overlay"
    );

    run()
        .args(["preview", "down", "--yes", "--pr", "3"])
        .output()
        .expect_code(0);
    git(&work, &["pull", "--quiet", "origin", "main"]);
    assert!(!work.join("clusters/dev-pr-3").exists());
    assert!(
        git(&work, &["log", "-1", "--format=%s"]).contains("remove preview cluster pr-3"),
        "{}",
        git(&work, &["log", "--oneline"])
    );
    let credentials = bao.kv_json(
        DEV_ROOT_TOKEN,
        "get",
        "wildside/preview/pr-3/services/postgres",
    );
    assert!(credentials.is_none(), "the credentials left Vault");
}
