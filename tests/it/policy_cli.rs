//! Policies on plans made by real tofu from the example module: `plan` (single and `--all`) reports them and
//! exits 3 on a denial, `apply --plan` refuses a denied plan, stack exceptions hold until they expire, and
//! `policy test` runs `test_` rules.

use crate::support::{Project, example_stack};

/// A project policy in conftest's form, with the resource address so exceptions can name it.
const NO_DATA: &str = r#"package main

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	"create" in rc.change.actions
	msg := sprintf("%s: no new terraform_data", [rc.address])
}
"#;

fn project(stack_extra: &str) -> Project {
    let project = Project::new();
    project.stack(
        "snap",
        &format!(
            "{}\n{stack_extra}",
            example_stack("[backend]\ntype = \"local\"", "message = \"policy\"")
        ),
    );
    std::fs::create_dir_all(project.path().join("policies")).unwrap();
    std::fs::write(project.path().join("policies/no_data.rego"), NO_DATA).unwrap();
    project
}

#[test]
fn a_denied_plan_exits_3_and_cannot_be_applied() {
    let project = project("");
    let plan_file = project.path().join("snap.tfplan");
    let done = project
        .run()
        .args(["plan", "snap", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(3);
    let stdout = done.stdout();
    assert!(
        stdout.starts_with(
            "DENIED by main: module.greeting.terraform_data.copy[0]: no new terraform_data"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("policy: 9 files"), "{stdout}");
    assert!(
        stdout.contains("policies/no_data.rego [main]: deny (line 3): 2 findings, 2 resources"),
        "{stdout}"
    );

    let json = project
        .run()
        .args(["--output", "json", "plan", "snap"])
        .output()
        .expect_code(3)
        .json();
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["policy"]["denials"].as_array().unwrap().len(), 2);
    assert_eq!(json["policy"]["files"].as_array().unwrap().len(), 9);

    let refused = project
        .run()
        .args(["apply", "snap", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(3);
    assert!(
        refused
            .stderr()
            .contains("refusing to apply snap: the plan breaks policy"),
        "{}",
        refused.stderr()
    );
}

const EXCEPTIONS: &str = r#"
[[policy.exceptions]]
rule = "main"
address = "module.greeting.terraform_data.copy[0]"
reason = "the demo needs it"
expires = "2030-01-01"

[[policy.exceptions]]
rule = "main"
address = "module.greeting.terraform_data.message"
reason = "the demo needs it"
expires = "2030-01-01"
"#;

#[test]
fn exceptions_hold_until_they_expire() {
    let project = project(EXCEPTIONS);
    let json = project
        .run()
        .args(["--output", "json", "plan", "snap"])
        .env("WILDSIDE_NOW", "2030-01-01T23:00:00Z")
        .output()
        .expect_code(0)
        .json();
    assert_eq!(json["policy"]["excepted"].as_array().unwrap().len(), 2);
    assert_eq!(json["policy"]["excepted"][0]["reason"], "the demo needs it");

    let expired = project
        .run()
        .args(["plan", "snap"])
        .env("WILDSIDE_NOW", "2030-01-02T00:00:00Z")
        .output()
        .expect_code(3);
    assert!(
        expired
            .stdout()
            .contains("the exception for rule `main` on `module.greeting.terraform_data.message` expired on 2030-01-01"),
        "{}",
        expired.stdout()
    );
}

#[test]
fn the_pr_comment_lists_denials_first() {
    let project = project("");
    let reports = project.path().join("reports");
    project
        .run()
        .args(["plan", "--all", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(3);
    let summary = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    let denials = summary.find("Policy denials").expect("a denials section");
    let table = summary.find("| Stack |").unwrap();
    assert!(denials < table, "{summary}");
    assert!(
        summary.contains("| `snap` | `default` | 3 | 0 | 0 | 0 | **denied** |"),
        "{summary}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("snap.json")).unwrap()).unwrap();
    assert_eq!(report["policy"]["denials"].as_array().unwrap().len(), 2);
}

#[test]
fn a_stack_can_switch_a_builtin_rule_off_and_misspelt_rules_get_a_hint() {
    let project = Project::new();
    project.stack(
        "snap",
        &format!(
            "{}\n[policy]\ndisable = [\"versions_pined\"]\n",
            example_stack("[backend]\ntype = \"local\"", "message = \"policy\"")
        ),
    );
    let done = project.run().args(["plan", "snap"]).output().expect_code(1);
    assert!(
        done.stderr().contains("did you mean `versions_pinned`?"),
        "{}",
        done.stderr()
    );
    project.stack(
        "snap",
        &format!(
            "{}\n[policy]\ndisable = [\"versions_pinned\"]\n",
            example_stack("[backend]\ntype = \"local\"", "message = \"policy\"")
        ),
    );
    let json = project
        .run()
        .args(["--output", "json", "plan", "snap"])
        .output()
        .expect_code(0)
        .json();
    let files: Vec<&str> = json["policy"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["file"].as_str().unwrap())
        .collect();
    assert!(!files.contains(&"builtin/versions_pinned.rego"));
    assert_eq!(files.len(), 7);
}

#[test]
fn policy_test_runs_test_rules() {
    let project = project("");
    std::fs::write(
        project.path().join("policies/no_data_test.rego"),
        "package main\n\ntest_new_data_is_denied if {\n  count(deny) == 1 with input as {\"resource_changes\": [{\"address\": \"x\", \"type\": \"terraform_data\", \"change\": {\"actions\": [\"create\"]}}]}\n}\n",
    )
    .unwrap();
    let done = project
        .run()
        .args(["policy", "test"])
        .output()
        .expect_code(0);
    assert!(
        done.stdout()
            .contains("PASS  policies/no_data_test.rego:3 main.test_new_data_is_denied"),
        "{}",
        done.stdout()
    );
    assert!(
        done.stdout().contains("1 passed, 0 failed"),
        "{}",
        done.stdout()
    );
}

/// A stack calling the policy probe fixture as `vault_appliance`, judged as production with required tags.
fn probe_stack(compliant: bool) -> String {
    format!(
        "[backend]\ntype = \"local\"\n\n[policy]\nproduction = true\nrequired_tags = [\"wildside\"]\n\n[[modules]]\nname = \"vault_appliance\"\nsource = \"policy_probe\"\ninputs = {{ compliant = {compliant} }}\n"
    )
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn every_builtin_rule_judges_a_plan_made_by_real_tofu() {
    let mirror = crate::sandbox_provider::provider_mirror();
    let project = Project::new().with_fixtures();
    let sandbox = crate::support::Sandbox::start(project.path(), &[]);
    let plan = |compliant: bool, code: i32| {
        project.stack("probe", &probe_stack(compliant));
        project
            .run()
            .args([
                "--sandbox",
                &sandbox.url,
                "--output",
                "json",
                "plan",
                "probe",
            ])
            .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
            .output()
            .expect_code(code)
            .json()
    };
    let denied = plan(false, 3);
    let rules: std::collections::BTreeSet<&str> = denied["policy"]["denials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    let expected: std::collections::BTreeSet<&str> = wildside_tofu::stack::BUILTIN_RULES
        .iter()
        .copied()
        .collect();
    assert_eq!(rules, expected, "{denied:#}");
    let passed = plan(true, 0);
    assert_eq!(
        passed["policy"]["denials"],
        serde_json::json!([]),
        "{passed:#}"
    );
    sandbox.stop();
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn a_plan_over_budget_exits_3_names_its_drivers_and_cannot_be_applied() {
    let mirror = crate::sandbox_provider::provider_mirror();
    let project = Project::new().with_fixtures();
    let sandbox = crate::support::Sandbox::start(project.path(), &[]);
    project.stack(
        "probe",
        &format!("{}\n[budget]\nmonthly_usd = 50.0\n", probe_stack(true)),
    );
    let run = || {
        project
            .run()
            .args(["--sandbox", &sandbox.url])
            .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
    };
    let plan_file = project.path().join("probe.tfplan");
    let over = run()
        .args(["plan", "probe", "--out"])
        .args([&plan_file])
        .output()
        .expect_code(3);
    assert!(
        over.stdout().contains("OVER BUDGET")
            && over
                .stdout()
                .contains("module.vault_appliance.digitalocean_kubernetes_cluster.probe"),
        "{}",
        over.stdout()
    );
    let refused = run()
        .args(["--output", "json", "apply", "probe", "--plan"])
        .args([&plan_file])
        .output()
        .expect_code(3);
    assert_eq!(
        refused.json()["kind"],
        "over_budget",
        "{}",
        refused.stderr()
    );
    assert!(
        refused.stderr().contains("exceeds the budget of $50.00"),
        "{}",
        refused.stderr()
    );
    assert!(sandbox.resources().is_empty(), "nothing was created");
    sandbox.stop();
}
