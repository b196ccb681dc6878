//! The two composite actions (`actions/infra-k8s`, `actions/app-preview`): they pass actionlint, and their
//! steps, run as a runner runs them (bash, `-eo pipefail`, the step's `env` with the inputs filled in, a
//! `$GITHUB_OUTPUT` file per step), do their work against local Git repositories, a real OpenBao and the
//! GitHub double.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::gitops::{bare_repository, git, gitops_section};
use crate::support::{DEV_ROOT_TOKEN, GitHubDouble, OpenBao, Project, TEST_STATE_PASSPHRASE};

fn action(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("actions")
        .join(name)
        .join("action.yml")
}

/// Fills `${{ inputs.x }}` and `${{ steps.id.outputs.x }}`; any other expression fails the test.
fn expand(
    text: &str,
    inputs: &BTreeMap<&str, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        result.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        let expression = rest[start + 3..end].trim();
        let value = if let Some(input) = expression.strip_prefix("inputs.") {
            inputs
                .get(input)
                .cloned()
                .unwrap_or_else(|| panic!("input `{input}` not given"))
        } else if let Some(output) = expression.strip_prefix("steps.") {
            outputs.get(output).cloned().unwrap_or_default()
        } else {
            panic!("the test runner does not know `{expression}`")
        };
        result.push_str(&value);
        rest = &rest[end + 2..];
    }
    result.push_str(rest);
    result
}

/// Evaluates a step's `if`: `inputs.x == 'v'` or `inputs.x != 'v'`.
fn condition(text: &str, inputs: &BTreeMap<&str, String>) -> bool {
    let inner = text
        .trim()
        .trim_start_matches("${{")
        .trim_end_matches("}}")
        .trim();
    let (left, right, equal) = match inner.split_once("!=") {
        Some((left, right)) => (left, right, false),
        None => {
            let (left, right) = inner.split_once("==").expect("a comparison");
            (left, right, true)
        }
    };
    let name = left.trim().strip_prefix("inputs.").expect("an input");
    let value = right.trim().trim_matches('\'');
    (inputs[name] == value) == equal
}

/// Runs the action's steps in `directory`; the outputs of every step, by `<id>.outputs.<name>`. A failing
/// step fails the test.
fn run_action(
    file: &Path,
    inputs: &BTreeMap<&str, String>,
    environment: &[(&str, String)],
    directory: &Path,
) -> BTreeMap<String, String> {
    let document: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut defaults = inputs.clone();
    for (name, spec) in document["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if let Some(default) = spec.get("default").and_then(|value| value.as_str()) {
            defaults
                .entry(Box::leak(name.to_string().into_boxed_str()))
                .or_insert_with(|| default.to_string());
        }
        assert!(
            defaults.contains_key(name),
            "required input `{name}` not given"
        );
    }
    let mut outputs = BTreeMap::new();
    for step in document["runs"]["steps"].as_sequence().unwrap() {
        if let Some(test) = step.get("if").and_then(|value| value.as_str())
            && !condition(test, &defaults)
        {
            continue;
        }
        assert_eq!(step["shell"].as_str(), Some("bash"));
        let script = step["run"].as_str().unwrap().to_string();
        let output_file = directory.join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(directory)
            .env("GITHUB_OUTPUT", &output_file)
            .env("WILDSIDE_STATE_PASSPHRASE", TEST_STATE_PASSPHRASE)
            .env_remove("RUST_LOG");
        for (key, value) in environment {
            command.env(key, value);
        }
        if let Some(env) = step.get("env").and_then(|env| env.as_mapping()) {
            for (key, value) in env {
                command.env(
                    key.as_str().unwrap(),
                    expand(value.as_str().unwrap(), &defaults, &outputs),
                );
            }
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "step `{}` failed\n--- stdout\n{}\n--- stderr\n{}",
            step["name"].as_str().unwrap_or("?"),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if let Some(id) = step.get("id").and_then(|id| id.as_str()) {
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                if let Some((key, value)) = line.split_once('=') {
                    outputs.insert(format!("{id}.outputs.{key}"), value.to_string());
                }
            }
        }
    }
    outputs
}

#[test]
fn both_actions_pass_actionlint() {
    let output = Command::new(crate::support::tool("WILDSIDE_ACTIONLINT_BIN"))
        .arg("-no-color")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/preview.yml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // actionlint checks a workflow's use of a local action against the action's inputs: a workflow that calls
    // both with every input they require passes, one that misses a required input does not.
    let directory = tempfile::tempdir().unwrap();
    // actionlint finds the local actions from the repository's root.
    git(directory.path(), &["init", "--quiet"]);
    let workflows = directory.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    for name in ["infra-k8s", "app-preview"] {
        let target = directory.path().join("actions").join(name);
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(action(name), target.join("action.yml")).unwrap();
    }
    let workflow = |app_inputs: &str| {
        format!(
            "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./actions/infra-k8s\n        with:\n          stack: dev\n      - uses: ./actions/app-preview\n        with:\n{app_inputs}"
        )
    };
    let all = "          stack: app\n          pr: ${{ github.event.number }}\n          action: ${{ github.event.action }}\n          repository: ${{ github.repository }}\n          github-token: ${{ github.token }}\n";
    let lint = |text: String| {
        std::fs::write(workflows.join("w.yml"), text).unwrap();
        Command::new(crate::support::tool("WILDSIDE_ACTIONLINT_BIN"))
            .arg("-no-color")
            .current_dir(directory.path())
            .output()
            .unwrap()
    };
    let good = lint(workflow(all));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    let missing = lint(workflow(
        &all.replace("          action: ${{ github.event.action }}\n", ""),
    ));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stdout).contains("action"));
}

#[test]
fn the_infra_action_brings_a_stack_up_and_commits_its_tree_once() {
    let project = Project::new();
    let repository = bare_repository(project.path(), "wildside-infra.git");
    project.stack(
        "dev",
        &format!(
            "[backend]\ntype = \"local\"\n\n[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ message = \"hello\" }}\n{}",
            gitops_section(&repository, "ops@wildside.example")
        ),
    );
    let inputs = BTreeMap::from([
        ("stack", "dev".to_string()),
        ("project", project.path().display().to_string()),
        ("binary", env!("CARGO_BIN_EXE_wildside-tofu").to_string()),
    ]);
    let work = tempfile::tempdir().unwrap();
    let first = run_action(&action("infra-k8s"), &inputs, &[], work.path());
    let commit = &first["push.outputs.commit"];
    assert_eq!(*commit, git(&repository, &["rev-parse", "main"]));
    assert!(
        project
            .path()
            .join(".wildside/gitops/dev/platform/vault")
            .is_dir()
    );
    let again = run_action(&action("infra-k8s"), &inputs, &[], work.path());
    assert_eq!(again["push.outputs.commit"], "");
    assert_eq!(git(&repository, &["rev-list", "--count", "main"]), "1");
}

#[test]
fn the_preview_action_writes_the_overlay_comments_the_address_and_tears_down_on_close() {
    let bao = OpenBao::dev();
    let github = GitHubDouble::start();
    let project = Project::new();
    let apps = bare_repository(project.path(), "wildside-apps.git");
    let infra = bare_repository(project.path(), "wildside-infra.git");
    project.stack(
        "apps",
        &format!(
            "[vault]\naddress = \"{}\"\n\n[preview]\nkind = \"namespace\"\n{}\n[gitops.apps]\nrepository = \"{}\"\nsource_url = \"https://git.wildside.example/wildside-apps.git\"\nproject = \"wildside\"\nimage = \"ghcr.io/example/wildside-app\"\ndatabases = [\"postgres\"]\n",
            bao.address(),
            gitops_section(&infra, "ops@wildside.example"),
            apps.display()
        ),
    );
    let mut inputs = BTreeMap::from([
        ("stack", "apps".to_string()),
        ("pr", "7".to_string()),
        (
            "sha",
            "0123456789abcdef0123456789abcdef01234567".to_string(),
        ),
        ("action", "opened".to_string()),
        ("repository", "o/r".to_string()),
        ("github-token", "token-for-the-double".to_string()),
        ("project", project.path().display().to_string()),
        ("binary", env!("CARGO_BIN_EXE_wildside-tofu").to_string()),
    ]);
    let environment = [
        ("VAULT_TOKEN", DEV_ROOT_TOKEN.to_string()),
        ("GITHUB_API_URL", github.api_url()),
    ];
    let work = tempfile::tempdir().unwrap();
    let opened = run_action(&action("app-preview"), &inputs, &environment, work.path());
    assert_eq!(
        opened["up.outputs.url"],
        "https://wildside-pr-7.wildside.example"
    );
    let tree = git(&apps, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        tree.contains("overlays/ephemeral/pr-7/kustomization.yaml"),
        "{tree}"
    );
    // The GitHub double serves pull request 7.
    let comments = github.comments.lock().unwrap().clone();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .1
            .contains("https://wildside-pr-7.wildside.example"),
        "{comments:?}"
    );

    inputs.insert("action", "closed".to_string());
    run_action(&action("app-preview"), &inputs, &environment, work.path());
    let tree = git(&apps, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains("overlays/ephemeral/pr-7/"), "{tree}");
    assert_eq!(github.comments.lock().unwrap().len(), 1);
}
