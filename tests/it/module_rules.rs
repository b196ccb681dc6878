//! The loader and the modules judge platform stacks alike: every stack the loader accepts passes the modules'
//! own variable validations, checked by `tofu validate` with the real provider. Stacks are drawn from values
//! on both sides of each rule (names, regions, ranges, versions, times, pools, the appliance), so a rule that
//! one side tightens and the other does not shows up here, not at plan time.

use std::cell::Cell;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRng, TestRunner};

use crate::support::{Project, tool};

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    region: &'static str,
    cidr: &'static str,
    version: &'static str,
    ha: bool,
    day: &'static str,
    start_time: &'static str,
    api_allowed: Vec<&'static str>,
    default_count: i64,
    default_size: &'static str,
    extra_pool: Option<(&'static str, i64, i64, &'static str)>,
    appliance: Option<Appliance>,
}

#[derive(Debug, Clone)]
struct Appliance {
    count: i64,
    volume_size_gb: i64,
    ssh_cidrs: Vec<&'static str>,
    api_cidrs: Vec<&'static str>,
    tls_names: Vec<&'static str>,
}

/// Mostly a value both sides accept, sometimes one that one of them should refuse.
fn pick<T: Clone + std::fmt::Debug + 'static>(valid: Vec<T>, invalid: Vec<T>) -> BoxedStrategy<T> {
    prop_oneof![9 => select(valid), 1 => select(invalid)].boxed()
}

fn cidrs() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        pick(
            vec!["203.0.113.0/24", "203.0.113.7/32", "10.0.0.0/8"],
            vec!["0.0.0.0/0", "198.51.100.0/+24", "198.51.100.0/33"],
        ),
        0..3,
    )
}

fn appliance() -> impl Strategy<Value = Appliance> {
    (
        pick(vec![1i64, 3, 5], vec![2, 4]),
        pick(vec![10i64, 20, 100], vec![0, 1]),
        cidrs(),
        cidrs(),
        prop::collection::vec(
            pick(
                vec!["vault.example.com", "vault"],
                vec!["bad name", "-x.example"],
            ),
            0..2,
        ),
    )
        .prop_map(
            |(count, volume_size_gb, ssh_cidrs, api_cidrs, tls_names)| Appliance {
                count,
                volume_size_gb,
                ssh_cidrs,
                api_cidrs,
                tls_names,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            pick(
                vec![
                    "a",
                    "dev",
                    "team-b",
                    "x1234567890123456789012345678901234567890",
                ],
                vec![
                    "my_env",
                    "Prod",
                    "x12345678901234567890123456789012345678901",
                    "x12345678901234567890123456789012345678901234567890123456789012",
                ],
            ),
            pick(vec!["nyc3", "ams3", "sfo3"], vec!["NYC3", "nyc"]),
            pick(
                vec!["10.10.0.0/16", "10.0.0.0/28", "192.168.16.0/20"],
                vec![
                    "10.10.0.0/+16",
                    "10.244.0.0/16",
                    "10.10.0.0/29",
                    "10.10.0.0/15",
                ],
            ),
            pick(vec!["1.33", "1.33.1-do.0"], vec!["1.33.1", "latest"]),
            any::<bool>(),
            pick(vec!["sunday", "any", "monday"], vec!["Monday", "weekday"]),
            pick(
                vec!["00:00", "23:59", "03:00"],
                vec!["+4:00", "24:00", "4:00", "03:60"],
            ),
            cidrs(),
        ),
        (
            pick(vec![1i64, 2, 3], vec![0]),
            pick(vec!["s-2vcpu-4gb", "s-1vcpu-2gb"], vec!["huge"]),
            prop::option::of((
                pick(vec!["app", "a-b"], vec!["App", "a_b"]),
                pick(vec![0i64, 1, 2], vec![-1]),
                pick(vec![1i64, 5], vec![0]),
                pick(
                    vec!["NoSchedule", "PreferNoSchedule", "NoExecute"],
                    vec!["Never"],
                ),
            )),
            prop::option::of(appliance()),
        ),
    )
        .prop_map(
            |(
                (name, region, cidr, version, ha, day, start_time, api_allowed),
                (default_count, default_size, extra_pool, appliance),
            )| Case {
                name,
                region,
                cidr,
                version,
                ha,
                day,
                start_time,
                api_allowed,
                default_count,
                default_size,
                extra_pool,
                appliance,
            },
        )
}

fn stack_file(case: &Case) -> String {
    let mut pools = vec![toml::toml! {
        name = "core"
        size = (case.default_size)
        count = (case.default_count)
    }];
    if let Some((name, min, max, effect)) = case.extra_pool {
        pools.push(toml::toml! {
            name = name
            size = "s-2vcpu-4gb"
            autoscale = { min = min, max = max }
            taints = [{ key = "dedicated", value = "x", effect = effect }]
        });
    }
    let mut document = toml::toml! {
        [digitalocean]
        region = (case.region)

        [backend]
        type = "local"

        [vpc]
        cidr = (case.cidr)

        [cluster]
        version = (case.version)
        ha = (case.ha)
        maintenance = { day = (case.day), start_time = (case.start_time) }
        api_allowed_cidrs = (case.api_allowed.clone())
    };
    document.insert(
        "node_pools".into(),
        toml::Value::Array(pools.into_iter().map(toml::Value::Table).collect()),
    );
    if let Some(appliance) = &case.appliance {
        document.insert(
            "vault_appliance".into(),
            toml::Value::Table(toml::toml! {
                count = (appliance.count)
                volume_size_gb = (appliance.volume_size_gb)
                ssh_cidrs = (appliance.ssh_cidrs.clone())
                api_cidrs = (appliance.api_cidrs.clone())
                tls_names = (appliance.tls_names.clone())
                openbao_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            }),
        );
    }
    toml::to_string(&document).unwrap()
}

fn tofu(dir: &Path, cli_config: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
    Command::new(tool("WILDSIDE_TOFU_BIN"))
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_PLUGIN_CACHE_DIR", cache)
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs the digitalocean provider: run by `make test` when WILDSIDE_PROVIDER_MIRROR or the tools mirror holds it"]
fn every_stack_the_loader_accepts_passes_the_modules_validations() {
    let mirror = crate::sandbox_provider::provider_mirror();
    let project = Project::new();
    let scratch = tempfile::tempdir().unwrap();
    let cli_config = scratch.path().join("tofurc");
    let config = hcl::Body::builder()
        .add_block(
            hcl::Block::builder("provider_installation")
                .add_block(
                    hcl::Block::builder("filesystem_mirror")
                        .add_attribute(("path", mirror.display().to_string()))
                        .build(),
                )
                .build(),
        )
        .build();
    std::fs::write(&cli_config, hcl::to_string(&config).unwrap()).unwrap();
    let cache = scratch.path().join("plugin-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let (accepted, refused) = (Cell::new(0), Cell::new(0));
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed draw, the same 48 stacks on every run: whether it covers both sides is then not left to chance.
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&case(), |case| {
            let text = stack_file(&case);
            project.stack(case.name, &text);
            let out = scratch.path().join(case.name);
            let render = project
                .run()
                .args(["render", case.name, "--out"])
                .args([&out])
                .output();
            std::fs::remove_file(project.path().join(format!("stacks/{}.toml", case.name)))
                .unwrap();
            if render.code() != 0 {
                refused.set(refused.get() + 1);
                return Ok(());
            }
            accepted.set(accepted.get() + 1);
            for args in [
                &["init", "-backend=false", "-input=false", "-no-color"][..],
                &["validate", "-no-color"],
            ] {
                let run = tofu(&out, &cli_config, &cache, args);
                if !run.status.success() {
                    return Err(TestCaseError::fail(format!(
                        "the loader accepted this stack, but `tofu {}` refuses it:\n{text}\n{}{}",
                        args[0],
                        String::from_utf8_lossy(&run.stdout),
                        String::from_utf8_lossy(&run.stderr)
                    )));
                }
            }
            Ok(())
        })
        .unwrap();
    let (accepted, refused) = (accepted.get(), refused.get());
    eprintln!("module rules: {accepted} stacks accepted and validated, {refused} refused");
    assert!(
        accepted >= 5 && refused >= 5,
        "the draw covers both sides: {accepted} accepted, {refused} refused"
    );
}
