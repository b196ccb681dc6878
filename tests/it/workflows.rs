//! The GitHub Actions workflows pass actionlint (built by `make tools`), which does catch broken ones.

use std::path::Path;
use std::process::Command;

fn actionlint(files: &[&Path]) -> std::process::Output {
    Command::new(crate::support::tool("WILDSIDE_ACTIONLINT_BIN"))
        .arg("-no-color")
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn every_workflow_passes_actionlint() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(
        files.len() >= 4,
        "expected the plan, apply, drift and manual workflows"
    );
    let refs: Vec<&Path> = files.iter().map(|path| path.as_path()).collect();
    let output = actionlint(&refs);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn actionlint_rejects_a_broken_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n").unwrap();
    let output = actionlint(&[&broken]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("nope"));
}

/// Workflows that plan pull-request code (and drift, which only plans) get the plan role's credentials,
/// previews the preview role's; only the apply, manual and kubeconfig (which writes to Vault) workflows get the
/// apply role's.
#[test]
fn only_applying_workflows_get_the_apply_role() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    for (file, role) in [
        ("plan.yml", "PLAN"),
        ("preview.yml", "PREVIEW"),
        ("drift.yml", "PLAN"),
        ("apply.yml", "APPLY"),
        ("manual.yml", "APPLY"),
        ("kubeconfig.yml", "APPLY"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let others = ["PLAN", "PREVIEW", "APPLY"];
        assert!(
            text.contains(&format!("secrets.VAULT_{role}_ROLE_ID"))
                && text.contains(&format!("secrets.VAULT_{role}_SECRET_ID")),
            "{file} does not use the {role} role"
        );
        assert!(
            !others
                .iter()
                .filter(|other| **other != role)
                .any(|other| text.contains(&format!("VAULT_{other}_")))
                && !text.contains("secrets.VAULT_ROLE_ID")
                && !text.contains("secrets.VAULT_SECRET_ID"),
            "{file} gets credentials beyond the {role} role"
        );
    }
}

/// The `run:` scripts of a workflow document (any mapping key `run` with a string value, at any depth) that
/// hold a `${{ }}` expression: GitHub pastes its value into the script before the shell reads it.
fn expressions_in_run_scripts(document: &serde_norway::Value) -> Vec<String> {
    match document {
        serde_norway::Value::Mapping(mapping) => mapping
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value) {
                (Some("run"), serde_norway::Value::String(script)) if script.contains("${{") => {
                    vec![script.clone()]
                }
                _ => expressions_in_run_scripts(value),
            })
            .collect(),
        serde_norway::Value::Sequence(items) => {
            items.iter().flat_map(expressions_in_run_scripts).collect()
        }
        serde_norway::Value::Tagged(tagged) => expressions_in_run_scripts(&tagged.value),
        _ => Vec::new(),
    }
}

/// A matrix value or an event field pasted into a script is shell code the pull request chose: every value
/// reaches `run:` scripts through `env:`.
#[test]
fn no_workflow_pastes_an_expression_into_a_run_script() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let document: serde_norway::Value = serde_norway::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let found = expressions_in_run_scripts(&document);
        assert!(
            found.is_empty(),
            "{}: `${{{{ }}}}` inside `run:` (pass it through `env:`):\n{}",
            path.display(),
            found.join("\n---\n")
        );
        checked += 1;
    }
    assert!(checked >= 5, "expected the five shipped workflows");
    let pasted: serde_norway::Value = serde_norway::from_str(
        "jobs:\n  plan:\n    steps:\n      - env:\n          STACK: ${{ matrix.stack }}\n        run: echo \"$STACK\"\n      - run: |\n          plan \"${{ matrix.stack }}\"\n",
    )
    .unwrap();
    assert_eq!(
        expressions_in_run_scripts(&pasted),
        vec!["plan \"${{ matrix.stack }}\"\n".to_string()],
        "the scan misses a pasted expression"
    );
}

/// Whether any step of a workflow runs `wildside-tofu` (the release workflow only builds it).
fn runs_the_tool(workflow: &serde_norway::Value) -> bool {
    let Some(jobs) = workflow["jobs"].as_mapping() else {
        return false;
    };
    jobs.values()
        .filter_map(|job| job["steps"].as_sequence())
        .flatten()
        .filter_map(|step| step["run"].as_str())
        .any(|script| script.contains("wildside-tofu "))
}

/// Stacks without `[vault]` encrypt their state with `WILDSIDE_STATE_PASSPHRASE`: every workflow that runs
/// stacks sets it from a secret, so `stacks/example.toml` runs there as shipped.
#[test]
fn every_workflow_sets_the_state_passphrase_from_a_secret() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let document: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if !runs_the_tool(&document) {
            continue;
        }
        assert_eq!(
            document["env"]["WILDSIDE_STATE_PASSPHRASE"].as_str(),
            Some("${{ secrets.WILDSIDE_STATE_PASSPHRASE }}"),
            "{}: no workflow-wide `WILDSIDE_STATE_PASSPHRASE` from the secret",
            path.display()
        );
    }
}
