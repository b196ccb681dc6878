//! The sandbox against DigitalOcean's own contract: every response it gives, and every request body it accepts,
//! validates against the schema `openapi-v2.json` gives for that path, method and status. The exchanges cover
//! every endpoint the sandbox serves, in success and error cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use jsonschema::{Draft, Validator};
use reqwest::Method;
use serde_json::{Value, json};
use wildside_sandbox::{self as sandbox, ClusterOptions, FaultSpec, ServeOptions};

/// DigitalOcean's OpenAPI description, beside the repository (a missing file fails the test, never skips it).
fn openapi() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/digitalocean-api/openapi-v2.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "the contract test needs {} ({error}); it ships in ../shared/reference",
            path.display()
        )
    });
    let mut document: Value = serde_json::from_str(&text).expect("openapi-v2.json is JSON");
    nullable_to_json_schema(&mut document);
    document
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema terms: the schema, or null.
fn nullable_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for child in object.values_mut() {
                nullable_to_json_schema(child);
            }
            if object.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(object));
                object.insert("anyOf".into(), json!([{"type": "null"}, inner]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

fn escape(segment: &str) -> String {
    segment
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// One request and its answer.
struct Exchange {
    method: Method,
    template: &'static str,
    status: u16,
    request: Option<Value>,
    response: Option<Value>,
    content_type: String,
}

struct Contract {
    document: Value,
    validators: BTreeMap<String, Validator>,
    failures: Vec<String>,
    covered: BTreeSet<(String, &'static str)>,
}

impl Contract {
    fn new() -> Self {
        Self {
            document: openapi(),
            validators: BTreeMap::new(),
            failures: Vec::new(),
            covered: BTreeSet::new(),
        }
    }

    fn lookup(&self, pointer: &[String]) -> Option<&Value> {
        pointer
            .iter()
            .try_fold(&self.document, |value, key| value.get(key))
    }

    /// Follows `$ref`s from `pointer` to the object they name.
    fn resolve(&self, mut pointer: Vec<String>) -> Option<Vec<String>> {
        for _ in 0..10 {
            let value = self.lookup(&pointer)?;
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    pointer = reference
                        .trim_start_matches("#/")
                        .split('/')
                        .map(|part| part.replace("~1", "/").replace("~0", "~"))
                        .collect();
                }
                None => return Some(pointer),
            }
        }
        None
    }

    fn validate(&mut self, pointer: Vec<String>, instance: &Value, what: &str) {
        let key = pointer.join("/");
        if !self.validators.contains_key(&key) {
            let mut root = self.document.clone();
            let reference = format!(
                "#/{}",
                pointer
                    .iter()
                    .map(|part| escape(part))
                    .collect::<Vec<_>>()
                    .join("/")
            );
            root["$ref"] = Value::String(reference);
            let validator = jsonschema::options()
                .with_draft(Draft::Draft4)
                .should_validate_formats(false)
                .build(&root)
                .unwrap_or_else(|error| panic!("schema {key} does not compile: {error}"));
            self.validators.insert(key.clone(), validator);
        }
        let errors: Vec<String> = self.validators[&key]
            .iter_errors(instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        if !errors.is_empty() {
            self.failures.push(format!(
                "{what} does not match {key}:\n    {}\n    instance: {}",
                errors.join("\n    "),
                instance
            ));
        }
    }

    fn check(&mut self, exchange: Exchange) {
        let method = exchange.method.as_str().to_lowercase();
        let what = format!(
            "{} {} → {}",
            exchange.method, exchange.template, exchange.status
        );
        let operation = vec![
            "paths".to_string(),
            exchange.template.to_string(),
            method.clone(),
        ];
        if self.lookup(&operation).is_none() {
            self.failures
                .push(format!("{what}: no such operation in openapi-v2.json"));
            return;
        }
        self.covered.insert((method, exchange.template));
        if let Some(request) = &exchange.request
            && (200..300).contains(&exchange.status)
        {
            let mut body = operation.clone();
            body.push("requestBody".into());
            match self.resolve(body) {
                Some(mut pointer) => {
                    pointer.extend(["content".into(), "application/json".into(), "schema".into()]);
                    self.validate(pointer, request, &format!("{what} request"));
                }
                None => self
                    .failures
                    .push(format!("{what}: the operation takes no request body")),
            }
        }
        let mut response = operation;
        response.push("responses".into());
        let status = exchange.status.to_string();
        let declared = self.lookup(&response).and_then(|responses| {
            if responses.get(&status).is_some() {
                Some(status.clone())
            } else if responses.get("default").is_some() {
                Some("default".into())
            } else {
                None
            }
        });
        let Some(declared) = declared else {
            self.failures
                .push(format!("{what}: status {status} is not declared"));
            return;
        };
        response.push(declared);
        let response = self.resolve(response).expect("declared responses resolve");
        let content = self
            .lookup(&response)
            .and_then(|response| response.get("content"))
            .cloned();
        match (content, exchange.response) {
            (None, None) => {}
            (None, Some(body)) => self
                .failures
                .push(format!("{what}: the contract declares no body, got {body}")),
            (Some(content), body) => {
                let media = exchange
                    .content_type
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                if content.get(&media).is_none() {
                    self.failures.push(format!(
                        "{what}: content type {media} is not declared ({:?})",
                        content
                            .as_object()
                            .map(|object| object.keys().collect::<Vec<_>>())
                    ));
                    return;
                }
                if media == "application/json" {
                    let mut pointer = response;
                    pointer.extend(["content".into(), media, "schema".into()]);
                    self.validate(
                        pointer,
                        &body.unwrap_or(Value::Null),
                        &format!("{what} response"),
                    );
                }
            }
        }
    }
}

/// A client of the in-process sandbox that records every exchange for the contract.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    pub(crate) token: Option<&'static str>,
    exchanges: Vec<Exchange>,
}

impl Client {
    async fn call(
        &mut self,
        method: Method,
        template: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.unwrap();
        let parsed = if content_type.starts_with("application/json") {
            Some(
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: JSON body: {text}")),
            )
        } else if text.is_empty() {
            None
        } else {
            Some(Value::String(text))
        };
        self.exchanges.push(Exchange {
            method,
            template,
            status,
            request: body,
            response: parsed.clone(),
            content_type,
        });
        (status, parsed.unwrap_or(Value::Null))
    }

    pub(crate) async fn ok(
        &mut self,
        method: Method,
        template: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self.call(method.clone(), template, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} gave {status}: {value}"
        );
        value
    }

    /// As `ok`, for a request body the real provider sends though the description does not allow it (an empty
    /// string for an enum): the response is still checked, the request is not.
    pub(crate) async fn ok_as_sent(
        &mut self,
        method: Method,
        template: &'static str,
        path: &str,
        body: Value,
    ) -> Value {
        let value = self.ok(method, template, path, Some(body)).await;
        self.exchanges.last_mut().expect("just recorded").request = None;
        value
    }

    /// A call to a path DigitalOcean's description does not document yet (VPC subnets, which godo calls): made
    /// and answered like any other, but left out of the contract check.
    pub(crate) async fn off_contract(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let answer = self.call(method, "", path, body).await;
        self.exchanges.pop();
        answer
    }

    pub(crate) async fn status(
        &mut self,
        method: Method,
        template: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call(method, template, path, body).await
    }
}

/// A self-signed certificate and its key, made by openssl-free means: the sandbox parses the certificate.
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["vault.sandbox.test".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(60)).await;
}

/// Every path and method the sandbox serves, as the contract names them.
const SERVED: &[(&str, &str)] = &[
    ("get", "/v2/account"),
    ("get", "/v2/regions"),
    ("get", "/v2/sizes"),
    ("get", "/v2/actions"),
    ("get", "/v2/actions/{action_id}"),
    ("get", "/v2/vpcs"),
    ("post", "/v2/vpcs"),
    ("get", "/v2/vpcs/{vpc_id}"),
    ("put", "/v2/vpcs/{vpc_id}"),
    ("patch", "/v2/vpcs/{vpc_id}"),
    ("delete", "/v2/vpcs/{vpc_id}"),
    ("get", "/v2/vpcs/{vpc_id}/members"),
    ("get", "/v2/kubernetes/options"),
    ("get", "/v2/kubernetes/clusters"),
    ("post", "/v2/kubernetes/clusters"),
    ("get", "/v2/kubernetes/clusters/{cluster_id}"),
    ("put", "/v2/kubernetes/clusters/{cluster_id}"),
    ("delete", "/v2/kubernetes/clusters/{cluster_id}"),
    (
        "get",
        "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources",
    ),
    (
        "delete",
        "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/selective",
    ),
    (
        "delete",
        "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/dangerous",
    ),
    ("get", "/v2/kubernetes/clusters/{cluster_id}/kubeconfig"),
    ("get", "/v2/kubernetes/clusters/{cluster_id}/credentials"),
    ("get", "/v2/kubernetes/clusters/{cluster_id}/upgrades"),
    ("post", "/v2/kubernetes/clusters/{cluster_id}/upgrade"),
    ("get", "/v2/kubernetes/clusters/{cluster_id}/node_pools"),
    ("post", "/v2/kubernetes/clusters/{cluster_id}/node_pools"),
    (
        "get",
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
    ),
    (
        "put",
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
    ),
    (
        "delete",
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
    ),
    (
        "delete",
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}/nodes/{node_id}",
    ),
    (
        "post",
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}/recycle",
    ),
    ("get", "/v2/droplets"),
    ("post", "/v2/droplets"),
    ("get", "/v2/droplets/{droplet_id}"),
    ("delete", "/v2/droplets/{droplet_id}"),
    ("get", "/v2/droplets/{droplet_id}/actions"),
    ("post", "/v2/droplets/{droplet_id}/actions"),
    ("get", "/v2/droplets/{droplet_id}/actions/{action_id}"),
    ("get", "/v2/volumes"),
    ("post", "/v2/volumes"),
    ("post", "/v2/volumes/actions"),
    ("get", "/v2/volumes/{volume_id}"),
    ("delete", "/v2/volumes/{volume_id}"),
    ("get", "/v2/volumes/{volume_id}/actions"),
    ("post", "/v2/volumes/{volume_id}/actions"),
    ("get", "/v2/volumes/{volume_id}/actions/{action_id}"),
    ("get", "/v2/firewalls"),
    ("post", "/v2/firewalls"),
    ("get", "/v2/firewalls/{firewall_id}"),
    ("put", "/v2/firewalls/{firewall_id}"),
    ("delete", "/v2/firewalls/{firewall_id}"),
    ("post", "/v2/firewalls/{firewall_id}/droplets"),
    ("delete", "/v2/firewalls/{firewall_id}/droplets"),
    ("post", "/v2/firewalls/{firewall_id}/tags"),
    ("delete", "/v2/firewalls/{firewall_id}/tags"),
    ("post", "/v2/firewalls/{firewall_id}/rules"),
    ("delete", "/v2/firewalls/{firewall_id}/rules"),
    ("get", "/v2/load_balancers"),
    ("post", "/v2/load_balancers"),
    ("get", "/v2/load_balancers/{lb_id}"),
    ("put", "/v2/load_balancers/{lb_id}"),
    ("delete", "/v2/load_balancers/{lb_id}"),
    ("post", "/v2/load_balancers/{lb_id}/droplets"),
    ("delete", "/v2/load_balancers/{lb_id}/droplets"),
    ("post", "/v2/load_balancers/{lb_id}/forwarding_rules"),
    ("delete", "/v2/load_balancers/{lb_id}/forwarding_rules"),
    ("get", "/v2/certificates"),
    ("post", "/v2/certificates"),
    ("get", "/v2/certificates/{certificate_id}"),
    ("delete", "/v2/certificates/{certificate_id}"),
    ("get", "/v2/projects"),
    ("post", "/v2/projects"),
    ("get", "/v2/projects/{project_id}"),
    ("put", "/v2/projects/{project_id}"),
    ("patch", "/v2/projects/{project_id}"),
    ("delete", "/v2/projects/{project_id}"),
    ("get", "/v2/projects/{project_id}/resources"),
    ("post", "/v2/projects/{project_id}/resources"),
    ("get", "/v2/tags"),
    ("post", "/v2/tags"),
    ("get", "/v2/tags/{tag_id}"),
    ("delete", "/v2/tags/{tag_id}"),
    ("post", "/v2/tags/{tag_id}/resources"),
    ("delete", "/v2/tags/{tag_id}/resources"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exchange_matches_the_openapi_contract() {
    let bound = sandbox::bind(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state_file: None,
        delay: Duration::from_millis(50),
        faults: FaultSpec::default(),
        read_tokens: Vec::new(),
        clusters: ClusterOptions {
            simulated: true,
            ..ClusterOptions::default()
        },
    })
    .await
    .unwrap();
    let base = bound.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.serve(async {
        let _ = stopped.await;
    }));
    let mut c = Client {
        http: reqwest::Client::new(),
        base,
        token: Some("contract-test"),
        exchanges: Vec::new(),
    };
    use Method as M;

    // Account and catalogue.
    c.ok(M::GET, "/v2/account", "/v2/account", None).await;
    c.ok(M::GET, "/v2/regions", "/v2/regions", None).await;
    let sizes = c
        .ok(M::GET, "/v2/sizes", "/v2/sizes?per_page=4&page=2", None)
        .await;
    assert_eq!(sizes["sizes"].as_array().unwrap().len(), 4);
    assert!(
        sizes["links"]["pages"]["next"]
            .as_str()
            .unwrap()
            .contains("page=3")
    );
    assert!(sizes["meta"]["total"].as_u64().unwrap() > 8);
    c.ok(
        M::GET,
        "/v2/kubernetes/options",
        "/v2/kubernetes/options",
        None,
    )
    .await;

    // VPCs.
    let vpc = c
        .ok(M::POST, "/v2/vpcs", "/v2/vpcs", Some(json!({"name": "contract", "region": "nyc3", "ip_range": "10.30.0.0/16", "description": "contract"})))
        .await;
    let vpc_id = vpc["vpc"]["id"].as_str().unwrap().to_string();
    let vpc_path = format!("/v2/vpcs/{vpc_id}");
    c.ok(M::GET, "/v2/vpcs", "/v2/vpcs", None).await;
    c.ok(M::GET, "/v2/vpcs/{vpc_id}", &vpc_path, None).await;
    c.ok(
        M::PUT,
        "/v2/vpcs/{vpc_id}",
        &vpc_path,
        Some(json!({"name": "contract", "description": "renamed"})),
    )
    .await;
    c.ok(
        M::PATCH,
        "/v2/vpcs/{vpc_id}",
        &vpc_path,
        Some(json!({"description": "patched"})),
    )
    .await;

    // Kubernetes.
    let versions = c
        .ok(
            M::GET,
            "/v2/kubernetes/options",
            "/v2/kubernetes/options",
            None,
        )
        .await;
    let version = versions["options"]["versions"][1]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster = c
        .ok(M::POST, "/v2/kubernetes/clusters", "/v2/kubernetes/clusters", Some(json!({
            "name": "contract", "region": "nyc3", "version": version, "vpc_uuid": vpc_id,
            "tags": ["contract"], "ha": true, "surge_upgrade": true, "auto_upgrade": false,
            "maintenance_policy": {"day": "sunday", "start_time": "03:00"},
            "node_pools": [{"name": "core", "size": "s-2vcpu-4gb", "count": 2, "tags": ["terraform:default-node-pool"],
                            "labels": {"role": "core"}, "taints": [{"key": "dedicated", "value": "core", "effect": "NoSchedule"}]}],
        })))
        .await;
    let cluster_id = cluster["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        cluster["kubernetes_cluster"]["status"]["state"],
        "provisioning"
    );
    let cluster_path = format!("/v2/kubernetes/clusters/{cluster_id}");
    settle().await;
    let running = c
        .ok(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}",
            &cluster_path,
            None,
        )
        .await;
    assert_eq!(running["kubernetes_cluster"]["status"]["state"], "running");
    c.ok(
        M::GET,
        "/v2/kubernetes/clusters",
        "/v2/kubernetes/clusters",
        None,
    )
    .await;
    c.ok(
        M::PUT,
        "/v2/kubernetes/clusters/{cluster_id}",
        &cluster_path,
        Some(json!({"name": "contract", "tags": ["contract", "more"], "surge_upgrade": true})),
    )
    .await;
    let pools_path = format!("{cluster_path}/node_pools");
    let pool = c
        .ok(M::POST, "/v2/kubernetes/clusters/{cluster_id}/node_pools", &pools_path, Some(json!({
            "name": "app", "size": "s-4vcpu-8gb", "auto_scale": true, "min_nodes": 0, "max_nodes": 3, "count": 1,
        })))
        .await;
    let pool_id = pool["node_pool"]["id"].as_str().unwrap().to_string();
    let pool_path = format!("{pools_path}/{pool_id}");
    c.ok(
        M::GET,
        "/v2/kubernetes/clusters/{cluster_id}/node_pools",
        &pools_path,
        None,
    )
    .await;
    let resized = c
        .ok(
            M::PUT,
            "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
            &pool_path,
            Some(json!({"name": "app", "count": 3, "auto_scale": false})),
        )
        .await;
    assert_eq!(resized["node_pool"]["nodes"].as_array().unwrap().len(), 3);
    let node = resized["node_pool"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.ok(
        M::POST,
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}/recycle",
        &format!("{pool_path}/recycle"),
        Some(json!({"nodes": [node]})),
    )
    .await;
    let pool_now = c
        .ok(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
            &pool_path,
            None,
        )
        .await;
    let node = pool_now["node_pool"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.ok(
        M::DELETE,
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}/nodes/{node_id}",
        &format!("{pool_path}/nodes/{node}?skip_drain=1"),
        None,
    )
    .await;
    let kubeconfig = c
        .ok(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}/kubeconfig",
            &format!("{cluster_path}/kubeconfig"),
            None,
        )
        .await;
    assert!(
        kubeconfig
            .as_str()
            .unwrap()
            .contains("wildside-tofu sandbox")
    );
    c.ok(
        M::GET,
        "/v2/kubernetes/clusters/{cluster_id}/credentials",
        &format!("{cluster_path}/credentials?expiry_seconds=3600"),
        None,
    )
    .await;
    let upgrades = c
        .ok(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}/upgrades",
            &format!("{cluster_path}/upgrades"),
            None,
        )
        .await;
    let newer = upgrades["available_upgrade_versions"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    c.ok(
        M::POST,
        "/v2/kubernetes/clusters/{cluster_id}/upgrade",
        &format!("{cluster_path}/upgrade"),
        Some(json!({"version": newer})),
    )
    .await;
    c.ok(
        M::GET,
        "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources",
        &format!("{cluster_path}/destroy_with_associated_resources"),
        None,
    )
    .await;

    // Kubernetes errors: a second default pool, an unknown size, an unknown cluster.
    let (status, body) = c
        .status(M::POST, "/v2/kubernetes/clusters/{cluster_id}/node_pools", &pools_path, Some(json!({
            "name": "second", "size": "s-2vcpu-4gb", "count": 1, "tags": ["terraform:default-node-pool"],
        })))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = c
        .status(
            M::POST,
            "/v2/kubernetes/clusters/{cluster_id}/node_pools",
            &pools_path,
            Some(json!({"name": "big", "size": "s-999vcpu", "count": 1})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().contains("s-999vcpu"));
    let (status, _) = c
        .status(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}",
            "/v2/kubernetes/clusters/00000000-0000-4000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Droplets, volumes and actions.
    let volume = c
        .ok(M::POST, "/v2/volumes", "/v2/volumes", Some(json!({"name": "contract-data", "region": "nyc3", "size_gigabytes": 10, "filesystem_type": "ext4", "description": "contract"})))
        .await;
    let volume_id = volume["volume"]["id"].as_str().unwrap().to_string();
    let volume_path = format!("/v2/volumes/{volume_id}");
    let droplet = c
        .ok(M::POST, "/v2/droplets", "/v2/droplets", Some(json!({
            "name": "contract-0", "region": "nyc3", "size": "s-1vcpu-2gb", "image": "ubuntu-24-04-x64",
            "vpc_uuid": vpc_id, "monitoring": true, "tags": ["contract"], "user_data": "#cloud-config\n",
        })))
        .await;
    assert_eq!(droplet["droplet"]["status"], "new");
    let droplet_id = droplet["droplet"]["id"].as_u64().unwrap();
    let droplet_path = format!("/v2/droplets/{droplet_id}");
    let create_action = droplet["links"]["actions"][0]["id"].as_u64().unwrap();
    settle().await;
    let active = c
        .ok(M::GET, "/v2/droplets/{droplet_id}", &droplet_path, None)
        .await;
    assert_eq!(active["droplet"]["status"], "active");
    c.ok(
        M::GET,
        "/v2/droplets",
        "/v2/droplets?tag_name=contract",
        None,
    )
    .await;
    c.ok(
        M::GET,
        "/v2/droplets/{droplet_id}/actions/{action_id}",
        &format!("{droplet_path}/actions/{create_action}"),
        None,
    )
    .await;
    let attach = c
        .ok(
            M::POST,
            "/v2/volumes/{volume_id}/actions",
            &format!("{volume_path}/actions"),
            Some(json!({"type": "attach", "droplet_id": droplet_id, "region": "nyc3"})),
        )
        .await;
    let attach_id = attach["action"]["id"].as_u64().unwrap();
    settle().await;
    let done = c
        .ok(
            M::GET,
            "/v2/volumes/{volume_id}/actions/{action_id}",
            &format!("{volume_path}/actions/{attach_id}"),
            None,
        )
        .await;
    assert_eq!(done["action"]["status"], "completed");
    c.ok(
        M::GET,
        "/v2/volumes/{volume_id}/actions",
        &format!("{volume_path}/actions"),
        None,
    )
    .await;
    let attached = c
        .ok(M::GET, "/v2/volumes/{volume_id}", &volume_path, None)
        .await;
    assert_eq!(attached["volume"]["droplet_ids"], json!([droplet_id]));
    c.ok(M::GET, "/v2/volumes", "/v2/volumes?region=nyc3", None)
        .await;
    c.ok(M::POST, "/v2/volumes/actions", "/v2/volumes/actions", Some(json!({"type": "detach", "droplet_id": droplet_id, "volume_name": "contract-data", "region": "nyc3"}))).await;
    let power_off = c
        .ok(
            M::POST,
            "/v2/droplets/{droplet_id}/actions",
            &format!("{droplet_path}/actions"),
            Some(json!({"type": "power_off"})),
        )
        .await;
    c.ok(
        M::GET,
        "/v2/actions/{action_id}",
        &format!("/v2/actions/{}", power_off["action"]["id"]),
        None,
    )
    .await;
    c.ok(
        M::POST,
        "/v2/droplets/{droplet_id}/actions",
        &format!("{droplet_path}/actions"),
        Some(json!({"type": "resize", "size": "s-2vcpu-4gb", "disk": false})),
    )
    .await;
    c.ok(
        M::POST,
        "/v2/droplets/{droplet_id}/actions",
        &format!("{droplet_path}/actions"),
        Some(json!({"type": "power_on"})),
    )
    .await;
    c.ok(
        M::GET,
        "/v2/droplets/{droplet_id}/actions",
        &format!("{droplet_path}/actions"),
        None,
    )
    .await;
    c.ok(M::GET, "/v2/actions", "/v2/actions?per_page=2", None)
        .await;
    c.ok(
        M::GET,
        "/v2/vpcs/{vpc_id}/members",
        &format!("{vpc_path}/members"),
        None,
    )
    .await;
    let (status, body) = c
        .status(M::POST, "/v2/droplets", "/v2/droplets", Some(json!({"name": "bad", "region": "nyc3", "size": "s-999vcpu", "image": "ubuntu-24-04-x64"})))
        .await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().contains("invalid size"));
    let (status, _) = c
        .status(M::POST, "/v2/droplets", "/v2/droplets", Some(json!({"name": "bad", "region": "xyz9", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"})))
        .await;
    assert_eq!(status, 422);
    let (status, _) = c
        .status(M::GET, "/v2/droplets/{droplet_id}", "/v2/droplets/1", None)
        .await;
    assert_eq!(status, 404);

    // Firewalls.
    let firewall = c
        .ok(M::POST, "/v2/firewalls", "/v2/firewalls", Some(json!({
            "name": "contract", "droplet_ids": [droplet_id],
            "inbound_rules": [{"protocol": "tcp", "ports": "8200", "sources": {"addresses": ["10.30.0.0/16"]}}],
            "outbound_rules": [{"protocol": "udp", "ports": "53", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}],
        })))
        .await;
    let firewall_id = firewall["firewall"]["id"].as_str().unwrap().to_string();
    let firewall_path = format!("/v2/firewalls/{firewall_id}");
    c.ok(M::GET, "/v2/firewalls", "/v2/firewalls", None).await;
    c.ok(M::GET, "/v2/firewalls/{firewall_id}", &firewall_path, None)
        .await;
    c.ok(M::PUT, "/v2/firewalls/{firewall_id}", &firewall_path, Some(json!({
        "name": "contract", "droplet_ids": [droplet_id],
        "inbound_rules": [{"protocol": "tcp", "ports": "8200-8201", "sources": {"addresses": ["10.30.0.0/16"]}}],
        "outbound_rules": [{"protocol": "tcp", "ports": "1-65535", "destinations": {"addresses": ["0.0.0.0/0"]}}],
    }))).await;
    c.ok(
        M::DELETE,
        "/v2/firewalls/{firewall_id}/droplets",
        &format!("{firewall_path}/droplets"),
        Some(json!({"droplet_ids": [droplet_id]})),
    )
    .await;
    c.ok(
        M::POST,
        "/v2/firewalls/{firewall_id}/droplets",
        &format!("{firewall_path}/droplets"),
        Some(json!({"droplet_ids": [droplet_id]})),
    )
    .await;
    c.ok(
        M::POST,
        "/v2/firewalls/{firewall_id}/tags",
        &format!("{firewall_path}/tags"),
        Some(json!({"tags": ["contract"]})),
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/firewalls/{firewall_id}/tags",
        &format!("{firewall_path}/tags"),
        Some(json!({"tags": ["contract"]})),
    )
    .await;
    let ssh = json!({"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"]}}]});
    c.ok(
        M::POST,
        "/v2/firewalls/{firewall_id}/rules",
        &format!("{firewall_path}/rules"),
        Some(ssh.clone()),
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/firewalls/{firewall_id}/rules",
        &format!("{firewall_path}/rules"),
        Some(ssh),
    )
    .await;

    // Certificates and load balancers.
    let (leaf, key) = certificate();
    let certificate = c
        .ok(M::POST, "/v2/certificates", "/v2/certificates", Some(json!({"name": "contract", "type": "custom", "private_key": key, "leaf_certificate": leaf})))
        .await;
    let certificate_id = certificate["certificate"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        certificate["certificate"]["dns_names"],
        json!(["vault.sandbox.test"])
    );
    c.ok(
        M::GET,
        "/v2/certificates",
        "/v2/certificates?name=contract",
        None,
    )
    .await;
    c.ok(
        M::GET,
        "/v2/certificates/{certificate_id}",
        &format!("/v2/certificates/{certificate_id}"),
        None,
    )
    .await;
    let (status, _) = c
        .status(M::POST, "/v2/certificates", "/v2/certificates", Some(json!({"name": "broken", "type": "custom", "private_key": "x", "leaf_certificate": "y"})))
        .await;
    assert_eq!(status, 422);
    let balancer_spec = json!({
        "name": "contract", "region": "nyc3", "vpc_uuid": vpc_id, "droplet_ids": [droplet_id], "size_unit": 1,
        "forwarding_rules": [{"entry_protocol": "https", "entry_port": 443, "target_protocol": "https", "target_port": 8200, "certificate_id": certificate_id}],
        "health_check": {"protocol": "https", "port": 8200, "path": "/v1/sys/health", "check_interval_seconds": 10, "response_timeout_seconds": 5, "healthy_threshold": 3, "unhealthy_threshold": 3},
        "firewall": {"allow": ["cidr:203.0.113.0/24", "ip:198.51.100.7"], "deny": []},
    });
    let mut malformed = balancer_spec.clone();
    malformed["firewall"] = json!({"allow": ["203.0.113.0/24"]});
    let (status, _) = c
        .status(
            M::POST,
            "/v2/load_balancers",
            "/v2/load_balancers",
            Some(malformed),
        )
        .await;
    assert_eq!(
        status, 422,
        "a firewall rule without ip: or cidr: is refused"
    );
    let balancer = c
        .ok(
            M::POST,
            "/v2/load_balancers",
            "/v2/load_balancers",
            Some(balancer_spec.clone()),
        )
        .await;
    assert_eq!(balancer["load_balancer"]["status"], "new");
    assert_eq!(
        balancer["load_balancer"]["firewall"]["allow"],
        json!(["cidr:203.0.113.0/24", "ip:198.51.100.7"])
    );
    let balancer_id = balancer["load_balancer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let balancer_path = format!("/v2/load_balancers/{balancer_id}");
    settle().await;
    let active = c
        .ok(M::GET, "/v2/load_balancers/{lb_id}", &balancer_path, None)
        .await;
    assert_eq!(active["load_balancer"]["status"], "active");
    c.ok(M::GET, "/v2/load_balancers", "/v2/load_balancers", None)
        .await;
    c.ok(
        M::PUT,
        "/v2/load_balancers/{lb_id}",
        &balancer_path,
        Some(balancer_spec),
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/load_balancers/{lb_id}/droplets",
        &format!("{balancer_path}/droplets"),
        Some(json!({"droplet_ids": [droplet_id]})),
    )
    .await;
    c.ok(
        M::POST,
        "/v2/load_balancers/{lb_id}/droplets",
        &format!("{balancer_path}/droplets"),
        Some(json!({"droplet_ids": [droplet_id]})),
    )
    .await;
    let http = json!({"forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8200}]});
    c.ok(
        M::POST,
        "/v2/load_balancers/{lb_id}/forwarding_rules",
        &format!("{balancer_path}/forwarding_rules"),
        Some(http.clone()),
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/load_balancers/{lb_id}/forwarding_rules",
        &format!("{balancer_path}/forwarding_rules"),
        Some(http),
    )
    .await;

    // Projects and tags.
    let project = c
        .ok(M::POST, "/v2/projects", "/v2/projects", Some(json!({"name": "contract", "purpose": "Testing", "environment": "Development", "description": "contract"})))
        .await;
    let project_id = project["project"]["id"].as_str().unwrap().to_string();
    let project_path = format!("/v2/projects/{project_id}");
    c.ok(M::GET, "/v2/projects", "/v2/projects", None).await;
    c.ok(M::GET, "/v2/projects/{project_id}", &project_path, None)
        .await;
    c.ok(
        M::GET,
        "/v2/projects/{project_id}",
        "/v2/projects/default",
        None,
    )
    .await;
    c.ok(M::PUT, "/v2/projects/{project_id}", &project_path, Some(json!({"name": "contract", "description": "put", "purpose": "Testing", "environment": "Staging", "is_default": false}))).await;
    c.ok(
        M::PATCH,
        "/v2/projects/{project_id}",
        &project_path,
        Some(json!({"description": "patched"})),
    )
    .await;
    let urns = json!({"resources": [format!("do:droplet:{droplet_id}"), format!("do:volume:{volume_id}"), format!("do:loadbalancer:{balancer_id}"), format!("do:kubernetes:{cluster_id}")]});
    c.ok(
        M::POST,
        "/v2/projects/{project_id}/resources",
        &format!("{project_path}/resources"),
        Some(urns),
    )
    .await;
    let listed = c
        .ok(
            M::GET,
            "/v2/projects/{project_id}/resources",
            &format!("{project_path}/resources"),
            None,
        )
        .await;
    assert_eq!(listed["meta"]["total"], 4);
    let (status, _) = c
        .status(
            M::POST,
            "/v2/projects/{project_id}/resources",
            &format!("{project_path}/resources"),
            Some(json!({"resources": ["droplet:1"]})),
        )
        .await;
    assert_eq!(status, 400, "a URN is do:<type>:<id>");
    c.ok(
        M::POST,
        "/v2/tags",
        "/v2/tags",
        Some(json!({"name": "contract-extra"})),
    )
    .await;
    c.ok(M::GET, "/v2/tags", "/v2/tags", None).await;
    c.ok(M::POST, "/v2/tags/{tag_id}/resources", "/v2/tags/contract-extra/resources", Some(json!({"resources": [{"resource_id": droplet_id.to_string(), "resource_type": "droplet"}]}))).await;
    let tag = c
        .ok(M::GET, "/v2/tags/{tag_id}", "/v2/tags/contract-extra", None)
        .await;
    assert_eq!(tag["tag"]["resources"]["droplets"]["count"], 1);
    c.ok(M::DELETE, "/v2/tags/{tag_id}/resources", "/v2/tags/contract-extra/resources", Some(json!({"resources": [{"resource_id": droplet_id.to_string(), "resource_type": "droplet"}]}))).await;
    c.ok(
        M::DELETE,
        "/v2/tags/{tag_id}",
        "/v2/tags/contract-extra",
        None,
    )
    .await;

    // Deleting a VPC with members is refused; then everything goes.
    let (status, body) = c
        .status(M::DELETE, "/v2/vpcs/{vpc_id}", &vpc_path, None)
        .await;
    assert_eq!(status, 422);
    assert!(
        body["message"].as_str().unwrap().contains("members"),
        "{body}"
    );
    let (status, _) = c
        .status(
            M::POST,
            "/v2/vpcs",
            "/v2/vpcs",
            Some(json!({"name": "overlap", "region": "nyc3", "ip_range": "10.30.128.0/20"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = c
        .status(
            M::POST,
            "/v2/vpcs",
            "/v2/vpcs",
            Some(json!({"name": "nowhere", "region": "xyz9", "ip_range": "10.31.0.0/16"})),
        )
        .await;
    assert_eq!(status, 422);
    c.ok(
        M::DELETE,
        "/v2/load_balancers/{lb_id}",
        &balancer_path,
        None,
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/certificates/{certificate_id}",
        &format!("/v2/certificates/{certificate_id}"),
        None,
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/firewalls/{firewall_id}",
        &firewall_path,
        None,
    )
    .await;
    c.ok(M::DELETE, "/v2/droplets/{droplet_id}", &droplet_path, None)
        .await;
    c.ok(M::DELETE, "/v2/volumes/{volume_id}", &volume_path, None)
        .await;
    c.ok(
        M::DELETE,
        "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
        &pool_path,
        None,
    )
    .await;
    c.ok(
        M::DELETE,
        "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/selective",
        &format!("{cluster_path}/destroy_with_associated_resources/selective"),
        Some(json!({"load_balancers": [], "volumes": [], "volume_snapshots": []})),
    )
    .await;
    c.ok(M::DELETE, "/v2/projects/{project_id}", &project_path, None)
        .await;

    // Two more clusters: one deleted outright, one with its associated resources.
    for (name, template) in [
        ("plain", "/v2/kubernetes/clusters/{cluster_id}"),
        (
            "dangerous",
            "/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources/dangerous",
        ),
    ] {
        let cluster = c
            .ok(
                M::POST,
                "/v2/kubernetes/clusters",
                "/v2/kubernetes/clusters",
                Some(json!({
                    "name": name, "region": "nyc3", "version": version, "vpc_uuid": vpc_id,
                    "node_pools": [{"name": "default", "size": "s-1vcpu-2gb", "count": 1}],
                })),
            )
            .await;
        let id = cluster["kubernetes_cluster"]["id"].as_str().unwrap();
        let path = template.replace("{cluster_id}", id);
        c.ok(M::DELETE, template, &path, None).await;
    }
    c.ok(M::DELETE, "/v2/vpcs/{vpc_id}", &vpc_path, None).await;
    let (status, _) = c.status(M::GET, "/v2/vpcs/{vpc_id}", &vpc_path, None).await;
    assert_eq!(status, 404);

    // Without a token: 401.
    c.token = None;
    let (status, body) = c.status(M::GET, "/v2/account", "/v2/account", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["id"], "Unauthorized");

    let _ = stop.send(());
    server.await.unwrap().unwrap();

    let mut contract = Contract::new();
    for exchange in c.exchanges {
        contract.check(exchange);
    }
    let missing: Vec<_> = SERVED
        .iter()
        .filter(|(method, template)| !contract.covered.contains(&(method.to_string(), *template)))
        .collect();
    assert!(
        missing.is_empty(),
        "served but never exercised: {missing:?}"
    );
    assert!(
        contract.failures.is_empty(),
        "{} exchanges break the contract:\n{}",
        contract.failures.len(),
        contract.failures.join("\n")
    );
}

/// An in-process sandbox and a client of it, for the tests of one behaviour; `finish` stops the sandbox and
/// checks every exchange against the contract.
pub(crate) struct Running {
    pub(crate) c: Client,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

pub(crate) async fn running() -> Running {
    let bound = sandbox::bind(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state_file: None,
        delay: Duration::from_millis(50),
        faults: FaultSpec::default(),
        read_tokens: Vec::new(),
        clusters: ClusterOptions {
            simulated: true,
            ..ClusterOptions::default()
        },
    })
    .await
    .unwrap();
    let base = bound.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        bound
            .serve(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        c: Client {
            http: reqwest::Client::new(),
            base,
            token: Some("contract-test"),
            exchanges: Vec::new(),
        },
        stop,
        server,
    }
}

impl Running {
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap();
        let mut contract = Contract::new();
        for exchange in self.c.exchanges {
            contract.check(exchange);
        }
        assert!(
            contract.failures.is_empty(),
            "{} exchanges break the contract:\n{}",
            contract.failures.len(),
            contract.failures.join("\n")
        );
    }
}

/// The provider sends `"environment": ""` when its configuration names none, and DigitalOcean creates the
/// project without one; Spaces buckets and domains are assigned to projects by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_take_a_blank_environment_and_buckets_and_domains() {
    let mut run = running().await;
    let c = &mut run.c;
    use Method as M;
    let blank = c
        .ok_as_sent(
            M::POST,
            "/v2/projects",
            "/v2/projects",
            json!({"name": "blank", "purpose": "Testing", "environment": ""}),
        )
        .await;
    assert!(blank["project"].get("environment").is_none(), "{blank}");
    let omitted = c
        .ok(
            M::POST,
            "/v2/projects",
            "/v2/projects",
            Some(json!({"name": "omitted", "purpose": "Testing"})),
        )
        .await;
    let id = omitted["project"]["id"].as_str().unwrap().to_string();
    let path = format!("/v2/projects/{id}");
    let read = c.ok(M::GET, "/v2/projects/{project_id}", &path, None).await;
    assert_eq!(read["project"]["name"], "omitted");
    let updated = c
        .ok_as_sent(M::PUT, "/v2/projects/{project_id}", &path, json!({"name": "omitted", "description": "", "purpose": "Testing", "environment": "", "is_default": false}))
        .await;
    assert!(updated["project"].get("environment").is_none(), "{updated}");

    let urns = [
        "do:space:wildside-previews",
        "do:domain:preview.example.com",
    ];
    // A domain is assigned once it exists; a bucket lives in the S3 service, which the sandbox does not see.
    c.ok(
        M::POST,
        "/v2/domains",
        "/v2/domains",
        Some(json!({"name": "preview.example.com"})),
    )
    .await;
    let resources = format!("{path}/resources");
    let assigned = c
        .ok(
            M::POST,
            "/v2/projects/{project_id}/resources",
            &resources,
            Some(json!({"resources": urns})),
        )
        .await;
    assert_eq!(
        assigned["resources"].as_array().unwrap().len(),
        2,
        "{assigned}"
    );
    let listed = c
        .ok(
            M::GET,
            "/v2/projects/{project_id}/resources",
            &resources,
            None,
        )
        .await;
    let listed: Vec<&str> = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["urn"].as_str().unwrap())
        .collect();
    assert_eq!(listed, urns);
    let (status, _) = c
        .status(
            M::POST,
            "/v2/projects/{project_id}/resources",
            &resources,
            Some(json!({"resources": ["do:space:Not_A_Bucket"]})),
        )
        .await;
    assert_eq!(status, 200, "no such bucket is reported, not refused");
    run.finish().await;
}

/// Tags live until deleted explicitly, whatever resource carried them, and count what carries them; deleting
/// one still applied untags its resources (204), and deleting it again is a 404, as on DigitalOcean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_live_until_deleted_and_track_what_carries_them() {
    let mut run = running().await;
    let c = &mut run.c;
    use Method as M;
    // A firewall's tag exists as soon as the firewall carries it, and can be read and deleted.
    let firewall = c
        .ok(M::POST, "/v2/firewalls", "/v2/firewalls", Some(json!({
            "name": "tagged", "tags": ["by-firewall"],
            "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["10.0.0.0/8"]}}],
        })))
        .await;
    let firewall_path = format!(
        "/v2/firewalls/{}",
        firewall["firewall"]["id"].as_str().unwrap()
    );
    let tag = c
        .ok(M::GET, "/v2/tags/{tag_id}", "/v2/tags/by-firewall", None)
        .await;
    assert_eq!(tag["tag"]["name"], "by-firewall");
    c.ok(M::DELETE, "/v2/tags/{tag_id}", "/v2/tags/by-firewall", None)
        .await;
    let read = c
        .ok(M::GET, "/v2/firewalls/{firewall_id}", &firewall_path, None)
        .await;
    assert_eq!(read["firewall"]["tags"], json!([]), "{read}");
    let (status, _) = c
        .status(M::DELETE, "/v2/tags/{tag_id}", "/v2/tags/by-firewall", None)
        .await;
    assert_eq!(status, 404, "a second delete of a tag is a 404");
    c.ok(
        M::DELETE,
        "/v2/firewalls/{firewall_id}",
        &firewall_path,
        None,
    )
    .await;

    // A tag outlives the volume that carried it, counted while it carries it.
    let volume = c
        .ok(
            M::POST,
            "/v2/volumes",
            "/v2/volumes",
            Some(
                json!({"name": "tagged", "region": "nyc3", "size_gigabytes": 10, "tags": ["kept"]}),
            ),
        )
        .await;
    let volume_id = volume["volume"]["id"].as_str().unwrap().to_string();
    let volume_path = format!("/v2/volumes/{volume_id}");
    c.ok(
        M::POST,
        "/v2/tags",
        "/v2/tags",
        Some(json!({"name": "applied"})),
    )
    .await;
    c.ok(
        M::POST,
        "/v2/tags/{tag_id}/resources",
        "/v2/tags/applied/resources",
        Some(json!({"resources": [{"resource_id": volume_id, "resource_type": "volume"}]})),
    )
    .await;
    let tag = c
        .ok(M::GET, "/v2/tags/{tag_id}", "/v2/tags/applied", None)
        .await;
    assert_eq!(tag["tag"]["resources"]["count"], 1, "{tag}");
    assert_eq!(tag["tag"]["resources"]["volumes"]["count"], 1, "{tag}");
    // Deleting a tag still applied untags the volume.
    c.ok(M::DELETE, "/v2/tags/{tag_id}", "/v2/tags/applied", None)
        .await;
    let read = c
        .ok(M::GET, "/v2/volumes/{volume_id}", &volume_path, None)
        .await;
    assert_eq!(read["volume"]["tags"], json!(["kept"]), "{read}");
    c.ok(M::DELETE, "/v2/volumes/{volume_id}", &volume_path, None)
        .await;
    let tag = c
        .ok(M::GET, "/v2/tags/{tag_id}", "/v2/tags/kept", None)
        .await;
    assert_eq!(tag["tag"]["resources"]["count"], 0, "{tag}");
    c.ok(M::DELETE, "/v2/tags/{tag_id}", "/v2/tags/kept", None)
        .await;
    let (status, _) = c
        .status(M::GET, "/v2/tags/{tag_id}", "/v2/tags/kept", None)
        .await;
    assert_eq!(status, 404);
    run.finish().await;
}

/// A load balancer reads back its `size` and `size_unit` agreeing (`lb-small`, `lb-medium`, `lb-large` are 1,
/// 3 and 6 units), the droplets it was given or that carry its tag, and a global one needs no region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancers_read_back_sizes_droplets_and_global_ones() {
    let mut run = running().await;
    let c = &mut run.c;
    use Method as M;
    let rules = json!([{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]);
    let droplet = c
        .ok(M::POST, "/v2/droplets", "/v2/droplets", Some(json!({
            "name": "backend", "region": "nyc3", "size": "s-1vcpu-2gb", "image": "ubuntu-24-04-x64", "tags": ["web"],
        })))
        .await;
    let droplet_id = droplet["droplet"]["id"].as_u64().unwrap();

    for (asked, size, size_unit) in [
        (json!({"size": "lb-medium"}), "lb-medium", 3),
        (json!({"size_unit": 6}), "lb-large", 6),
        (json!({"size": "lb-small", "size_unit": 1}), "lb-small", 1),
    ] {
        let mut body = json!({"name": format!("sized-{size}"), "region": "nyc3", "forwarding_rules": rules, "droplet_ids": [droplet_id]});
        body.as_object_mut()
            .unwrap()
            .extend(asked.as_object().unwrap().clone());
        let created = c
            .ok(
                M::POST,
                "/v2/load_balancers",
                "/v2/load_balancers",
                Some(body),
            )
            .await;
        let path = format!(
            "/v2/load_balancers/{}",
            created["load_balancer"]["id"].as_str().unwrap()
        );
        for read in [
            created,
            c.ok(M::GET, "/v2/load_balancers/{lb_id}", &path, None)
                .await,
        ] {
            assert_eq!(read["load_balancer"]["size"], size, "{read}");
            assert_eq!(read["load_balancer"]["size_unit"], size_unit, "{read}");
            assert_eq!(
                read["load_balancer"]["droplet_ids"],
                json!([droplet_id]),
                "{read}"
            );
        }
        c.ok(M::DELETE, "/v2/load_balancers/{lb_id}", &path, None)
            .await;
    }
    let (status, _) = c
        .status(M::POST, "/v2/load_balancers", "/v2/load_balancers", Some(json!({"name": "disagreeing", "region": "nyc3", "forwarding_rules": rules, "size": "lb-small", "size_unit": 3})))
        .await;
    assert_eq!(
        status, 422,
        "a size that disagrees with size_unit is refused"
    );

    // Selected by tag: reads list the droplets carrying it.
    let tagged = c
        .ok(M::POST, "/v2/load_balancers", "/v2/load_balancers", Some(json!({"name": "tagged", "region": "nyc3", "forwarding_rules": rules, "tag": "web"})))
        .await;
    let tagged_path = format!(
        "/v2/load_balancers/{}",
        tagged["load_balancer"]["id"].as_str().unwrap()
    );
    let listed = c
        .ok(M::GET, "/v2/load_balancers", "/v2/load_balancers", None)
        .await;
    assert_eq!(
        listed["load_balancers"][0]["droplet_ids"],
        json!([droplet_id]),
        "{listed}"
    );
    c.ok(M::DELETE, "/v2/load_balancers/{lb_id}", &tagged_path, None)
        .await;

    // Global: no region (the provider sends none, though the description's create schema requires one), no
    // VPC.
    let global = c
        .ok_as_sent(M::POST, "/v2/load_balancers", "/v2/load_balancers", json!({
            "name": "global", "type": "GLOBAL", "droplet_ids": [droplet_id], "forwarding_rules": rules,
            "glb_settings": {"target_protocol": "http", "target_port": 80},
        }))
        .await;
    let global_path = format!(
        "/v2/load_balancers/{}",
        global["load_balancer"]["id"].as_str().unwrap()
    );
    let read = c
        .ok(M::GET, "/v2/load_balancers/{lb_id}", &global_path, None)
        .await;
    assert_eq!(read["load_balancer"]["type"], "GLOBAL", "{read}");
    assert!(read["load_balancer"].get("region").is_none(), "{read}");
    assert_eq!(
        read["load_balancer"]["glb_settings"]["target_port"], 80,
        "{read}"
    );
    assert_eq!(
        read["load_balancer"]["droplet_ids"],
        json!([droplet_id]),
        "{read}"
    );
    c.ok(M::DELETE, "/v2/load_balancers/{lb_id}", &global_path, None)
        .await;
    let (status, _) = c
        .status(
            M::POST,
            "/v2/load_balancers",
            "/v2/load_balancers",
            Some(json!({"name": "nowhere", "forwarding_rules": rules})),
        )
        .await;
    assert_eq!(status, 422, "a regional load balancer needs a region");
    run.finish().await;
}

/// A cluster keeps the subnets it was created with; cluster and node pool updates take only the members that
/// change (the description requires `name`, DigitalOcean does not); a resized pool reports its new count and
/// nodes; an autoscaled first pool needs no `count`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_and_pools_take_partial_updates_and_keep_what_they_were_given() {
    let mut run = running().await;
    let c = &mut run.c;
    use Method as M;
    let options = c
        .ok(
            M::GET,
            "/v2/kubernetes/options",
            "/v2/kubernetes/options",
            None,
        )
        .await;
    let version = options["options"]["versions"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    // godo omits an autoscaled pool's zero `count`, which the description's create schema requires.
    let cluster = c
        .ok_as_sent(M::POST, "/v2/kubernetes/clusters", "/v2/kubernetes/clusters", json!({
            "name": "partial", "region": "nyc3", "version": version,
            "cluster_subnet": "10.100.0.0/16", "service_subnet": "10.101.0.0/16",
            "control_plane_firewall": {"enabled": true, "allowed_addresses": ["203.0.113.0/24"]},
            "node_pools": [{"name": "auto", "size": "s-1vcpu-2gb", "auto_scale": true, "max_nodes": 3}],
        }))
        .await;
    let cluster_id = cluster["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster_path = format!("/v2/kubernetes/clusters/{cluster_id}");
    let read = c
        .ok(
            M::GET,
            "/v2/kubernetes/clusters/{cluster_id}",
            &cluster_path,
            None,
        )
        .await;
    let read = &read["kubernetes_cluster"];
    assert_eq!(read["cluster_subnet"], "10.100.0.0/16", "{read}");
    assert_eq!(read["service_subnet"], "10.101.0.0/16", "{read}");
    assert!(
        read["node_pools"][0]["count"].as_u64().unwrap() >= 1,
        "{read}"
    );

    // A cluster update naming only the firewall's addresses keeps the name and `enabled`.
    let updated = c
        .ok_as_sent(
            M::PUT,
            "/v2/kubernetes/clusters/{cluster_id}",
            &cluster_path,
            json!({
                "control_plane_firewall": {"allowed_addresses": ["198.51.100.0/24"]},
            }),
        )
        .await;
    let updated = &updated["kubernetes_cluster"];
    assert_eq!(updated["name"], "partial", "{updated}");
    assert_eq!(
        updated["control_plane_firewall"]["enabled"], true,
        "{updated}"
    );
    assert_eq!(
        updated["control_plane_firewall"]["allowed_addresses"],
        json!(["198.51.100.0/24"]),
        "{updated}"
    );

    // A pool update naming only the count resizes it, keeping its name.
    let pools = format!("{cluster_path}/node_pools");
    let pool = c
        .ok(
            M::POST,
            "/v2/kubernetes/clusters/{cluster_id}/node_pools",
            &pools,
            Some(json!({"name": "workers", "size": "s-1vcpu-2gb", "count": 1})),
        )
        .await;
    let pool_path = format!("{pools}/{}", pool["node_pool"]["id"].as_str().unwrap());
    let template = "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}";
    let resized = c
        .ok_as_sent(M::PUT, template, &pool_path, json!({"count": 3}))
        .await;
    for read in [resized, c.ok(M::GET, template, &pool_path, None).await] {
        assert_eq!(read["node_pool"]["name"], "workers", "{read}");
        assert_eq!(read["node_pool"]["count"], 3, "{read}");
        assert_eq!(
            read["node_pool"]["nodes"].as_array().unwrap().len(),
            3,
            "{read}"
        );
    }
    c.ok(
        M::DELETE,
        "/v2/kubernetes/clusters/{cluster_id}",
        &cluster_path,
        None,
    )
    .await;
    run.finish().await;
}

/// Each region in use has exactly one default VPC, listed with `default: true`, from its first VPC on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_in_use_has_one_default_vpc() {
    let mut run = running().await;
    let c = &mut run.c;
    use Method as M;
    for (name, range) in [("first", "10.50.0.0/20"), ("second", "10.51.0.0/20")] {
        c.ok(
            M::POST,
            "/v2/vpcs",
            "/v2/vpcs",
            Some(json!({"name": name, "region": "ams3", "ip_range": range})),
        )
        .await;
        let listed = c.ok(M::GET, "/v2/vpcs", "/v2/vpcs", None).await;
        let defaults: Vec<&Value> = listed["vpcs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|vpc| vpc["default"] == true)
            .collect();
        assert_eq!(defaults.len(), 1, "{listed}");
        assert_eq!(defaults[0]["region"], "ams3", "{listed}");
    }
    run.finish().await;
}
