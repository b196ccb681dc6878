//! Provider lock files: committed beside the stack, created by a developer's first init, read-only in CI, and a
//! saved plan refused once the lock file changed.

use crate::support::{Project, example_stack};

const LOCAL: &str = "[backend]\ntype = \"local\"";
const TIME: &str = "provider \"registry.opentofu.org/hashicorp/time\"";

fn lock_file(project: &Project, stack: &str) -> std::path::PathBuf {
    project
        .path()
        .join("stacks")
        .join(format!("{stack}.terraform.lock.hcl"))
}

#[test]
fn the_first_init_writes_the_lock_file_beside_the_stack_and_ci_uses_it() {
    let project = Project::new();
    project.stack("locked", &example_stack(LOCAL, "message = \"locked\""));
    project
        .run()
        .args(["plan", "locked"])
        .output()
        .expect_code(0);
    let text = std::fs::read_to_string(lock_file(&project, "locked")).unwrap();
    assert!(text.contains(TIME) && text.contains("\"h1:"), "{text}");
    // A fresh checkout in CI: no build directory, the committed lock file used as it is.
    std::fs::remove_dir_all(project.path().join(".wildside")).unwrap();
    project
        .run()
        .args(["--lockfile", "readonly", "plan", "locked"])
        .output()
        .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(lock_file(&project, "locked")).unwrap(),
        text
    );
}

#[test]
fn readonly_refuses_a_missing_incomplete_or_mismatched_lock_file() {
    let project = Project::new();
    project.stack("ci", &example_stack(LOCAL, "message = \"ci\""));
    let readonly_plan = || {
        project
            .run()
            .args(["--lockfile", "readonly", "--output", "json", "plan", "ci"])
            .output()
            .expect_code(1)
    };
    let missing = readonly_plan();
    assert_eq!(
        missing.json()["kind"],
        "lock_file_missing",
        "{}",
        missing.stdout()
    );
    assert!(
        missing.stderr().contains("stacks/ci.terraform.lock.hcl")
            && missing.stderr().contains("wildside-tofu providers lock ci"),
        "{}",
        missing.stderr()
    );
    assert!(!lock_file(&project, "ci").exists());

    std::fs::write(lock_file(&project, "ci"), "# no providers yet\n").unwrap();
    let incomplete = readonly_plan();
    assert_eq!(
        incomplete.json()["kind"],
        "lock_file_mismatch",
        "{}",
        incomplete.stdout()
    );
    assert!(
        incomplete
            .stderr()
            .contains("does not record every provider")
            && incomplete
                .stderr()
                .contains("wildside-tofu providers lock ci"),
        "{}",
        incomplete.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(lock_file(&project, "ci")).unwrap(),
        "# no providers yet\n",
        "read-only mode changed the lock file"
    );

    let other_build = format!(
        "{TIME} {{\n  version     = \"0.14.2\"\n  constraints = \"~> 0.14\"\n  hashes = [\n    \"h1:{}=\",\n  ]\n}}\n",
        "A".repeat(43)
    );
    std::fs::write(lock_file(&project, "ci"), &other_build).unwrap();
    let mismatch = readonly_plan();
    assert_eq!(
        mismatch.json()["kind"],
        "lock_file_mismatch",
        "{}",
        mismatch.stdout()
    );
    assert!(
        mismatch.stderr().contains("matches none of the hashes"),
        "{}",
        mismatch.stderr()
    );
    // Locally too: a package that does not match the committed hashes is never installed.
    let local = project.run().args(["plan", "ci"]).output().expect_code(1);
    assert!(
        local.stderr().contains("matches none of the hashes"),
        "{}",
        local.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(lock_file(&project, "ci")).unwrap(),
        other_build
    );
}

#[test]
fn a_saved_plan_is_refused_after_the_lock_file_changed() {
    let project = Project::new();
    project.stack("reviewed", &example_stack(LOCAL, "message = \"reviewed\""));
    let plan_file = project.path().join("reviewed.tfplan");
    project
        .run()
        .args(["plan", "reviewed", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(0);
    // Between review and apply, another platform's hash joins the lock file.
    let path = lock_file(&project, "reviewed");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen(
        "hashes = [\n",
        &format!("hashes = [\n    \"h1:{}=\",\n", "B".repeat(43)),
        1,
    );
    assert_ne!(changed, text);
    std::fs::write(&path, &changed).unwrap();
    let apply = project
        .run()
        .args([
            "--lockfile",
            "readonly",
            "--output",
            "json",
            "apply",
            "reviewed",
            "--plan",
        ])
        .args([&plan_file])
        .output()
        .expect_code(1);
    assert_eq!(
        apply.json()["kind"],
        "plan_lock_file_differs",
        "{}",
        apply.stdout()
    );
    assert!(
        apply.stderr().contains("refusing to apply reviewed")
            && apply
                .stderr()
                .contains("stacks/reviewed.terraform.lock.hcl")
            && apply.stderr().contains("plan again"),
        "{}",
        apply.stderr()
    );
    let state = project
        .run()
        .args(["--output", "json", "output", "reviewed"])
        .output()
        .expect_code(0);
    assert!(
        !state.stdout().contains("\"message\""),
        "something was applied: {}",
        state.stdout()
    );
    // With the lock file the plan was made with, the same plan applies.
    std::fs::write(&path, &text).unwrap();
    project
        .run()
        .args(["apply", "reviewed", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(0);
}

#[test]
fn providers_lock_records_the_platforms_the_mirror_holds_and_names_the_others() {
    let project = Project::new();
    project.stack(
        "platforms",
        &example_stack(LOCAL, "message = \"platforms\""),
    );
    let locked = project
        .run()
        .args(["--output", "json", "providers", "lock", "platforms"])
        .output()
        .expect_code(0);
    let report = locked.json();
    assert_eq!(report["command"], "providers_lock", "{report}");
    assert_eq!(
        report["providers"][0]["address"],
        "registry.opentofu.org/hashicorp/time"
    );
    assert_eq!(report["platforms"], serde_json::json!(["linux_amd64"]));
    let missing: Vec<&str> = report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|missing| missing["platform"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["darwin_arm64", "darwin_amd64"]);
    let text = std::fs::read_to_string(lock_file(&project, "platforms")).unwrap();
    assert!(text.contains(TIME) && text.contains("\"h1:"), "{text}");

    let none = project
        .run()
        .args([
            "--output",
            "json",
            "providers",
            "lock",
            "platforms",
            "--platform",
            "windows_386",
        ])
        .output()
        .expect_code(1);
    assert_eq!(
        none.json()["kind"],
        "no_lockable_platform",
        "{}",
        none.stdout()
    );
    assert!(none.stderr().contains("windows_386"), "{}", none.stderr());
    assert_eq!(
        std::fs::read_to_string(lock_file(&project, "platforms")).unwrap(),
        text,
        "a failed lock changed the lock file"
    );
}
