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
/// previews the preview role's; only the apply and manual workflows get the apply role's.
#[test]
fn only_applying_workflows_get_the_apply_role() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    for (file, role) in [
        ("plan.yml", "PLAN"),
        ("preview.yml", "PREVIEW"),
        ("drift.yml", "PLAN"),
        ("apply.yml", "APPLY"),
        ("manual.yml", "APPLY"),
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
