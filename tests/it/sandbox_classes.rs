//! The sandbox behaves as DigitalOcean does for the resources the platform and its previews touch: SSH keys,
//! images, droplet snapshots and backups, resizes and IPv6, volume snapshots, domains with their records, VPC
//! subnets, and regional and global load balancers. Each test drives one class through the in-process sandbox
//! and checks every exchange against DigitalOcean's OpenAPI description (`Running::finish`).

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::sandbox_contract::{Client, running, settle};

/// Two ed25519 public keys and their fingerprints (MD5 of the key blob, as DigitalOcean shows them), worked out
/// independently of the sandbox.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f ops@example";
const KEY_FINGERPRINT: &str = "0f:a2:0a:d7:38:3e:65:45:08:6b:63:84:1c:ff:dc:ba";
const OTHER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
const OTHER_FINGERPRINT: &str = "05:6d:11:6f:aa:82:7f:17:e4:a2:92:09:ca:cf:9d:42";

async fn droplet(c: &mut Client, body: Value) -> (u64, String) {
    let created = c
        .ok(M::POST, "/v2/droplets", "/v2/droplets", Some(body))
        .await;
    let id = created["droplet"]["id"].as_u64().unwrap();
    (id, format!("/v2/droplets/{id}"))
}

async fn act(c: &mut Client, path: &str, body: Value) -> Value {
    c.ok(
        M::POST,
        "/v2/droplets/{droplet_id}/actions",
        &format!("{path}/actions"),
        Some(body),
    )
    .await
}

async fn act_status(c: &mut Client, path: &str, body: Value) -> u16 {
    c.status(
        M::POST,
        "/v2/droplets/{droplet_id}/actions",
        &format!("{path}/actions"),
        Some(body),
    )
    .await
    .0
}

async fn read_droplet(c: &mut Client, path: &str) -> Value {
    c.ok(M::GET, "/v2/droplets/{droplet_id}", path, None).await["droplet"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_keys_are_found_by_id_and_fingerprint_and_named_by_droplets() {
    let mut run = running().await;
    let c = &mut run.c;
    const ONE: &str = "/v2/account/keys/{ssh_key_identifier}";
    let created = c
        .ok(
            M::POST,
            "/v2/account/keys",
            "/v2/account/keys",
            Some(json!({"name": "ops", "public_key": KEY})),
        )
        .await;
    assert_eq!(created["ssh_key"]["fingerprint"], KEY_FINGERPRINT);
    let id = created["ssh_key"]["id"].as_u64().unwrap();
    let by_id = c
        .ok(M::GET, ONE, &format!("/v2/account/keys/{id}"), None)
        .await;
    assert_eq!(by_id["ssh_key"]["public_key"], KEY);
    let by_fingerprint = c
        .ok(
            M::GET,
            ONE,
            &format!("/v2/account/keys/{KEY_FINGERPRINT}"),
            None,
        )
        .await;
    assert_eq!(by_fingerprint["ssh_key"]["id"], id);
    let renamed = c
        .ok(
            M::PUT,
            ONE,
            &format!("/v2/account/keys/{KEY_FINGERPRINT}"),
            Some(json!({"name": "ops-renamed"})),
        )
        .await;
    assert_eq!(renamed["ssh_key"]["name"], "ops-renamed");
    let (status, _) = c
        .status(
            M::POST,
            "/v2/account/keys",
            "/v2/account/keys",
            Some(json!({"name": "again", "public_key": KEY})),
        )
        .await;
    assert_eq!(status, 422, "a key already on the account");
    for invalid in [
        "not a key",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
    ] {
        let (status, body) = c
            .status(
                M::POST,
                "/v2/account/keys",
                "/v2/account/keys",
                Some(json!({"name": "bad", "public_key": invalid})),
            )
            .await;
        assert_eq!(status, 422, "{invalid}: {body}");
    }
    let other = c
        .ok(
            M::POST,
            "/v2/account/keys",
            "/v2/account/keys",
            Some(json!({"name": "other", "public_key": OTHER_KEY})),
        )
        .await;
    assert_eq!(other["ssh_key"]["fingerprint"], OTHER_FINGERPRINT);
    let listed = c
        .ok(M::GET, "/v2/account/keys", "/v2/account/keys", None)
        .await;
    assert_eq!(listed["meta"]["total"], 2);

    // Droplets name keys by id or by fingerprint; an unknown one is a 422.
    let (droplet_id, droplet_path) = droplet(
        c,
        json!({"name": "keyed", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
               "ssh_keys": [id, OTHER_FINGERPRINT]}),
    )
    .await;
    let (status, _) = c
        .status(
            M::POST,
            "/v2/droplets",
            "/v2/droplets",
            Some(
                json!({"name": "unkeyed", "region": "nyc3", "size": "s-1vcpu-1gb",
                        "image": "ubuntu-24-04-x64", "ssh_keys": [1]}),
            ),
        )
        .await;
    assert_eq!(status, 422);
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &droplet_path, None)
        .await;
    assert!(droplet_id > 0);

    c.ok(M::DELETE, ONE, &format!("/v2/account/keys/{id}"), None)
        .await;
    c.ok(
        M::DELETE,
        ONE,
        &format!("/v2/account/keys/{OTHER_FINGERPRINT}"),
        None,
    )
    .await;
    let (status, _) = c
        .status(M::GET, ONE, &format!("/v2/account/keys/{id}"), None)
        .await;
    assert_eq!(status, 404);
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_found_by_slug_or_id_and_listed_by_type() {
    let mut run = running().await;
    let c = &mut run.c;
    const ONE: &str = "/v2/images/{image_id}";
    let by_slug = c.ok(M::GET, ONE, "/v2/images/ubuntu-22-04-x64", None).await;
    assert_eq!(by_slug["image"]["slug"], "ubuntu-22-04-x64");
    assert_eq!(by_slug["image"]["type"], "base");
    let id = by_slug["image"]["id"].as_u64().unwrap();
    let by_id = c.ok(M::GET, ONE, &format!("/v2/images/{id}"), None).await;
    assert_eq!(by_id["image"]["slug"], "ubuntu-22-04-x64");
    for missing in ["/v2/images/ubuntu-4-10-x64", "/v2/images/999999999"] {
        let (status, _) = c.status(M::GET, ONE, missing, None).await;
        assert_eq!(status, 404, "{missing}");
    }
    let distributions = c
        .ok(
            M::GET,
            "/v2/images",
            "/v2/images?type=distribution&per_page=200",
            None,
        )
        .await;
    let slugs: Vec<&str> = distributions["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|image| image["slug"].as_str())
        .collect();
    assert!(slugs.contains(&"ubuntu-22-04-x64"), "{slugs:?}");
    let applications = c
        .ok(M::GET, "/v2/images", "/v2/images?type=application", None)
        .await;
    assert_eq!(applications["meta"]["total"], 0);
    let private = c
        .ok(M::GET, "/v2/images", "/v2/images?private=true", None)
        .await;
    assert_eq!(private["meta"]["total"], 0, "no snapshots yet");
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn droplet_snapshots_and_backup_policies_follow_their_actions() {
    let mut run = running().await;
    let c = &mut run.c;
    let (id, path) = droplet(
        c,
        json!({"name": "backed", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
               "backups": true, "backup_policy": {"plan": "daily", "hour": 4}}),
    )
    .await;
    const POLICY: &str = "/v2/droplets/{droplet_id}/backups/policy";
    let policy = c
        .ok(M::GET, POLICY, &format!("{path}/backups/policy"), None)
        .await;
    assert_eq!(policy["policy"]["backup_enabled"], true);
    assert_eq!(policy["policy"]["backup_policy"]["plan"], "daily");
    assert_eq!(policy["policy"]["backup_policy"]["hour"], 4);
    // godo and the provider send `change_backup_policy`, which the description's action enum lacks: the
    // request is what they send, the response is checked.
    let changed = c
        .ok_as_sent(
            M::POST,
            "/v2/droplets/{droplet_id}/actions",
            &format!("{path}/actions"),
            json!({"type": "change_backup_policy", "backup_policy": {"plan": "weekly", "weekday": "TUE", "hour": 8}}),
        )
        .await;
    assert_eq!(changed["action"]["type"], "change_backup_policy");
    let policy = c
        .ok(M::GET, POLICY, &format!("{path}/backups/policy"), None)
        .await;
    assert_eq!(
        (
            &policy["policy"]["backup_policy"]["plan"],
            &policy["policy"]["backup_policy"]["weekday"],
            &policy["policy"]["backup_policy"]["hour"]
        ),
        (&json!("weekly"), &json!("TUE"), &json!(8))
    );
    assert_eq!(
        act_status(
            c,
            &path,
            json!({"type": "change_backup_policy", "backup_policy": {"plan": "weekly", "hour": 5}})
        )
        .await,
        422,
        "5 starts no backup window"
    );
    c.ok(
        M::GET,
        "/v2/droplets/backups/policies",
        "/v2/droplets/backups/policies",
        None,
    )
    .await;
    c.ok(
        M::GET,
        "/v2/droplets/backups/supported_policies",
        "/v2/droplets/backups/supported_policies",
        None,
    )
    .await;
    c.ok(
        M::GET,
        "/v2/droplets/{droplet_id}/backups",
        &format!("{path}/backups"),
        None,
    )
    .await;
    act(c, &path, json!({"type": "disable_backups"})).await;
    let policy = c
        .ok(M::GET, POLICY, &format!("{path}/backups/policy"), None)
        .await;
    assert_eq!(policy["policy"]["backup_enabled"], false);
    assert!(
        !read_droplet(c, &path).await["features"]
            .as_array()
            .unwrap()
            .contains(&json!("backups"))
    );
    act(c, &path, json!({"type": "enable_backups"})).await;
    let policy = c
        .ok(M::GET, POLICY, &format!("{path}/backups/policy"), None)
        .await;
    assert_eq!(
        policy["policy"]["backup_policy"]["plan"], "weekly",
        "the default plan"
    );

    // A snapshot: found among the droplet's by the action's start time, as the provider looks for it.
    let action = act(c, &path, json!({"type": "snapshot", "name": "backed-1"})).await;
    assert_eq!(action["action"]["type"], "snapshot");
    settle().await;
    let snapshots = c
        .ok(
            M::GET,
            "/v2/droplets/{droplet_id}/snapshots",
            &format!("{path}/snapshots"),
            None,
        )
        .await;
    let snapshot = &snapshots["snapshots"][0];
    assert_eq!(snapshot["name"], "backed-1");
    assert_eq!(snapshot["created_at"], action["action"]["started_at"]);
    assert_eq!(snapshot["min_disk_size"], 25);
    let snapshot_id = snapshot["id"].as_u64().unwrap();
    assert_eq!(
        read_droplet(c, &path).await["snapshot_ids"],
        json!([snapshot_id])
    );
    let listed = c
        .ok(
            M::GET,
            "/v2/snapshots",
            "/v2/snapshots?resource_type=droplet",
            None,
        )
        .await;
    assert_eq!(listed["snapshots"][0]["resource_id"], id.to_string());
    let volumes = c
        .ok(
            M::GET,
            "/v2/snapshots",
            "/v2/snapshots?resource_type=volume",
            None,
        )
        .await;
    assert_eq!(volumes["meta"]["total"], 0);
    let read = c
        .ok(
            M::GET,
            "/v2/snapshots/{snapshot_id}",
            &format!("/v2/snapshots/{snapshot_id}"),
            None,
        )
        .await;
    assert_eq!(read["snapshot"]["resource_type"], "droplet");
    let image = c
        .ok(
            M::GET,
            "/v2/images/{image_id}",
            &format!("/v2/images/{snapshot_id}"),
            None,
        )
        .await;
    assert_eq!(image["image"]["type"], "snapshot");
    let private = c
        .ok(M::GET, "/v2/images", "/v2/images?private=true", None)
        .await;
    assert_eq!(private["meta"]["total"], 1);

    // The snapshot outlives its droplet, until deleted.
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &path, None)
        .await;
    c.ok(
        M::GET,
        "/v2/snapshots/{snapshot_id}",
        &format!("/v2/snapshots/{snapshot_id}"),
        None,
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/snapshots/{snapshot_id}",
        &format!("/v2/snapshots/{snapshot_id}"),
        None,
    )
    .await;
    let (status, _) = c
        .status(
            M::GET,
            "/v2/snapshots/{snapshot_id}",
            &format!("/v2/snapshots/{snapshot_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resize_reports_its_disk_and_ipv6_gives_a_public_address() {
    let mut run = running().await;
    let c = &mut run.c;
    let (_, path) = droplet(
        c,
        json!({"name": "sized", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "ipv6": true}),
    )
    .await;
    let read = read_droplet(c, &path).await;
    let v6 = &read["networks"]["v6"][0];
    assert_eq!(v6["type"], "public", "{read}");
    let address: std::net::Ipv6Addr = v6["ip_address"].as_str().unwrap().parse().unwrap();
    assert_eq!(v6["ip_address"], address.to_string().to_lowercase());
    assert!(
        read["features"]
            .as_array()
            .unwrap()
            .contains(&json!("ipv6"))
    );

    act(c, &path, json!({"type": "power_off"})).await;
    act(
        c,
        &path,
        json!({"type": "resize", "size": "s-2vcpu-2gb", "disk": false}),
    )
    .await;
    let read = read_droplet(c, &path).await;
    assert_eq!(
        (&read["memory"], &read["vcpus"], &read["disk"]),
        (&json!(2048), &json!(2), &json!(25)),
        "without disk the disk stays"
    );
    act(
        c,
        &path,
        json!({"type": "resize", "size": "s-2vcpu-4gb", "disk": true}),
    )
    .await;
    let read = read_droplet(c, &path).await;
    assert_eq!(
        (
            &read["memory"],
            &read["vcpus"],
            &read["disk"],
            &read["size_slug"]
        ),
        (&json!(4096), &json!(2), &json!(80), &json!("s-2vcpu-4gb"))
    );
    assert_eq!(
        act_status(
            c,
            &path,
            json!({"type": "resize", "size": "s-1vcpu-2gb", "disk": false})
        )
        .await,
        422,
        "a grown disk cannot shrink"
    );
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &path, None)
        .await;

    let (_, plain) = droplet(
        c,
        json!({"name": "plain", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
    )
    .await;
    assert_eq!(read_droplet(c, &plain).await["networks"]["v6"], json!([]));
    act(c, &plain, json!({"type": "enable_ipv6"})).await;
    assert_eq!(
        read_droplet(c, &plain).await["networks"]["v6"][0]["type"],
        "public"
    );
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &plain, None)
        .await;
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_snapshots_are_listed_read_deleted_and_make_volumes() {
    let mut run = running().await;
    let c = &mut run.c;
    let volume = c
        .ok(
            M::POST,
            "/v2/volumes",
            "/v2/volumes",
            Some(json!({"name": "data", "region": "nyc3", "size_gigabytes": 20})),
        )
        .await;
    let volume_id = volume["volume"]["id"].as_str().unwrap().to_string();
    const SNAPSHOTS: &str = "/v2/volumes/{volume_id}/snapshots";
    let snapshots_path = format!("/v2/volumes/{volume_id}/snapshots");
    let created = c
        .ok(
            M::POST,
            SNAPSHOTS,
            &snapshots_path,
            Some(json!({"name": "data-1", "tags": ["nightly"]})),
        )
        .await;
    let snapshot = &created["snapshot"];
    assert_eq!(
        (
            &snapshot["resource_type"],
            &snapshot["resource_id"],
            &snapshot["min_disk_size"]
        ),
        (&json!("volume"), &json!(volume_id), &json!(20))
    );
    let id = snapshot["id"].as_str().unwrap().to_string();
    let (status, _) = c
        .status(M::POST, SNAPSHOTS, &snapshots_path, Some(json!({})))
        .await;
    assert_eq!(status, 422, "a volume snapshot needs a name");
    let listed = c.ok(M::GET, SNAPSHOTS, &snapshots_path, None).await;
    assert_eq!(listed["snapshots"][0]["id"], json!(id));
    let all = c
        .ok(
            M::GET,
            "/v2/snapshots",
            "/v2/snapshots?resource_type=volume",
            None,
        )
        .await;
    assert_eq!(all["meta"]["total"], 1);
    c.ok(
        M::GET,
        "/v2/volumes/snapshots/{snapshot_id}",
        &format!("/v2/volumes/snapshots/{id}"),
        None,
    )
    .await;
    c.ok(
        M::GET,
        "/v2/snapshots/{snapshot_id}",
        &format!("/v2/snapshots/{id}"),
        None,
    )
    .await;

    // A volume from the snapshot: in its region, at least its size.
    for (region, size) in [("sfo3", 20), ("nyc3", 10)] {
        let (status, body) = c
            .status(
                M::POST,
                "/v2/volumes",
                "/v2/volumes",
                Some(json!({"name": "restored", "region": region, "size_gigabytes": size, "snapshot_id": id})),
            )
            .await;
        assert_eq!(status, 422, "{region} {size}: {body}");
    }
    let restored = c
        .ok(
            M::POST,
            "/v2/volumes",
            "/v2/volumes",
            Some(json!({"name": "restored", "region": "nyc3", "size_gigabytes": 30, "snapshot_id": id})),
        )
        .await;
    let restored_id = restored["volume"]["id"].as_str().unwrap().to_string();

    // The snapshot outlives its volume, until deleted.
    for volume in [&volume_id, &restored_id] {
        c.ok(
            M::DELETE,
            "/v2/volumes/{volume_id}",
            &format!("/v2/volumes/{volume}"),
            None,
        )
        .await;
    }
    c.ok(
        M::DELETE,
        "/v2/volumes/snapshots/{snapshot_id}",
        &format!("/v2/volumes/snapshots/{id}"),
        None,
    )
    .await;
    let (status, _) = c
        .status(
            M::GET,
            "/v2/snapshots/{snapshot_id}",
            &format!("/v2/snapshots/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = c
        .status(
            M::POST,
            "/v2/volumes",
            "/v2/volumes",
            Some(json!({"name": "orphan", "region": "nyc3", "size_gigabytes": 30, "snapshot_id": id})),
        )
        .await;
    assert_eq!(status, 422, "a deleted snapshot makes no volume");
    run.finish().await;
}

/// The records of a domain, as (type, name, data).
async fn records(c: &mut Client, query: &str) -> Vec<(String, String, String)> {
    let listed = c
        .ok(
            M::GET,
            "/v2/domains/{domain_name}/records",
            &format!("/v2/domains/example.com/records{query}"),
            None,
        )
        .await;
    listed["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            let text = |key: &str| record[key].as_str().unwrap().to_string();
            (text("type"), text("name"), text("data"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_start_with_soa_and_ns_records_and_validate_records_by_type() {
    let mut run = running().await;
    let c = &mut run.c;
    const RECORDS: &str = "/v2/domains/{domain_name}/records";
    const RECORD: &str = "/v2/domains/{domain_name}/records/{domain_record_id}";
    let created = c
        .ok(
            M::POST,
            "/v2/domains",
            "/v2/domains",
            Some(json!({"name": "example.com", "ip_address": "192.0.2.1"})),
        )
        .await;
    assert_eq!(created["domain"]["name"], "example.com");
    let (status, _) = c
        .status(
            M::POST,
            "/v2/domains",
            "/v2/domains",
            Some(json!({"name": "example.com"})),
        )
        .await;
    assert_eq!(status, 422, "a domain already there");
    let (status, _) = c
        .status(
            M::POST,
            "/v2/domains",
            "/v2/domains",
            Some(json!({"name": "no_dots"})),
        )
        .await;
    assert_eq!(status, 422);
    let defaults = records(c, "").await;
    let expected: Vec<(String, String, String)> = [
        ("SOA", "@", "1800"),
        ("NS", "@", "ns1.digitalocean.com"),
        ("NS", "@", "ns2.digitalocean.com"),
        ("NS", "@", "ns3.digitalocean.com"),
        ("A", "@", "192.0.2.1"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(defaults, expected);
    let read = c
        .ok(
            M::GET,
            "/v2/domains/{domain_name}",
            "/v2/domains/example.com",
            None,
        )
        .await;
    assert_eq!(read["domain"]["ttl"], 1800);
    assert!(
        read["domain"]["zone_file"]
            .as_str()
            .unwrap()
            .contains("example.com. 1800 IN NS ns1.digitalocean.com.")
    );
    c.ok(M::GET, "/v2/domains", "/v2/domains", None).await;

    let path = "/v2/domains/example.com/records";
    let valid = [
        json!({"type": "A", "name": "www", "data": "192.0.2.2"}),
        json!({"type": "AAAA", "name": "www", "data": "2001:db8::2"}),
        json!({"type": "CNAME", "name": "docs.example.com.", "data": "www.example.com."}),
        json!({"type": "TXT", "name": "@", "data": "v=spf1 -all"}),
        json!({"type": "MX", "name": "@", "data": "mail.example.com.", "priority": 10}),
        json!({"type": "SRV", "name": "_sip._tcp", "data": "sip.example.com.", "priority": 1, "port": 5060, "weight": 5}),
        json!({"type": "CAA", "name": "@", "data": "letsencrypt.org.", "flags": 0, "tag": "issue"}),
        json!({"type": "NS", "name": "sub", "data": "ns1.other.net."}),
    ];
    let mut ids = Vec::new();
    for record in valid {
        let created = c.ok(M::POST, RECORDS, path, Some(record.clone())).await;
        assert_eq!(created["domain_record"]["ttl"], 1800, "{record}");
        ids.push(created["domain_record"]["id"].as_u64().unwrap());
    }
    let cname = c
        .ok(M::GET, RECORD, &format!("{path}/{}", ids[2]), None)
        .await;
    assert_eq!(
        (
            &cname["domain_record"]["name"],
            &cname["domain_record"]["data"]
        ),
        (&json!("docs"), &json!("www.example.com")),
        "names relative to the zone, hostnames without their final dot"
    );
    let invalid = [
        json!({"type": "A", "name": "bad", "data": "2001:db8::1"}),
        json!({"type": "AAAA", "name": "bad", "data": "192.0.2.1"}),
        json!({"type": "CNAME", "name": "www", "data": "elsewhere.example.net."}),
        json!({"type": "CNAME", "name": "@", "data": "elsewhere.example.net."}),
        json!({"type": "A", "name": "docs", "data": "192.0.2.7"}),
        json!({"type": "TXT", "name": "empty", "data": ""}),
        json!({"type": "MX", "name": "@", "data": "mail.example.com."}),
        json!({"type": "SRV", "name": "sip", "data": "sip.example.com.", "priority": 1, "port": 5060, "weight": 5}),
        json!({"type": "SRV", "name": "_sip._tcp", "data": "sip.example.com.", "priority": 1, "weight": 5}),
        json!({"type": "CAA", "name": "@", "data": "letsencrypt.org.", "flags": 0, "tag": "allow"}),
        json!({"type": "SOA", "name": "@", "data": "1800"}),
        json!({"type": "A", "name": "short", "data": "192.0.2.3", "ttl": 10}),
    ];
    for record in invalid {
        let (status, body) = c.status(M::POST, RECORDS, path, Some(record.clone())).await;
        assert_eq!(status, 422, "{record}: {body}");
    }
    assert_eq!(
        records(c, "?type=A&name=www.example.com").await,
        [("A".to_string(), "www".to_string(), "192.0.2.2".to_string())]
    );
    let updated = c
        .ok(
            M::PUT,
            RECORD,
            &format!("{path}/{}", ids[0]),
            Some(json!({"type": "A", "name": "www", "data": "192.0.2.9", "ttl": 300})),
        )
        .await;
    assert_eq!(updated["domain_record"]["data"], "192.0.2.9");
    let patched = c
        .ok(
            M::PATCH,
            RECORD,
            &format!("{path}/{}", ids[0]),
            Some(json!({"type": "A", "ttl": 600})),
        )
        .await;
    assert_eq!(
        (
            &patched["domain_record"]["data"],
            &patched["domain_record"]["ttl"]
        ),
        (&json!("192.0.2.9"), &json!(600))
    );
    c.ok(M::DELETE, RECORD, &format!("{path}/{}", ids[0]), None)
        .await;
    let (status, _) = c
        .status(M::GET, RECORD, &format!("{path}/{}", ids[0]), None)
        .await;
    assert_eq!(status, 404);

    // Projects take domains that exist, and forget them when they go.
    let project = c
        .ok(
            M::GET,
            "/v2/projects/{project_id}",
            "/v2/projects/default",
            None,
        )
        .await;
    let resources = format!(
        "/v2/projects/{}/resources",
        project["project"]["id"].as_str().unwrap()
    );
    let missing = c
        .ok(
            M::POST,
            "/v2/projects/{project_id}/resources",
            &resources,
            Some(json!({"resources": ["do:domain:missing.example.org"]})),
        )
        .await;
    assert!(
        missing["resources"]
            .as_array()
            .unwrap()
            .contains(&json!({"urn": "do:domain:missing.example.org", "status": "not_found"})),
        "a domain the account does not have is reported, not assigned: {missing}"
    );
    c.ok(
        M::POST,
        "/v2/projects/{project_id}/resources",
        &resources,
        Some(json!({"resources": ["do:domain:example.com"]})),
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/domains/{domain_name}",
        "/v2/domains/example.com",
        None,
    )
    .await;
    let (status, _) = c
        .status(
            M::GET,
            "/v2/domains/{domain_name}",
            "/v2/domains/example.com",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = c.status(M::GET, RECORDS, path, None).await;
    assert_eq!(status, 404);
    let left = c
        .ok(
            M::GET,
            "/v2/projects/{project_id}/resources",
            &resources,
            None,
        )
        .await;
    assert!(
        !left.to_string().contains("do:domain:example.com"),
        "{left}"
    );
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_subnets_hold_a_clusters_isolated_workers_and_newer_options_read_back() {
    let mut run = running().await;
    let c = &mut run.c;
    let vpc = c
        .ok(
            M::POST,
            "/v2/vpcs",
            "/v2/vpcs",
            Some(json!({"name": "subnetted", "region": "nyc3", "ip_range": "10.40.0.0/16"})),
        )
        .await;
    let vpc_id = vpc["vpc"]["id"].as_str().unwrap().to_string();
    let subnets = format!("/v2/vpcs/{vpc_id}/subnets");
    let (status, workers) = c
        .off_contract(
            M::POST,
            &subnets,
            Some(json!({"name": "workers", "ip_range": "10.40.8.0/22"})),
        )
        .await;
    assert_eq!(status, 201, "{workers}");
    let subnet = &workers["vpc_subnet"];
    assert_eq!(
        (&subnet["vpc_id"], &subnet["ip_range"], &subnet["region"]),
        (&json!(vpc_id), &json!("10.40.8.0/22"), &json!("nyc3"))
    );
    let subnet_id = subnet["id"].as_str().unwrap().to_string();
    let (status, automatic) = c
        .off_contract(M::POST, &subnets, Some(json!({"name": "automatic"})))
        .await;
    assert_eq!(
        (status, &automatic["vpc_subnet"]["ip_range"]),
        (201, &json!("10.40.0.0/24"))
    );
    for (range, why) in [
        ("10.40.9.0/24", "overlaps workers"),
        ("10.41.0.0/24", "outside the VPC"),
    ] {
        let (status, body) = c
            .off_contract(
                M::POST,
                &subnets,
                Some(json!({"name": "bad", "ip_range": range})),
            )
            .await;
        assert_eq!(status, 422, "{why}: {body}");
    }
    let (status, listed) = c.off_contract(M::GET, &subnets, None).await;
    assert_eq!((status, listed["meta"]["total"].as_u64()), (200, Some(2)));
    let (status, renamed) = c
        .off_contract(
            M::PATCH,
            &format!("{subnets}/{subnet_id}"),
            Some(json!({"name": "pool-workers"})),
        )
        .await;
    assert_eq!(
        (status, &renamed["vpc_subnet"]["name"]),
        (200, &json!("pool-workers"))
    );
    let (status, _) = c
        .off_contract(
            M::GET,
            &format!("/v2/vpcs/{vpc_id}/subnets/not-a-subnet"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // A cluster in the subnet, with isolated workers and the newer options, reads all of them back.
    let cluster = c
        .ok(
            M::POST,
            "/v2/kubernetes/clusters",
            "/v2/kubernetes/clusters",
            Some(json!({
                "name": "isolated", "region": "nyc3", "version": "1.33.1-do.2", "vpc_uuid": vpc_id,
                "worker_subnet_uuid": subnet_id, "isolated_workers": true,
                "routing_agent": {"enabled": true},
                "nvidia_gpu_device_plugin": {"enabled": true},
                "amd_gpu_device_plugin": {"enabled": false},
                "cluster_autoscaler_configuration": {"scale_down_utilization_threshold": 0.5, "scale_down_unneeded_time": "1m"},
                "control_plane_firewall": {"enabled": true, "allowed_addresses": ["203.0.113.0/24"]},
                "node_pools": [{"name": "default", "size": "s-1vcpu-2gb", "count": 1}],
            })),
        )
        .await;
    let id = cluster["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v2/kubernetes/clusters/{id}");
    let read = c
        .ok(M::GET, "/v2/kubernetes/clusters/{cluster_id}", &path, None)
        .await;
    let read = &read["kubernetes_cluster"];
    assert_eq!(read["worker_subnet_uuid"], json!(subnet_id), "{read}");
    assert_eq!(read["isolated_workers"], true);
    assert_eq!(read["routing_agent"]["enabled"], true);
    assert_eq!(read["nvidia_gpu_device_plugin"]["enabled"], true);
    assert_eq!(read["amd_gpu_device_plugin"]["enabled"], false);
    assert_eq!(
        read["cluster_autoscaler_configuration"]["scale_down_unneeded_time"],
        "1m"
    );
    assert_eq!(
        read["control_plane_firewall"]["allowed_addresses"],
        json!(["203.0.113.0/24"])
    );
    let (status, body) = c
        .status(
            M::POST,
            "/v2/kubernetes/clusters",
            "/v2/kubernetes/clusters",
            Some(json!({
                "name": "stray", "region": "nyc3", "version": "1.33.1-do.2",
                "worker_subnet_uuid": subnet_id,
                "node_pools": [{"name": "default", "size": "s-1vcpu-2gb", "count": 1}],
            })),
        )
        .await;
    assert_eq!(status, 422, "a worker subnet without its VPC: {body}");
    let (status, _) = c
        .off_contract(M::DELETE, &format!("{subnets}/{subnet_id}"), None)
        .await;
    assert_eq!(status, 422, "the cluster's workers are in it");
    let (status, _) = c
        .status(
            M::DELETE,
            "/v2/vpcs/{vpc_id}",
            &format!("/v2/vpcs/{vpc_id}"),
            None,
        )
        .await;
    assert_eq!(status, 422, "the VPC has subnets and a cluster");
    c.ok(
        M::DELETE,
        "/v2/kubernetes/clusters/{cluster_id}",
        &path,
        None,
    )
    .await;
    for subnet in [&subnet_id, automatic["vpc_subnet"]["id"].as_str().unwrap()] {
        let (status, _) = c
            .off_contract(M::DELETE, &format!("{subnets}/{subnet}"), None)
            .await;
        assert_eq!(status, 204);
    }
    c.ok(
        M::DELETE,
        "/v2/vpcs/{vpc_id}",
        &format!("/v2/vpcs/{vpc_id}"),
        None,
    )
    .await;
    run.finish().await;
}

/// A global load balancer forwards by its `glb_settings` to the regional ones behind it: it is created without
/// forwarding rules (the provider sends none; they conflict with `glb_settings`) and reads none back, with its
/// settings, domains, health check and targets as created. DigitalOcean's description requires forwarding
/// rules on every load balancer, so these exchanges are left out of the contract check. A dual-stack regional
/// one reads back an IPv6 address beside its IPv4 one, and a health check given in part takes DigitalOcean's
/// documented defaults for the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_load_balancers_need_no_rules_health_checks_take_defaults_dual_stack_has_ipv6() {
    let mut run = running().await;
    let c = &mut run.c;
    let (droplet_id, _) = droplet(
        c,
        json!({"name": "web", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
    )
    .await;
    let regional = c
        .ok(
            M::POST,
            "/v2/load_balancers",
            "/v2/load_balancers",
            Some(json!({
                "name": "regional", "region": "nyc3", "size_unit": 1, "network_stack": "DUALSTACK",
                "droplet_ids": [droplet_id], "health_check": {"protocol": "tcp", "port": 22},
                "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}],
            })),
        )
        .await;
    let regional_id = regional["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let regional_path = format!("/v2/load_balancers/{regional_id}");
    let read = c
        .ok(M::GET, "/v2/load_balancers/{lb_id}", &regional_path, None)
        .await;
    let ipv6 = read["load_balancer"]["ipv6"].as_str().unwrap();
    assert!(
        ipv6.parse::<std::net::Ipv6Addr>().is_ok(),
        "a dual-stack load balancer has an IPv6 address: {read}"
    );
    assert_eq!(
        read["load_balancer"]["health_check"],
        json!({
            "protocol": "tcp", "port": 22, "path": "/", "check_interval_seconds": 10,
            "response_timeout_seconds": 5, "unhealthy_threshold": 5, "healthy_threshold": 3,
        })
    );

    let settings = json!({
        "target_protocol": "http", "target_port": 80, "cdn": {"is_enabled": true},
        "region_priorities": {"nyc3": 1}, "failover_threshold": 50,
    });
    let domains = json!([{"name": "app.example.com", "is_managed": false}]);
    let (status, created) = c
        .off_contract(
            M::POST,
            "/v2/load_balancers",
            Some(json!({
                "name": "global", "type": "GLOBAL", "glb_settings": settings, "domains": domains,
                "health_check": {"protocol": "http", "port": 80, "path": "/"},
                "target_load_balancer_ids": [regional_id],
            })),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let global_path = format!(
        "/v2/load_balancers/{}",
        created["load_balancer"]["id"].as_str().unwrap()
    );
    let (status, read) = c.off_contract(M::GET, &global_path, None).await;
    assert_eq!(status, 200, "{read}");
    let global = &read["load_balancer"];
    assert_eq!(global["type"], "GLOBAL", "{global}");
    assert_eq!(global["forwarding_rules"], json!([]), "{global}");
    assert_eq!(global["glb_settings"], settings, "{global}");
    assert_eq!(global["domains"][0]["name"], "app.example.com", "{global}");
    assert_eq!(global["target_load_balancer_ids"], json!([regional_id]));
    assert_eq!(global["health_check"]["path"], "/", "{global}");
    assert_eq!(
        global["ipv6"], "",
        "an IPv4-only load balancer has no IPv6 address"
    );
    let (status, _) = c.off_contract(M::DELETE, &global_path, None).await;
    assert_eq!(status, 204);

    let (status, body) = c
        .status(
            M::POST,
            "/v2/load_balancers",
            "/v2/load_balancers",
            Some(json!({"name": "ruleless", "region": "nyc3", "size_unit": 1})),
        )
        .await;
    assert_eq!(
        status, 422,
        "a regional load balancer still needs forwarding rules: {body}"
    );
    c.ok(
        M::DELETE,
        "/v2/load_balancers/{lb_id}",
        &regional_path,
        None,
    )
    .await;
    run.finish().await;
}

/// Assigning resources answers with every resource the project holds. A resource deleted before it is moved
/// (the provider moves a project's resources back to the default project while it destroys them) is reported
/// `not_found` and the rest are moved, rather than the whole request refused; a URN that is not
/// `do:<type>:<id>` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigning_a_deleted_resource_reports_it_not_found_and_moves_the_rest() {
    let mut run = running().await;
    let c = &mut run.c;
    const ASSIGN: &str = "/v2/projects/{project_id}/resources";
    let project = c
        .ok(
            M::POST,
            "/v2/projects",
            "/v2/projects",
            Some(json!({"name": "platform", "purpose": "Web Application"})),
        )
        .await;
    let resources = format!(
        "/v2/projects/{}/resources",
        project["project"]["id"].as_str().unwrap()
    );
    let (kept, _) = droplet(
        c,
        json!({"name": "kept", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
    )
    .await;
    let (gone, gone_path) = droplet(
        c,
        json!({"name": "gone", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
    )
    .await;
    let volume = c
        .ok(
            M::POST,
            "/v2/volumes",
            "/v2/volumes",
            Some(json!({"name": "data", "region": "nyc3", "size_gigabytes": 10})),
        )
        .await;
    let volume_urn = format!("do:volume:{}", volume["volume"]["id"].as_str().unwrap());
    let assigned = c
        .ok(
            M::POST,
            ASSIGN,
            &resources,
            Some(
                json!({"resources": [format!("do:droplet:{kept}"), format!("do:droplet:{gone}")]}),
            ),
        )
        .await;
    assert_eq!(assigned["resources"].as_array().unwrap().len(), 2);
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &gone_path, None)
        .await;
    settle().await;

    let moved = c
        .ok(
            M::POST,
            ASSIGN,
            "/v2/projects/default/resources",
            Some(json!({"resources": [format!("do:droplet:{gone}"), volume_urn.clone()]})),
        )
        .await;
    let status_of = |urn: &str| {
        moved["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|resource| resource["urn"] == urn)
            .map(|resource| resource["status"].clone())
    };
    assert_eq!(
        status_of(&format!("do:droplet:{gone}")),
        Some(json!("not_found")),
        "{moved}"
    );
    assert_eq!(status_of(&volume_urn), Some(json!("ok")), "{moved}");
    assert_eq!(
        status_of(&format!("do:droplet:{kept}")),
        None,
        "the answer lists the default project's resources: {moved}"
    );
    let listed = c.ok(M::GET, ASSIGN, &resources, None).await;
    assert_eq!(
        listed["resources"],
        json!([assigned["resources"][0].clone()]),
        "the deleted droplet left the project"
    );
    let (status, body) = c
        .status(
            M::POST,
            ASSIGN,
            &resources,
            Some(json!({"resources": [format!("droplet:{kept}")]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    run.finish().await;
}

/// A cluster update as the provider sends it: every add-on the configuration leaves unset as
/// `{"enabled": null}` and the autoscaler configuration with every member `null` (godo's fields have no
/// `omitempty`). DigitalOcean takes these as "not asked for": the update changes what it names and keeps the
/// add-ons the cluster has, and a cluster without an autoscaler configuration still reads none back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_update_with_null_add_ons_keeps_what_the_cluster_has() {
    let mut run = running().await;
    let c = &mut run.c;
    const ONE: &str = "/v2/kubernetes/clusters/{cluster_id}";
    let cluster = c
        .ok(
            M::POST,
            "/v2/kubernetes/clusters",
            "/v2/kubernetes/clusters",
            Some(json!({
                "name": "platform", "region": "nyc3", "version": "1.33.1-do.2",
                "routing_agent": {"enabled": true},
                "node_pools": [{"name": "default", "size": "s-1vcpu-2gb", "count": 1}],
            })),
        )
        .await;
    let path = format!(
        "/v2/kubernetes/clusters/{}",
        cluster["kubernetes_cluster"]["id"].as_str().unwrap()
    );
    let unset = json!({"enabled": null});
    let updated = c
        .ok_as_sent(
            M::PUT,
            ONE,
            &path,
            json!({
                "name": "platform", "tags": ["edge"], "surge_upgrade": true,
                "maintenance_policy": {"start_time": "03:00", "day": "monday"},
                "control_plane_firewall": {"enabled": null, "allowed_addresses": null},
                "cluster_autoscaler_configuration": {
                    "scale_down_utilization_threshold": null, "scale_down_unneeded_time": null, "expanders": null,
                },
                "routing_agent": unset, "amd_gpu_device_plugin": unset,
                "amd_gpu_device_metrics_exporter_plugin": unset, "nvidia_gpu_device_plugin": unset,
                "nvidia_gpu_dra_driver": unset, "amd_gpu_dra_driver": unset, "rdma_shared_dev_plugin": unset,
                "coredns_autoscaler": unset, "p2p_oci_registry_plugin": unset,
            }),
        )
        .await;
    for read in [updated, c.ok(M::GET, ONE, &path, None).await] {
        let cluster = &read["kubernetes_cluster"];
        assert_eq!(cluster["surge_upgrade"], true, "{cluster}");
        assert_eq!(cluster["maintenance_policy"]["day"], "monday", "{cluster}");
        assert_eq!(
            cluster["routing_agent"],
            json!({"enabled": true}),
            "{cluster}"
        );
        assert!(
            cluster
                .get("cluster_autoscaler_configuration")
                .is_none_or(Value::is_null),
            "no autoscaler configuration was asked for: {cluster}"
        );
        assert!(
            cluster
                .get("amd_gpu_device_plugin")
                .is_none_or(Value::is_null),
            "{cluster}"
        );
    }
    c.ok(M::DELETE, ONE, &path, None).await;
    run.finish().await;
}
