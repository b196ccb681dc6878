//! A project of a team's own: `init` scaffolds it, and the platform modules come with the binary, so a
//! project without `modules/` renders, and one whose own module cannot be read is never called healthy.

use crate::support::Run;

fn init(dir: &std::path::Path) -> String {
    Run::new()
        .args(["init"])
        .args([dir])
        .output()
        .expect_code(0)
        .stdout()
}

#[test]
fn init_scaffolds_a_project_that_renders_with_the_shipped_modules() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("infra");
    let said = init(&dir);
    for file in [
        "stacks/dev.toml",
        "stacks/stack.schema.json",
        ".taplo.toml",
        ".gitignore",
        ".github/workflows/plan.yml",
        ".github/workflows/apply.yml",
        ".github/workflows/drift.yml",
        ".github/workflows/manual.yml",
        ".github/workflows/kubeconfig.yml",
        "actions/setup/action.yml",
        "actions/setup/install.sh",
    ] {
        assert!(dir.join(file).is_file(), "{file} in {said}");
    }
    assert!(!dir.join("modules").exists());
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("stacks/stack.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema["title"], "wildside-tofu stack file");

    Run::new()
        .args(["--project"])
        .args([&dir])
        .args(["render", "dev"])
        .output()
        .expect_code(0);
    let main = std::fs::read_to_string(dir.join(".wildside/build/dev/main.tf")).unwrap();
    assert!(main.contains("\"../../modules/vpc\""), "{main}");
    assert!(main.contains("\"../../modules/doks\""), "{main}");
    for file in ["vpc/main.tf", "doks/variables.tf", "doks/versions.tf"] {
        assert!(
            dir.join(".wildside/modules").join(file).is_file(),
            "{file} materialised"
        );
    }

    // Run again after an edit: the edit stays, nothing is overwritten.
    std::fs::write(
        dir.join("stacks/dev.toml"),
        "# mine\n[backend]\ntype = \"local\"\n",
    )
    .unwrap();
    let again = init(&dir);
    assert!(!again.contains("wrote"), "{again}");
    assert!(again.contains("kept"), "{again}");
    assert_eq!(
        std::fs::read_to_string(dir.join("stacks/dev.toml")).unwrap(),
        "# mine\n[backend]\ntype = \"local\"\n"
    );
}

#[test]
fn an_unreadable_project_module_fails_render_and_doctor() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    init(dir);
    // The project's own `modules/doks/` takes the place of the shipped one, but holds nothing tofu can load.
    std::fs::create_dir_all(dir.join("modules/doks")).unwrap();
    let render = Run::new()
        .args(["--project"])
        .args([dir])
        .args(["render", "dev"])
        .output();
    assert_ne!(render.code(), 0, "{}", render.stdout());
    assert!(
        render.stderr().contains("module `doks`") && render.stderr().contains("no `.tf` files"),
        "{}",
        render.stderr()
    );
    let doctor = Run::new()
        .args(["--project"])
        .args([dir])
        .args(["doctor", "dev", "--output", "json"])
        .output();
    assert_ne!(doctor.code(), 0, "{}", doctor.stdout());
    let report = doctor.json();
    assert_eq!(report["healthy"], false, "{report}");
    let stack = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "stack dev")
        .unwrap();
    assert_eq!(stack["ok"], false, "{stack}");
    assert!(
        stack["detail"].as_str().unwrap().contains("module `doks`"),
        "{stack}"
    );
}
