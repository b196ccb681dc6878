//! Cost estimates: droplet and node prices read from the sandbox's `GET /v2/sizes` (the same endpoint as
//! DigitalOcean's), the rest from the price table. A known plan gives a known total, a missing price stays
//! unknown, and the budget names the resources that drive the cost.

use crate::support::Sandbox;
use serde_json::{Value, json};
use wildside_tofu::cost::{PriceTable, SizeSource, estimate_plan, plan_cost};

fn rc(address: &str, kind: &str, before: Value, after: Value) -> Value {
    json!({ "address": address, "mode": "managed", "type": kind,
        "change": { "actions": ["update"], "before": before, "after": after } })
}

/// Three vault nodes grow from s-1vcpu-1gb to s-2vcpu-4gb; a new HA cluster with three s-4vcpu-8gb nodes;
/// three 10 GiB volumes; one load balancer; a VPC; and a resource of another provider.
fn known_plan() -> String {
    let mut changes = Vec::new();
    for i in 0..3 {
        changes.push(rc(
            &format!("module.vault_appliance.digitalocean_droplet.node[{i}]"),
            "digitalocean_droplet",
            json!({ "size": "s-1vcpu-1gb" }),
            json!({ "size": "s-2vcpu-4gb" }),
        ));
        changes.push(rc(
            &format!("module.vault_appliance.digitalocean_volume.data[{i}]"),
            "digitalocean_volume",
            json!({ "size": 10 }),
            json!({ "size": 10 }),
        ));
    }
    changes.push(rc(
        "module.cluster.digitalocean_kubernetes_cluster.this",
        "digitalocean_kubernetes_cluster",
        Value::Null,
        json!({ "ha": true, "node_pool": [{ "size": "s-4vcpu-8gb", "node_count": 3, "auto_scale": false }] }),
    ));
    changes.push(rc(
        "module.vault_appliance.digitalocean_loadbalancer.vault",
        "digitalocean_loadbalancer",
        Value::Null,
        json!({ "size_unit": 1 }),
    ));
    changes.push(rc(
        "module.vpc.digitalocean_vpc.this",
        "digitalocean_vpc",
        Value::Null,
        json!({}),
    ));
    changes.push(rc(
        "module.app.terraform_data.x",
        "terraform_data",
        Value::Null,
        json!({}),
    ));
    json!({ "format_version": "1.2", "resource_changes": changes }).to_string()
}

fn source(sandbox: &Sandbox, cache: &std::path::Path) -> SizeSource {
    SizeSource::for_run(
        Some(&url::Url::parse(&sandbox.url).unwrap()),
        cache.to_path_buf(),
        "2026-11-25".into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_known_plan_gives_a_known_total_with_every_source_named() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), &[]);
    let cost = plan_cost(
        &source(&sandbox, &dir.path().join("cache")),
        &known_plan(),
        None,
    )
    .await
    .unwrap();
    // Before: 3 × $6 droplets + 3 × 10 GiB × $0.10. After: 3 × $24 + $3 volumes + cluster 3 × $48 + $40 HA +
    // one load balancer unit $12; the VPC is free and terraform_data is not DigitalOcean's.
    assert_eq!(cost.before.unknown, 0);
    assert!((cost.before.known_usd - 21.0).abs() < 1e-9, "{cost:#?}");
    assert!(
        (cost.after.known_usd - (72.0 + 3.0 + 144.0 + 40.0 + 12.0)).abs() < 1e-9,
        "{cost:#?}"
    );
    assert!((cost.delta() - 250.0).abs() < 1e-9);
    assert_eq!(cost.sizes_read.as_deref(), Some("2026-11-25"));
    let droplet = &cost
        .changes
        .iter()
        .find(|c| c.address.ends_with("droplet.node[0]"))
        .unwrap();
    assert_eq!(droplet.delta_usd, Some(18.0));
    assert_eq!(
        droplet.after.as_ref().unwrap().source,
        "/v2/sizes `s-2vcpu-4gb` read 2026-11-25"
    );
    let cluster = &cost
        .changes
        .iter()
        .find(|c| c.address.contains("cluster"))
        .unwrap();
    assert!(
        cluster
            .after
            .as_ref()
            .unwrap()
            .source
            .contains("price table `ha_control_plane`")
    );
    assert!(
        !cost.changes.iter().any(|c| c.address.contains("volume")),
        "unchanged prices are not listed"
    );
    assert!(
        !cost
            .changes
            .iter()
            .any(|c| c.address.contains("terraform_data"))
    );
    let cached = std::fs::read_dir(dir.path().join("cache")).unwrap().count();
    assert_eq!(cached, 1, "the read is cached");
}

#[test]
fn a_missing_price_is_unknown_never_zero() {
    let plan = json!({ "resource_changes": [
        rc("digitalocean_database_cluster.pg", "digitalocean_database_cluster", Value::Null, json!({ "size": "db-s-1vcpu-1gb" })),
        rc("digitalocean_droplet.web", "digitalocean_droplet", Value::Null, json!({ "size": "s-1vcpu-1gb" })),
        rc("digitalocean_volume.v", "digitalocean_volume", Value::Null, json!({ "size": 100 })),
    ]})
    .to_string();
    let cost = estimate_plan(
        &plan,
        Err("connection refused"),
        &PriceTable::embedded(),
        None,
    )
    .unwrap();
    assert_eq!(cost.after.unknown, 2, "{cost:#?}");
    assert!((cost.after.known_usd - 10.0).abs() < 1e-9);
    assert_eq!(cost.after.display(), "$10.00 + 2 unknown");
    let database = &cost.changes[0];
    assert_eq!(database.after.as_ref().unwrap().monthly_usd, None);
    assert_eq!(database.delta_usd, None);
    assert!(
        database
            .after
            .as_ref()
            .unwrap()
            .source
            .contains("no price for `digitalocean_database_cluster`")
    );
    assert!(
        cost.changes[1]
            .after
            .as_ref()
            .unwrap()
            .source
            .contains("/v2/sizes unavailable: connection refused")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_is_enforced_naming_the_drivers() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), &[]);
    let source = source(&sandbox, &dir.path().join("cache"));
    let cost = plan_cost(&source, &known_plan(), Some(200.0))
        .await
        .unwrap();
    let breach = cost.over_budget.expect("over budget");
    assert_eq!(breach.monthly_usd, 200.0);
    assert_eq!(breach.estimate_usd, 271.0);
    assert_eq!(
        breach.drivers[0].address,
        "module.cluster.digitalocean_kubernetes_cluster.this"
    );
    assert_eq!(breach.drivers[0].monthly_usd, Some(184.0));
    let within = plan_cost(&source, &known_plan(), Some(300.0))
        .await
        .unwrap();
    assert!(within.over_budget.is_none());
}
