//! Platform stacks (`stacks/dev.toml`, `stacks/prod.toml`) render into deterministic, `tofu fmt`-clean roots
//! that call the hand-written modules; every rendered file parses; the modules share one set of provider pins;
//! and malformed platform sections are refused with a located, specific message.
//!
//! Planning and applying these stacks needs the `digitalocean/digitalocean` provider: those tests are in
//! `sandbox_provider`, and run where a mirror holds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Project;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tofu_fmt_check(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(crate::support::tool("WILDSIDE_TOFU_BIN"))
        .args(["fmt", "-check", "-diff"])
        .args(extra)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap()
}

#[test]
fn dev_and_prod_render_to_their_snapshots() {
    let project = Project::new();
    for stack in ["dev", "prod"] {
        let text =
            std::fs::read_to_string(repository().join("stacks").join(format!("{stack}.toml")))
                .unwrap();
        project.stack(stack, &text);
        let out = project.path().join("rendered").join(stack);
        project
            .run()
            .args(["render", stack, "--out"])
            .args([&out])
            .output()
            .expect_code(0);
        for (file, snapshot) in [
            ("main.tf", format!("{stack}.main.tf")),
            ("backend.tfbackend", format!("{stack}.tfbackend")),
        ] {
            let rendered = std::fs::read_to_string(out.join(file)).unwrap();
            let expected =
                std::fs::read_to_string(repository().join("tests/snapshots").join(&snapshot))
                    .unwrap();
            assert_eq!(
                rendered, expected,
                "{stack}/{file} differs from tests/snapshots/{snapshot}"
            );
            hcl::parse(&rendered)
                .unwrap_or_else(|error| panic!("{stack}/{file} does not parse: {error}"));
        }
        let fmt = tofu_fmt_check(&out, &["main.tf"]);
        assert!(
            fmt.status.success(),
            "{}",
            String::from_utf8_lossy(&fmt.stdout)
        );
    }
    let prod = std::fs::read_to_string(project.path().join("rendered/prod/main.tf")).unwrap();
    let body = hcl::parse(&prod).unwrap();
    let cluster = body
        .blocks()
        .find(|block| block.identifier() == "module" && block.labels()[0].as_str() == "cluster")
        .unwrap();
    let attribute = |name: &str| {
        cluster
            .body()
            .attributes()
            .find(|attribute| attribute.key() == name)
            .unwrap()
            .expr()
            .clone()
    };
    assert_eq!(attribute("ha"), hcl::Expression::Bool(true));
    let hcl::Expression::Object(pools) = attribute("node_pools") else {
        panic!("node_pools is not an object")
    };
    assert_eq!(
        pools.len(),
        2,
        "the default pool is not among the separate pools"
    );
    assert!(
        prod.contains("\"min_nodes\"  = 0"),
        "the ephemeral pool scales to zero"
    );
}

#[test]
fn two_lines_make_a_valid_platform() {
    let project = Project::new();
    project.stack("tiny", "[digitalocean]\nregion = \"ams3\"\n");
    let out = project.path().join("rendered");
    project
        .run()
        .args(["render", "tiny", "--out"])
        .args([&out])
        .output()
        .expect_code(0);
    let main = std::fs::read_to_string(out.join("main.tf")).unwrap();
    assert!(main.contains("name                   = \"tiny\""), "{main}");
    assert!(main.contains("ip_range = \"10.10.0.0/16\""), "{main}");
    assert!(main.contains("\"node_count\" = 2"), "{main}");
}

#[test]
fn modules_are_formatted_and_share_one_set_of_provider_pins() {
    let fmt = tofu_fmt_check(&repository().join("modules"), &["-recursive"]);
    assert!(
        fmt.status.success(),
        "{}",
        String::from_utf8_lossy(&fmt.stdout)
    );
    for module in ["vpc", "doks", "vault_appliance"] {
        let link = repository()
            .join("modules")
            .join(module)
            .join("versions.tf");
        assert_eq!(
            std::fs::read_link(&link).ok(),
            Some(std::path::PathBuf::from("../versions.tf")),
            "{module}/versions.tf links to the one set of pins in modules/versions.tf"
        );
        let text = std::fs::read_to_string(
            repository()
                .join("modules")
                .join(module)
                .join("versions.tf"),
        )
        .unwrap();
        let body = hcl::parse(&text).unwrap();
        let terraform = body
            .blocks()
            .find(|block| block.identifier() == "terraform")
            .unwrap();
        let required = terraform
            .body()
            .blocks()
            .find(|block| block.identifier() == "required_providers")
            .unwrap();
        let mut pins: Vec<(String, String, String)> = required
            .body()
            .attributes()
            .map(|attribute| {
                let hcl::Expression::Object(object) = attribute.expr() else {
                    panic!("{module}: a pin is not an object")
                };
                let field = |name: &str| {
                    object
                        .iter()
                        .find(|(key, _)| key.to_string() == name)
                        .map(|(_, value)| value.to_string().trim_matches('"').to_string())
                        .unwrap()
                };
                (
                    attribute.key().to_string(),
                    field("source"),
                    field("version"),
                )
            })
            .collect();
        pins.sort();
        let expected: Vec<(String, String, String)> = wildside_tofu::render::PROVIDER_PINS
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(pins, expected, "{module}/versions.tf");
        assert!(
            repository()
                .join("modules")
                .join(module)
                .join("README.md")
                .is_file()
        );
    }
}

const DO: &str = "[digitalocean]\nregion = \"nyc3\"\n";

#[test]
fn malformed_platform_sections_are_refused_precisely() {
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (
            "[digitalocean]\nregion = \"nyc4\"\n".into(),
            "2:10",
            "`nyc4` is not a DigitalOcean region",
            "did you mean",
        ),
        (
            format!("{DO}[vpc]\ncidr = \"10.10.0.0\"\n"),
            "4:8",
            "is not an IPv4 CIDR",
            "10.10.0.0/16",
        ),
        (
            format!("{DO}[vpc]\ncidr = \"10.244.0.0/20\"\n"),
            "4:8",
            "overlaps the DOKS pod range",
            "10.244.0.0/16 and 10.245.0.0/16",
        ),
        (
            format!("{DO}[vpc]\ncidr = \"8.8.0.0/16\"\n"),
            "4:8",
            "is not a private range",
            "10.0.0.0/8",
        ),
        (
            format!("{DO}[vpc]\ncidr = \"10.0.0.0/8\"\n"),
            "4:8",
            "between /16 and /28",
            "10.10.0.0/16",
        ),
        (
            format!("{DO}[cluster]\napi_allowed_cidrs = [\"0.0.0.0/0\"]\n"),
            "4:22",
            "allows everyone: that is no allow-list",
            "leave `api_allowed_cidrs` out",
        ),
        (
            format!("{DO}[cluster]\napi_allowed_cidrs = [\"10.1.2.3\"]\n"),
            "4:22",
            "is not an IPv4 CIDR",
            "203.0.113.0/24",
        ),
        (
            format!("{DO}[cluster]\nversion = \"1.33.1\"\n"),
            "4:11",
            "is not a Kubernetes version",
            "1.33.1-do.3",
        ),
        (
            format!("{DO}[cluster]\nmaintenance = {{ day = \"sundy\" }}\n"),
            "4:23",
            "is not a maintenance day",
            "did you mean `sunday`?",
        ),
        (
            format!("{DO}[cluster]\nmaintenance = {{ start_time = \"25:00\" }}\n"),
            "4:30",
            "is not a time of day",
            "HH:MM",
        ),
        (
            format!("{DO}[[node_pools]]\nname = \"a\"\n[[node_pools]]\nname = \"a\"\n"),
            "6:8",
            "node pool `a` is declared twice",
            "unique `name`",
        ),
        (
            format!(
                "{DO}[[node_pools]]\nname = \"a\"\ncount = 2\nautoscale = {{ min = 1, max = 2 }}\n"
            ),
            "6:13",
            "either `count` or `autoscale`",
            "remove one",
        ),
        (
            format!("{DO}[[node_pools]]\nname = \"a\"\nautoscale = {{ min = 0, max = 2 }}\n"),
            "5:21",
            "cannot scale to zero",
            "min = 1",
        ),
        (
            format!(
                "{DO}[[node_pools]]\nname = \"a\"\n[[node_pools]]\nname = \"b\"\nautoscale = {{ min = 3, max = 2 }}\n"
            ),
            "7:21",
            "`min` (3) is above `max` (2)",
            "min ≤ max",
        ),
        (
            format!(
                "{DO}[[node_pools]]\nname = \"a\"\ntaints = [{{ key = \"k\", effect = \"NoScedule\" }}]\n"
            ),
            "5:33",
            "is not a taint effect",
            "did you mean `NoSchedule`?",
        ),
        (
            format!("{DO}[[node_pools]]\nname = \"a\"\nsize = \"huge\"\n"),
            "5:8",
            "is not a DigitalOcean size slug",
            "s-2vcpu-4gb",
        ),
        (
            format!("{DO}[vault_appliance]\ncount = 2\n"),
            "4:9",
            "odd number",
            "1, 3 or 5",
        ),
        (
            format!("{DO}[vault_appliance]\nssh_cidrs = [\"0.0.0.0/0\"]\n"),
            "4:14",
            "SSH open to the whole internet",
            "allow_ssh_from_anywhere",
        ),
        (
            format!("{DO}[vault_appliance]\ndistribution = \"vault\"\n"),
            "3:1",
            "needs `api_cidrs`",
            "allow_api_from_anywhere = true",
        ),
        (
            format!(
                "{DO}[vault_appliance]\ndistribution = \"vault\"\napi_cidrs = [\"0.0.0.0/0\"]\n"
            ),
            "5:14",
            "Vault's API open to the whole internet",
            "allow_api_from_anywhere = true",
        ),
        (
            format!("{DO}[vault_appliance]\napi_cidrs = [\"203.0.113.0/24\"]\n"),
            "3:1",
            "needs `openbao_sha256`",
            "bao_2.4.1_linux_amd64.deb",
        ),
        (
            format!(
                "{DO}[vault_appliance]\napi_cidrs = [\"203.0.113.0/24\"]\nopenbao_sha256 = \"ABC123\"\n"
            ),
            "5:18",
            "is not a SHA-256",
            "64 lowercase hex digits",
        ),
        (
            format!("{DO}[vault_appliance]\nrecovery_shares = 3\n"),
            "4:1",
            "unknown field `recovery_shares`",
            "valid keys here",
        ),
        (
            format!("{DO}[vpc]\nname = \"Net_1\"\n"),
            "4:8",
            "`Net_1` is not a valid VPC name",
            "lowercase letters, digits and `-`",
        ),
        (
            format!("{DO}[cluster]\nname = \"{}\"\n", "c".repeat(64)),
            "4:8",
            "is not a valid cluster name",
            "up to 63",
        ),
        (
            format!("{DO}[vault_appliance]\napi_port = 8200\ncluster_port = 8200\n"),
            "5:16",
            "are the same",
            "8200 and 8201",
        ),
        (
            format!("{DO}[vault_appliance]\ndistribution = \"openbo\"\n"),
            "4:16",
            "is not a Vault distribution",
            "did you mean `openbao`?",
        ),
        (
            format!("{DO}[vault_appliance]\ntls_ips = [\"10.0.0.300\"]\n"),
            "4:12",
            "is not an IP address",
            "10.10.0.5",
        ),
        (
            "[cluster]\nha = true\n".into(),
            "1:1",
            "need a `[digitalocean]` section",
            "region = \\\"nyc3\\\"",
        ),
        (
            format!("{DO}[[modules]]\nname = \"vpc\"\nsource = \"example\"\n"),
            "4:8",
            "taken by the platform sections",
            "rename",
        ),
        (
            format!("{DO}[[outputs]]\nname = \"o\"\nfrom = \"clusterr.endpoint\"\n"),
            "5:8",
            "refers to module `clusterr`",
            "did you mean `cluster`?",
        ),
    ];
    let project = Project::new();
    for (text, position, message, hint) in cases {
        project.stack("broken", &text);
        let done = project
            .run()
            .args(["render", "broken"])
            .output()
            .expect_code(1);
        let stderr = done.stderr();
        assert!(
            stderr.contains(&format!("stacks/broken.toml:{position}: ")),
            "expected {position} for\n{text}\ngot:\n{stderr}"
        );
        assert!(
            stderr.contains(message) && stderr.contains(hint.replace("\\\"", "\"").as_str()),
            "expected `{message}` / `{hint}` for\n{text}\ngot:\n{stderr}"
        );
    }
}

#[test]
fn a_stack_name_the_modules_refuse_is_refused_when_loading() {
    let project = Project::new();
    let long = "a".repeat(42);
    for (name, text) in [
        ("my_env", DO.to_string()),
        ("2fast", DO.to_string()),
        (
            long.as_str(),
            format!(
                "{DO}[vault_appliance]\ncount = 1\napi_cidrs = [\"203.0.113.0/24\"]\ndistribution = \"vault\"\n"
            ),
        ),
    ] {
        project.stack(name, &text);
        let done = project.run().args(["render", name]).output().expect_code(1);
        assert!(
            done.stderr()
                .contains(&format!("stack name `{name}` cannot name"))
                && done.stderr().contains("hint:"),
            "{}",
            done.stderr()
        );
    }
    project.stack(
        "my_env",
        &format!("{DO}[vpc]\nname = \"my-env-vpc\"\n[cluster]\nname = \"my-env\"\n"),
    );
    project
        .run()
        .args(["render", "my_env"])
        .output()
        .expect_code(0);
}

const PREVIEW: &str = "[vault]\naddress = \"http://127.0.0.1:8200\"\n\n[preview]\nmax_concurrent = 2\nmax_pins = 1\nttl = \"1h\"\n";

/// A platform preview's names get `-pr-<n>`, so the loader keeps room for it; the rendered cluster is named
/// and tagged per pull request, in its own VPC or the shared one.
#[test]
fn platform_previews_are_named_tagged_and_placed_per_pull_request() {
    let project = Project::new();
    let long = format!("c{}", "x".repeat(52));
    project.stack(
        "wide",
        &format!("{DO}{PREVIEW}[cluster]\nname = \"{long}\"\n"),
    );
    let refused = project
        .run()
        .args(["render", "wide"])
        .output()
        .expect_code(1);
    assert!(
        refused.stderr().contains("too long for previews")
            && refused.stderr().contains("at most 52 characters"),
        "{}",
        refused.stderr()
    );
    project.stack(
        "wide",
        &format!("{DO}{PREVIEW}[cluster]\nname = \"{}\"\n", &long[..52]),
    );
    project
        .run()
        .args(["render", "wide"])
        .output()
        .expect_code(0);

    for (vpc, own_vpc) in [("per_pr", true), ("shared", false)] {
        project.stack(
            "pr",
            &format!("{DO}{PREVIEW}vpc = \"{vpc}\"\n\n[vpc]\nname = \"platform-vpc\"\n"),
        );
        let out = project.path().join(format!("rendered-{vpc}"));
        project
            .run()
            .args(["render", "pr", "--out"])
            .args([&out])
            .output()
            .expect_code(0);
        let main = std::fs::read_to_string(out.join("main.tf")).unwrap();
        assert!(
            main.contains(r#"name                   = format("%s-pr-%d", "pr", var.pr_number)"#),
            "{main}"
        );
        assert!(
            main.contains(r#"format("pr:%d", var.pr_number)"#)
                && main.contains(r#"format("expires:%s""#),
            "{main}"
        );
        assert_eq!(
            main.contains(r#"format("%s-pr-%d", "platform-vpc", var.pr_number)"#),
            own_vpc,
            "{main}"
        );
        assert_eq!(
            main.contains(r#"data "digitalocean_vpc""#),
            !own_vpc,
            "{main}"
        );
        // A pull request's own range is the slot its ledger record holds, never a function of its number.
        assert_eq!(
            main.contains(r#"ip_range = cidrsubnet("10.10.0.0/16", 8, var.vpc_slot)"#)
                && main.contains(r#"variable "vpc_slot""#),
            own_vpc,
            "{main}"
        );
        assert!(!main.contains("var.pr_number %"), "{main}");
    }
}

/// The loader's name rule for each platform module call is the module's own `name` validation.
#[test]
fn name_rules_match_the_module_validations() {
    use wildside_tofu::stack::{CLUSTER, VAULT_APPLIANCE, VPC};
    for call in [VPC, CLUSTER, VAULT_APPLIANCE] {
        let dir = repository().join("modules").join(call.module);
        let text: String = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect();
        let rule = format!(
            "can(regex(\"^[a-z][a-z0-9-]{{0,{}}}$\", var.name))",
            call.longest_name - 1
        );
        assert!(
            text.contains(&rule),
            "modules/{} does not validate names with {rule}",
            call.module
        );
    }
}

/// The loader's rules for the appliance's package pin are the module's own: the same OpenBao release in the
/// hint as the module installs, and the same checksum pattern.
#[test]
fn package_pin_rules_match_the_module_validations() {
    let variables =
        std::fs::read_to_string(repository().join("modules/vault_appliance/variables.tf")).unwrap();
    let body = hcl::parse(&variables).unwrap();
    let variable = |name: &str| {
        body.blocks()
            .find(|block| block.identifier() == "variable" && block.labels()[0].as_str() == name)
            .unwrap_or_else(|| panic!("variable {name}"))
            .body()
            .clone()
    };
    let default = variable("openbao_version")
        .attributes()
        .find(|attribute| attribute.key() == "default")
        .map(|attribute| attribute.expr().clone());
    assert_eq!(
        default,
        Some(hcl::Expression::String(
            wildside_tofu::stack::OPENBAO_VERSION.into()
        ))
    );
    assert!(
        variables.contains(r#"regex("^[0-9a-f]{64}$", var.openbao_sha256)"#),
        "modules/vault_appliance validates openbao_sha256 as ^[0-9a-f]{{64}}$"
    );
    for (text, valid) in [
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            true,
        ),
        (
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            false,
        ),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            false,
        ),
        (
            "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            false,
        ),
    ] {
        assert_eq!(wildside_tofu::stack::is_sha256(text), valid, "{text}");
    }
    assert!(
        variables.contains(r#"anytrue([for cidr in var.api_cidrs : endswith(cidr, "/0")])"#),
        "modules/vault_appliance refuses any /0 in api_cidrs without allow_api_from_anywhere, as the loader does"
    );
}

/// Deleting a cluster with `destroy_all_associated_resources` also deletes its workloads' volumes: off unless
/// the stack says so, on by default for previews (throwaway), and the stack's word wins either way.
#[test]
fn destroying_associated_resources_is_off_by_default_and_on_for_previews() {
    let project = Project::new();
    for (name, text, expected) in [
        ("plain", DO.to_string(), false),
        (
            "keeps",
            format!("{DO}[cluster]\ndestroy_all_associated_resources = true\n"),
            true,
        ),
        ("pr", format!("{DO}{PREVIEW}"), true),
        (
            "prkeeps",
            format!("{DO}{PREVIEW}\n[cluster]\ndestroy_all_associated_resources = false\n"),
            false,
        ),
    ] {
        project.stack(name, &text);
        let out = project.path().join("rendered").join(name);
        project
            .run()
            .args(["render", name, "--out"])
            .args([&out])
            .output()
            .expect_code(0);
        let main = std::fs::read_to_string(out.join("main.tf")).unwrap();
        assert!(
            main.contains(&format!("destroy_associated     = {expected}\n")),
            "{name}: {main}"
        );
    }
}
