//! The built-in policy rules and the policy engine, on hand-written plan fixtures shaped as `tofu show -json`
//! prints DigitalOcean resources (the DigitalOcean provider cannot be installed in CI, so these plans are
//! written by hand; `tests/policy_cli.rs` runs a plan made by real tofu).

use std::path::Path;

use serde_json::json;
use wildside_tofu::policy::{PolicyError, PolicySet, TestOutcome, evaluate, run_tests};
use wildside_tofu::stack::BUILTIN_RULES;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/policy/{name}.json")),
    )
    .unwrap()
}

fn settings() -> serde_json::Value {
    json!({ "wildside": { "stack_name": "prod", "stack": {}, "settings": {
        "production": true, "required_tags": ["wildside"], "max_node_count": 20, "max_size_vcpus": 16, "disabled": []
    }}})
}

/// The built-in `rule` alone.
fn only(rule: &str) -> PolicySet {
    let others: Vec<String> = BUILTIN_RULES
        .iter()
        .filter(|name| **name != rule)
        .map(|name| name.to_string())
        .collect();
    PolicySet::builtins(&others)
}

#[test]
fn every_builtin_rule_passes_its_passing_plan_and_denies_its_failing_one() {
    for rule in BUILTIN_RULES {
        let pass = evaluate(&only(rule), &fixture(&format!("{rule}.pass")), &settings()).unwrap();
        assert!(pass.denials.is_empty(), "{rule} pass: {:#?}", pass.denials);
        let fail = evaluate(&only(rule), &fixture(&format!("{rule}.fail")), &settings()).unwrap();
        assert!(!fail.denials.is_empty(), "{rule} fail denies nothing");
        assert!(
            fail.denials
                .iter()
                .all(|denial| denial.rule == rule && denial.resource.is_some())
        );
        assert_eq!(fail.files.len(), 1);
        assert_eq!(fail.files[0].file, format!("builtin/{rule}.rego"));
        let deny = fail.files[0]
            .rules
            .iter()
            .find(|r| r.name == "deny")
            .unwrap();
        assert!(
            deny.findings >= 1 && deny.resources >= 1,
            "{rule}: {deny:?}"
        );
    }
}

#[test]
fn null_lists_in_a_plan_are_no_error_for_any_builtin_rule() {
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [
            {"address": "module.cluster.digitalocean_kubernetes_node_pool.extra[\"app\"]", "type": "digitalocean_kubernetes_node_pool",
             "change": {"actions": ["create"], "after": {"tags": null, "size": "s-2vcpu-4gb", "node_count": null}}},
            {"address": "module.cluster.digitalocean_kubernetes_cluster.this", "type": "digitalocean_kubernetes_cluster",
             "change": {"actions": ["create"], "after": {"tags": null, "node_pool": null, "control_plane_firewall": null, "version": "1.33.1-do.2", "ha": true, "surge_upgrade": true, "maintenance_policy": null}}},
            {"address": "module.vault.digitalocean_loadbalancer.vault", "type": "digitalocean_loadbalancer",
             "change": {"actions": ["create"], "after": {"forwarding_rule": null}}},
            {"address": "module.vault.digitalocean_firewall.vault", "type": "digitalocean_firewall",
             "change": {"actions": ["create"], "after": {"inbound_rule": null}}}
        ]
    });
    for rule in BUILTIN_RULES {
        evaluate(&only(rule), &plan.to_string(), &settings())
            .unwrap_or_else(|error| panic!("{rule}: {error}"));
    }
}

#[test]
fn failing_fixtures_say_what_is_wrong() {
    let messages = |rule: &str| -> Vec<String> {
        evaluate(&only(rule), &fixture(&format!("{rule}.fail")), &settings())
            .unwrap()
            .denials
            .into_iter()
            .map(|denial| denial.message)
            .collect()
    };
    assert!(
        messages("no_public_admin")
            .iter()
            .any(|m| m.contains("SSH (port 22) is open to 0.0.0.0/0"))
    );
    assert!(
        messages("no_public_admin")
            .iter()
            .any(|m| m.contains("Kubernetes API is open to ::/0"))
    );
    assert!(
        messages("versions_pinned")
            .iter()
            .any(|m| m.contains("provider digitalocean"))
    );
    assert_eq!(messages("upgrades_maintenance").len(), 2);
    assert!(
        messages("size_ceiling")
            .iter()
            .any(|m| m.contains("50 nodes"))
    );
    assert!(
        messages("size_ceiling")
            .iter()
            .any(|m| m.contains("32 vCPUs"))
    );
    assert!(
        messages("vault_appliance")
            .iter()
            .any(|m| m.contains("2 nodes"))
    );
    assert!(messages("lb_https_only")[0].contains("redirect_http_to_https"));
}

#[test]
fn ha_is_required_only_of_production_stacks() {
    let mut data = settings();
    data["wildside"]["settings"]["production"] = json!(false);
    let report = evaluate(
        &only("ha_control_plane"),
        &fixture("ha_control_plane.fail"),
        &data,
    )
    .unwrap();
    assert!(report.denials.is_empty());
}

fn project_policies(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("policies").join(name), text).unwrap();
    }
    dir
}

/// In the style of conftest's documentation (its Terraform example), written for Rego v1 as conftest now
/// expects, run unchanged: `input` is the plan JSON, messages are strings.
const CONFTEST_STYLE: &str = r#"package main

deny contains msg if {
	some resource in input.resource_changes
	resource.type == "digitalocean_loadbalancer"
	"create" in resource.change.actions
	msg := sprintf("load balancer %v: creating load balancers needs a change ticket", [resource.address])
}

warn contains msg if {
	count(input.resource_changes) > 1000
	msg := "a very large plan"
}
"#;

#[test]
fn a_conftest_policy_runs_unchanged_and_is_reported_per_file() {
    let dir = project_policies(&[("tickets.rego", CONFTEST_STYLE)]);
    let set = PolicySet::load(
        &dir.path().join("policies"),
        &BUILTIN_RULES.map(String::from),
        false,
    )
    .unwrap();
    let report = evaluate(&set, &fixture("lb_https_only.fail"), &settings()).unwrap();
    assert_eq!(report.denials.len(), 1, "{report:#?}");
    assert_eq!(report.denials[0].rule, "main");
    assert_eq!(report.denials[0].file, "policies/tickets.rego");
    assert!(
        report.denials[0]
            .message
            .starts_with("load balancer module.vault_appliance")
    );
    let file = &report.files[0];
    assert_eq!(file.package, "main");
    let rules: Vec<(&str, usize, usize)> = file
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.line, r.findings))
        .collect();
    assert_eq!(rules, [("deny", 3, 1), ("warn", 10, 0)]);
}

#[test]
fn a_policy_file_in_a_package_nobody_loads_is_an_error() {
    let dir = project_policies(&[
        ("tickets.rego", CONFTEST_STYLE),
        (
            "upstream.rego",
            "package wildside.policies\n\ndeny contains \"never\" if { true }\n",
        ),
    ]);
    let set = PolicySet::load(&dir.path().join("policies"), &[], false).unwrap();
    let error = evaluate(&set, &fixture("lb_https_only.fail"), &settings()).unwrap_err();
    assert!(matches!(error, PolicyError::NotLoaded { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("policies/upstream.rego declares package `wildside.policies`"),
        "{message}"
    );
    assert!(message.contains("hint:"), "{message}");
}

#[test]
fn a_configured_package_without_rules_is_an_error() {
    let dir = project_policies(&[
        ("config.toml", "packages = [\"main\", \"wildside\"]\n"),
        ("tickets.rego", CONFTEST_STYLE),
    ]);
    let set = PolicySet::load(&dir.path().join("policies"), &[], false).unwrap();
    let error = evaluate(&set, &fixture("lb_https_only.fail"), &settings()).unwrap_err();
    assert!(
        matches!(error, PolicyError::NoRules { ref package, .. } if package == "wildside"),
        "{error}"
    );
}

#[test]
fn a_configured_package_without_any_policy_file_is_an_error() {
    let dir = project_policies(&[("config.toml", "packages = [\"main\"]\n")]);
    let set = PolicySet::load(&dir.path().join("policies"), &[], false).unwrap();
    let error = evaluate(&set, &fixture("lb_https_only.pass"), &settings()).unwrap_err();
    assert!(
        matches!(error, PolicyError::NoRules { ref package, ref files } if package == "main" && files.is_empty()),
        "{error}"
    );
}

#[test]
fn bad_policies_name_the_file_and_line() {
    let syntax = project_policies(&[(
        "broken.rego",
        "package main\n\ndeny contains msg if {\n  msg := \n}\n",
    )]);
    let set = PolicySet::load(&syntax.path().join("policies"), &[], false).unwrap();
    let message = evaluate(&set, "{}", &settings()).unwrap_err().to_string();
    assert!(message.contains("policies/broken.rego:4"), "{message}");

    let undefined = project_policies(&[(
        "undefined.rego",
        "package main\n\ndeny contains msg if {\n  msg := nowhere\n}\n",
    )]);
    let set = PolicySet::load(&undefined.path().join("policies"), &[], false).unwrap();
    let message = evaluate(&set, "{}", &settings()).unwrap_err().to_string();
    assert!(message.contains("policies/undefined.rego:4"), "{message}");

    let erring = project_policies(&[(
        "erring.rego",
        "package main\n\ndeny contains msg if {\n  n := to_number(\"ten\")\n  msg := sprintf(\"%v\", [n])\n}\n",
    )]);
    let set = PolicySet::load(&erring.path().join("policies"), &[], false).unwrap();
    let message = evaluate(&set, "{}", &settings()).unwrap_err().to_string();
    assert!(message.contains("policies/erring.rego:4"), "{message}");
}

#[test]
fn policy_tests_run_like_opa_test() {
    let dir = project_policies(&[
        ("tickets.rego", CONFTEST_STYLE),
        (
            "tickets_test.rego",
            "package main\n\ntest_denies_new_lbs if {\n  count(deny) == 1 with input as {\"resource_changes\": [{\"address\": \"a\", \"type\": \"digitalocean_loadbalancer\", \"change\": {\"actions\": [\"create\"]}}]}\n}\n\ntest_wrong if {\n  count(deny) == 2 with input as {\"resource_changes\": []}\n}\n",
        ),
    ]);
    let set = PolicySet::load(
        &dir.path().join("policies"),
        &BUILTIN_RULES.map(String::from),
        true,
    )
    .unwrap();
    let results = run_tests(&set, &settings()).unwrap();
    let outcomes: Vec<(&str, TestOutcome)> = results
        .iter()
        .map(|r| (r.name.as_str(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("test_denies_new_lbs", TestOutcome::Pass),
            ("test_wrong", TestOutcome::Fail)
        ]
    );
}
