//! The HTTP surface: every path and method the sandbox serves, mapped onto the resource modules, behind the
//! bearer-token check, injected faults and rate-limit headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::ApiError;
use super::faults::{Fault, Faults};
use super::paging::PageRequest;
use super::runtime::Runtime;
use super::store::Store;
use super::{
    account, actions, backups, catalog, certificates, domains, droplets, firewalls, images,
    kubernetes, load_balancers, projects, snapshots, ssh_keys, subnets, tags, volumes, vpcs,
};

/// The limit the rate-limit headers announce, per hour, as DigitalOcean's API does.
const RATE_LIMIT: u64 = 5000;
const RATE_WINDOW: Duration = Duration::from_secs(3600);
/// The account's droplet limit.
const DROPLET_LIMIT: usize = 250;

pub(super) struct Sandbox {
    pub(super) store: Store,
    pub(super) faults: Faults,
    /// Droplet servers and load balancer proxies.
    pub(super) runtime: Arc<Runtime>,
    requests: AtomicU64,
    window_start: SystemTime,
    /// Tokens with the read-only scope.
    read_tokens: std::collections::HashSet<String>,
}

impl Sandbox {
    pub(super) fn new(
        store: Store,
        faults: Faults,
        runtime: Arc<Runtime>,
        read_tokens: std::collections::HashSet<String>,
    ) -> Self {
        Self {
            store,
            faults,
            runtime,
            read_tokens,
            requests: AtomicU64::new(0),
            window_start: SystemTime::now(),
        }
    }
}

pub(super) type Shared = State<Arc<Sandbox>>;
pub(super) type Reply = Result<Response, ApiError>;

pub(super) fn reply(status: StatusCode, body: Value) -> Reply {
    Ok((status, axum::Json(body)).into_response())
}

pub(super) fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Decodes a JSON request body: malformed JSON is a 400, well-formed JSON of the wrong shape a 422. A `null`
/// member counts as absent, as DigitalOcean's API reads it: godo sends unset lists as `null`
/// (`"ssh_keys": null`, `"tags": null`), and the typed requests default absent members.
pub(super) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|error| {
        ApiError::bad_request(format!("the request body is not valid JSON: {error}"))
    })?;
    drop_nulls(&mut value);
    serde_json::from_value(value)
        .map_err(|error| ApiError::unprocessable(format!("invalid request: {error}")))
}

/// Removes every `null` member of every object in `value`.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

pub(super) fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/v2/account", get(account_get))
        .route("/v2/regions", get(regions))
        .route("/v2/sizes", get(sizes))
        .route("/v2/actions", get(actions_list))
        .route("/v2/actions/{id}", get(action_get))
        .route("/v2/vpcs", get(vpc_list).post(vpc_create))
        .route(
            "/v2/vpcs/{id}",
            get(vpc_get)
                .put(vpc_update)
                .patch(vpc_update)
                .delete(vpc_delete),
        )
        .route("/v2/vpcs/{id}/members", get(vpc_members))
        .route("/v2/kubernetes/options", get(kubernetes_options))
        .route(
            "/v2/kubernetes/clusters",
            get(cluster_list).post(cluster_create),
        )
        .route(
            "/v2/kubernetes/clusters/{id}",
            get(cluster_get).put(cluster_update).delete(cluster_delete),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources",
            get(cluster_associated),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources/selective",
            delete(cluster_delete_selective),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources/dangerous",
            delete(cluster_delete_dangerous),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/kubeconfig",
            get(cluster_kubeconfig),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/credentials",
            get(cluster_credentials),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/upgrades",
            get(cluster_upgrades),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/upgrade",
            post(cluster_upgrade),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/node_pools",
            get(pool_list).post(pool_create),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/node_pools/{pool}",
            get(pool_get).put(pool_update).delete(pool_delete),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/node_pools/{pool}/nodes/{node}",
            delete(node_delete),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/node_pools/{pool}/recycle",
            post(pool_recycle),
        )
        .route("/v2/droplets", get(droplet_list).post(droplet_create))
        .route("/v2/droplets/{id}", get(droplet_get).delete(droplet_delete))
        .route(
            "/v2/droplets/{id}/actions",
            get(droplet_actions).post(droplet_act),
        )
        .route("/v2/droplets/{id}/actions/{action}", get(droplet_action))
        .route("/v2/volumes", get(volume_list).post(volume_create))
        .route("/v2/volumes/actions", post(volume_act_by_name))
        .route("/v2/volumes/{id}", get(volume_get).delete(volume_delete))
        .route(
            "/v2/volumes/{id}/actions",
            get(volume_actions).post(volume_act),
        )
        .route("/v2/volumes/{id}/actions/{action}", get(volume_action))
        .route("/v2/firewalls", get(firewall_list).post(firewall_create))
        .route(
            "/v2/firewalls/{id}",
            get(firewall_get)
                .put(firewall_replace)
                .delete(firewall_delete),
        )
        .route(
            "/v2/firewalls/{id}/droplets",
            post(firewall_add_members).delete(firewall_remove_members),
        )
        .route(
            "/v2/firewalls/{id}/tags",
            post(firewall_add_members).delete(firewall_remove_members),
        )
        .route(
            "/v2/firewalls/{id}/rules",
            post(firewall_add_rules).delete(firewall_remove_rules),
        )
        .route(
            "/v2/load_balancers",
            get(balancer_list).post(balancer_create),
        )
        .route(
            "/v2/load_balancers/{id}",
            get(balancer_get)
                .put(balancer_replace)
                .delete(balancer_delete),
        )
        .route(
            "/v2/load_balancers/{id}/droplets",
            post(balancer_add_droplets).delete(balancer_remove_droplets),
        )
        .route(
            "/v2/load_balancers/{id}/forwarding_rules",
            post(balancer_add_rules).delete(balancer_remove_rules),
        )
        .route(
            "/v2/certificates",
            get(certificate_list).post(certificate_create),
        )
        .route(
            "/v2/certificates/{id}",
            get(certificate_get).delete(certificate_delete),
        )
        .route("/v2/projects", get(project_list).post(project_create))
        .route(
            "/v2/projects/{id}",
            get(project_get)
                .put(project_update)
                .patch(project_update)
                .delete(project_delete),
        )
        .route(
            "/v2/projects/{id}/resources",
            get(project_resources).post(project_assign),
        )
        .route("/v2/tags", get(tag_list).post(tag_create))
        .route("/v2/tags/{name}", get(tag_get).delete(tag_delete))
        .route(
            "/v2/tags/{name}/resources",
            post(tag_resources).delete(untag_resources),
        )
        .merge(ssh_keys::routes())
        .merge(images::routes())
        .merge(backups::routes())
        .merge(snapshots::routes())
        .merge(domains::routes())
        .merge(subnets::routes())
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(sandbox.clone(), gate))
        .with_state(sandbox)
}

/// Every request: rate-limit headers, the bearer token and its scope, then any injected latency and fault.
async fn gate(State(sandbox): Shared, request: Request, next: Next) -> Response {
    let elapsed = sandbox.window_start.elapsed().unwrap_or_default();
    let windows = elapsed.as_secs() / RATE_WINDOW.as_secs();
    let reset = sandbox.window_start + RATE_WINDOW * (windows as u32 + 1);
    let used = sandbox.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let remaining = RATE_LIMIT.saturating_sub(used % RATE_LIMIT);
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let reads_only = token.is_some_and(|token| sandbox.read_tokens.contains(token));
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = if token.is_none() {
        ApiError::unauthorized().into_response()
    } else if reads_only && writes {
        ApiError::forbidden().into_response()
    } else {
        let latency = sandbox.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match sandbox.faults.draw() {
            Some(Fault::ServerError) => {
                ApiError::server_error("injected fault: internal server error").into_response()
            }
            Some(Fault::RateLimited) => ApiError::too_many_requests().into_response(),
            None => next.run(request).await,
        }
    };
    let limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    let number =
        |value: u64| HeaderValue::from_str(&value.to_string()).expect("digits are a valid header");
    headers.insert("ratelimit-limit", number(RATE_LIMIT));
    headers.insert(
        "ratelimit-remaining",
        number(if limited { 0 } else { remaining }),
    );
    headers.insert(
        "ratelimit-reset",
        number(
            reset
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        ),
    );
    if limited {
        headers.insert("retry-after", number(1));
    }
    response
}

async fn account_get(State(sandbox): Shared) -> Reply {
    let droplets = sandbox.store.read(|world, _| Ok(world.droplets.len()))?;
    reply(
        StatusCode::OK,
        account::to_json(DROPLET_LIMIT.max(droplets)),
    )
}

async fn regions(page: PageRequest) -> Reply {
    reply(
        StatusCode::OK,
        page.respond("regions", catalog::regions_json()),
    )
}

async fn sizes(page: PageRequest) -> Reply {
    reply(StatusCode::OK, page.respond("sizes", catalog::sizes_json()))
}

async fn actions_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, clock| Ok(actions::list(world, clock, |_| true)))?;
    reply(StatusCode::OK, page.respond("actions", items))
}

async fn action_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let action = sandbox
        .store
        .read(|world, clock| Ok(actions::get(world, &id)?.to_json(clock)))?;
    reply(StatusCode::OK, json!({ "action": action }))
}

async fn vpc_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, _| Ok(world.vpcs.values().map(vpcs::Vpc::to_json).collect()))?;
    reply(StatusCode::OK, page.respond("vpcs", items))
}

async fn vpc_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let vpc = sandbox
        .store
        .write(|world, clock| vpcs::create(world, clock, request))?;
    reply(StatusCode::CREATED, json!({ "vpc": vpc }))
}

async fn vpc_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let vpc = sandbox
        .store
        .read(|world, _| Ok(vpcs::get(world, &id)?.to_json()))?;
    reply(StatusCode::OK, json!({ "vpc": vpc }))
}

async fn vpc_update(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let vpc = sandbox
        .store
        .write(|world, _| vpcs::update(world, &id, request))?;
    reply(StatusCode::OK, json!({ "vpc": vpc }))
}

async fn vpc_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| vpcs::delete(world, &id))?;
    no_content()
}

async fn vpc_members(State(sandbox): Shared, Path(id): Path<String>, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| vpcs::members(world, &id))?;
    reply(StatusCode::OK, page.respond("members", items))
}

async fn kubernetes_options() -> Reply {
    reply(StatusCode::OK, catalog::kubernetes_options_json())
}

async fn cluster_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, clock| {
        Ok(world
            .clusters
            .values()
            .map(|cluster| cluster.to_json(clock))
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("kubernetes_clusters", items))
}

async fn cluster_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let control_plane =
        sandbox.runtime.kube.prepare().map_err(|error| {
            ApiError::server_error(format!("the cluster's control plane: {error}"))
        })?;
    let dir = control_plane.as_ref().map(|plane| plane.dir.clone());
    let cluster = sandbox
        .store
        .write(|world, clock| kubernetes::create(world, clock, request, control_plane))
        .inspect_err(|_| {
            if let Some(dir) = &dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        })?;
    reply(
        StatusCode::CREATED,
        json!({ "kubernetes_cluster": cluster }),
    )
}

async fn cluster_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let cluster = sandbox
        .store
        .read(|world, clock| Ok(kubernetes::get(world, &id)?.to_json(clock)))?;
    reply(StatusCode::OK, json!({ "kubernetes_cluster": cluster }))
}

async fn cluster_update(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let cluster = sandbox
        .store
        .write(|world, clock| kubernetes::update(world, clock, &id, request))?;
    reply(
        StatusCode::ACCEPTED,
        json!({ "kubernetes_cluster": cluster }),
    )
}

async fn cluster_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox
        .store
        .write(|world, _| kubernetes::delete(world, &id, None))?;
    no_content()
}

async fn cluster_associated(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let associated = sandbox
        .store
        .read(|world, _| kubernetes::associated(world, &id))?;
    reply(StatusCode::OK, associated)
}

async fn cluster_delete_selective(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let selection = if bytes.is_empty() {
        kubernetes::Selection::default()
    } else {
        body(&bytes)?
    };
    sandbox
        .store
        .write(|world, _| kubernetes::delete(world, &id, Some(selection)))?;
    no_content()
}

async fn cluster_delete_dangerous(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        let everything = kubernetes::everything_associated(world, &id)?;
        kubernetes::delete(world, &id, Some(everything))
    })?;
    no_content()
}

/// How long the requested credentials last: `expiry_seconds` if the request gives it (as DigitalOcean's API
/// reads it), else the sandbox's token lifetime; either way no longer than the sandbox's cap, if it has one.
fn expiry(sandbox: &Sandbox, page: &PageRequest) -> Result<Duration, ApiError> {
    page.param("expiry_seconds")
        .map(|seconds| {
            seconds
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| ApiError::bad_request("expiry_seconds must be a whole number"))
        })
        .transpose()
        .map(|expiry| {
            let asked = expiry
                .filter(|expiry| !expiry.is_zero())
                .unwrap_or(sandbox.runtime.kube.lifetime);
            sandbox
                .runtime
                .kube
                .max_lifetime
                .map_or(asked, |cap| asked.min(cap))
        })
}

async fn cluster_kubeconfig(
    State(sandbox): Shared,
    Path(id): Path<String>,
    query: PageRequest,
) -> Reply {
    let expiry = expiry(&sandbox, &query)?;
    let config = sandbox.store.read(|world, clock| {
        kubernetes::kubeconfig(world, clock, &id, expiry, &sandbox.runtime.kube)
    })?;
    Ok(([("content-type", "application/yaml")], config).into_response())
}

async fn cluster_credentials(
    State(sandbox): Shared,
    Path(id): Path<String>,
    query: PageRequest,
) -> Reply {
    let expiry = expiry(&sandbox, &query)?;
    let credentials = sandbox.store.read(|world, clock| {
        kubernetes::credentials(world, clock, &id, expiry, &sandbox.runtime.kube)
    })?;
    reply(StatusCode::OK, credentials)
}

async fn cluster_upgrades(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let upgrades = sandbox
        .store
        .read(|world, _| kubernetes::upgrades(world, &id))?;
    reply(StatusCode::OK, upgrades)
}

async fn cluster_upgrade(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, clock| kubernetes::upgrade(world, clock, &id, request))?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn pool_list(State(sandbox): Shared, Path(id): Path<String>, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, clock| kubernetes::pools(world, clock, &id))?;
    reply(StatusCode::OK, page.respond("node_pools", items))
}

async fn pool_create(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let pool = sandbox
        .store
        .write(|world, clock| kubernetes::add_pool(world, clock, &id, request))?;
    reply(StatusCode::CREATED, json!({ "node_pool": pool }))
}

async fn pool_get(State(sandbox): Shared, Path((id, pool)): Path<(String, String)>) -> Reply {
    let pool = sandbox
        .store
        .read(|world, clock| kubernetes::pool(world, clock, &id, &pool))?;
    reply(StatusCode::OK, json!({ "node_pool": pool }))
}

async fn pool_update(
    State(sandbox): Shared,
    Path((id, pool)): Path<(String, String)>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    let pool = sandbox
        .store
        .write(|world, clock| kubernetes::update_pool(world, clock, &id, &pool, request))?;
    reply(StatusCode::ACCEPTED, json!({ "node_pool": pool }))
}

async fn pool_delete(State(sandbox): Shared, Path((id, pool)): Path<(String, String)>) -> Reply {
    sandbox
        .store
        .write(|world, clock| kubernetes::delete_pool(world, clock, &id, &pool))?;
    no_content()
}

async fn node_delete(
    State(sandbox): Shared,
    Path((id, pool, node)): Path<(String, String, String)>,
    query: PageRequest,
) -> Reply {
    let replace = matches!(query.param("replace"), Some("1" | "true"));
    sandbox
        .store
        .write(|world, clock| kubernetes::delete_node(world, clock, &id, &pool, &node, replace))?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(serde::Deserialize)]
struct Recycle {
    nodes: Vec<String>,
}

async fn pool_recycle(
    State(sandbox): Shared,
    Path((id, pool)): Path<(String, String)>,
    bytes: Bytes,
) -> Reply {
    let request: Recycle = body(&bytes)?;
    sandbox
        .store
        .write(|world, clock| kubernetes::recycle(world, clock, &id, &pool, &request.nodes))?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn droplet_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let tag = page.param("tag_name").map(str::to_string);
    let items = sandbox
        .store
        .read(|world, clock| Ok(droplets::list(world, clock, tag.as_deref())))?;
    reply(StatusCode::OK, page.respond("droplets", items))
}

async fn droplet_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let (droplet, action) = sandbox
        .store
        .write(|world, clock| droplets::create(world, clock, request))?;
    // The user data is read here, and kept nowhere: it may hold private keys (the Vault appliance's do).
    if let (Some(id), Some(user_data)) = (
        droplet["id"].as_u64(),
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|request| request["user_data"].as_str().map(str::to_string)),
    ) {
        sandbox.runtime.boot(&sandbox.store, id, &user_data);
    }
    let id = droplet["id"].clone();
    reply(
        StatusCode::ACCEPTED,
        json!({
            "droplet": droplet,
            "links": {"actions": [{
                "id": action,
                "rel": "create",
                "href": format!("/v2/droplets/{id}/actions/{action}"),
            }]},
        }),
    )
}

async fn droplet_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let droplet = sandbox.store.read(|world, clock| {
        let id = droplets::find(world, &id)?;
        Ok(world.droplets[&id].to_json(world, clock))
    })?;
    reply(StatusCode::OK, json!({ "droplet": droplet }))
}

async fn droplet_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        let id = droplets::find(world, &id)?;
        droplets::delete(world, id);
        Ok(())
    })?;
    no_content()
}

async fn droplet_actions(
    State(sandbox): Shared,
    Path(id): Path<String>,
    page: PageRequest,
) -> Reply {
    let items = sandbox.store.read(|world, clock| {
        let id = droplets::find(world, &id)?;
        Ok(actions::list(world, clock, |action| {
            action.resource_type == actions::ResourceType::Droplet && action.resource_id == id
        }))
    })?;
    reply(StatusCode::OK, page.respond("actions", items))
}

async fn droplet_act(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let action = sandbox.store.write(|world, clock| {
        let id = droplets::find(world, &id)?;
        droplets::act(world, clock, id, request)
    })?;
    reply(StatusCode::CREATED, json!({ "action": action }))
}

async fn droplet_action(
    State(sandbox): Shared,
    Path((id, action)): Path<(String, String)>,
) -> Reply {
    let action = sandbox.store.read(|world, clock| {
        let id = droplets::find(world, &id)?;
        let action = actions::get(world, &action)?;
        if action.resource_type != actions::ResourceType::Droplet || action.resource_id != id {
            return Err(ApiError::not_found());
        }
        Ok(action.to_json(clock))
    })?;
    reply(StatusCode::OK, json!({ "action": action }))
}

async fn volume_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let name = page.param("name").map(str::to_string);
    let region = page.param("region").map(str::to_string);
    let items = sandbox.store.read(|world, _| {
        Ok(world
            .volumes
            .values()
            .filter(|volume| name.as_deref().is_none_or(|name| volume.name == name))
            .filter(|volume| {
                region
                    .as_deref()
                    .is_none_or(|region| volume.region == region)
            })
            .map(volumes::Volume::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("volumes", items))
}

async fn volume_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let volume = sandbox
        .store
        .write(|world, clock| volumes::create(world, clock, request))?;
    reply(StatusCode::CREATED, json!({ "volume": volume }))
}

async fn volume_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let volume = sandbox
        .store
        .read(|world, _| Ok(volumes::get(world, &id)?.to_json()))?;
    reply(StatusCode::OK, json!({ "volume": volume }))
}

async fn volume_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        volumes::delete(world, &id)?;
        projects::forget(world, &format!("do:volume:{id}"));
        Ok(())
    })?;
    no_content()
}

async fn volume_act(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let action = sandbox
        .store
        .write(|world, clock| volumes::act(world, clock, Some(&id), request))?;
    reply(StatusCode::ACCEPTED, json!({ "action": action }))
}

async fn volume_act_by_name(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let action = sandbox
        .store
        .write(|world, clock| volumes::act(world, clock, None, request))?;
    reply(StatusCode::ACCEPTED, json!({ "action": action }))
}

async fn volume_actions(
    State(sandbox): Shared,
    Path(id): Path<String>,
    page: PageRequest,
) -> Reply {
    let items = sandbox.store.read(|world, clock| {
        let region = volumes::get(world, &id)?.region.clone();
        Ok(actions::list(world, clock, |action| {
            action.resource_type == actions::ResourceType::Volume && action.region == region
        }))
    })?;
    reply(StatusCode::OK, page.respond("actions", items))
}

async fn volume_action(
    State(sandbox): Shared,
    Path((id, action)): Path<(String, String)>,
) -> Reply {
    let action = sandbox.store.read(|world, clock| {
        volumes::get(world, &id)?;
        let action = actions::get(world, &action)?;
        if action.resource_type != actions::ResourceType::Volume {
            return Err(ApiError::not_found());
        }
        Ok(action.to_json(clock))
    })?;
    reply(StatusCode::OK, json!({ "action": action }))
}

async fn firewall_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| {
        Ok(world
            .firewalls
            .values()
            .map(firewalls::Firewall::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("firewalls", items))
}

async fn firewall_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let firewall = sandbox
        .store
        .write(|world, clock| firewalls::create(world, clock.now, request))?;
    reply(StatusCode::ACCEPTED, json!({ "firewall": firewall }))
}

async fn firewall_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let firewall = sandbox
        .store
        .read(|world, _| Ok(firewalls::get(world, &id)?.to_json()))?;
    reply(StatusCode::OK, json!({ "firewall": firewall }))
}

async fn firewall_replace(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let firewall = sandbox
        .store
        .write(|world, _| firewalls::replace(world, &id, request))?;
    reply(StatusCode::OK, json!({ "firewall": firewall }))
}

async fn firewall_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox
        .store
        .write(|world, _| firewalls::delete(world, &id))?;
    no_content()
}

async fn firewall_add_members(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| firewalls::members(world, &id, request, true))?;
    no_content()
}

async fn firewall_remove_members(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| firewalls::members(world, &id, request, false))?;
    no_content()
}

async fn firewall_add_rules(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| firewalls::rules(world, &id, request, true))?;
    no_content()
}

async fn firewall_remove_rules(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| firewalls::rules(world, &id, request, false))?;
    no_content()
}

async fn balancer_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, clock| {
        Ok(world
            .load_balancers
            .values()
            .map(|balancer| balancer.to_json(world, clock))
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("load_balancers", items))
}

async fn balancer_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let balancer = sandbox
        .store
        .write(|world, clock| load_balancers::create(world, clock, request))?;
    reply(StatusCode::ACCEPTED, json!({ "load_balancer": balancer }))
}

async fn balancer_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let balancer = sandbox
        .store
        .read(|world, clock| Ok(load_balancers::get(world, &id)?.to_json(world, clock)))?;
    reply(StatusCode::OK, json!({ "load_balancer": balancer }))
}

async fn balancer_replace(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let balancer = sandbox
        .store
        .write(|world, clock| load_balancers::replace(world, clock, &id, request))?;
    reply(StatusCode::OK, json!({ "load_balancer": balancer }))
}

async fn balancer_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox
        .store
        .write(|world, _| load_balancers::delete(world, &id))?;
    no_content()
}

async fn balancer_add_droplets(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| load_balancers::droplets(world, &id, request, true))?;
    no_content()
}

async fn balancer_remove_droplets(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| load_balancers::droplets(world, &id, request, false))?;
    no_content()
}

async fn balancer_add_rules(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| load_balancers::rules(world, &id, request, true))?;
    no_content()
}

async fn balancer_remove_rules(
    State(sandbox): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| load_balancers::rules(world, &id, request, false))?;
    no_content()
}

async fn certificate_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let name = page.param("name").map(str::to_string);
    let items = sandbox.store.read(|world, clock| {
        Ok(world
            .certificates
            .values()
            .filter(|certificate| name.as_deref().is_none_or(|name| certificate.name == name))
            .map(|certificate| certificate.to_json(clock))
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("certificates", items))
}

async fn certificate_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let certificate = sandbox
        .store
        .write(|world, clock| certificates::create(world, clock, request))?;
    reply(StatusCode::CREATED, json!({ "certificate": certificate }))
}

async fn certificate_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let certificate = sandbox
        .store
        .read(|world, clock| Ok(certificates::get(world, &id)?.to_json(clock)))?;
    reply(StatusCode::OK, json!({ "certificate": certificate }))
}

async fn certificate_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox
        .store
        .write(|world, _| certificates::delete(world, &id))?;
    no_content()
}

async fn project_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| {
        Ok(world
            .projects
            .values()
            .map(projects::Project::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("projects", items))
}

async fn project_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let project = sandbox
        .store
        .write(|world, clock| projects::create(world, clock.now, request))?;
    reply(StatusCode::CREATED, json!({ "project": project }))
}

async fn project_get(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let project = sandbox.store.read(|world, _| {
        let id = projects::resolve(world, &id)?;
        Ok(world.projects[&id].to_json())
    })?;
    reply(StatusCode::OK, json!({ "project": project }))
}

async fn project_update(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let project = sandbox
        .store
        .write(|world, clock| projects::update(world, clock.now, &id, request))?;
    reply(StatusCode::OK, json!({ "project": project }))
}

async fn project_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox
        .store
        .write(|world, _| projects::delete(world, &id))?;
    no_content()
}

async fn project_resources(
    State(sandbox): Shared,
    Path(id): Path<String>,
    page: PageRequest,
) -> Reply {
    let items = sandbox
        .store
        .read(|world, _| projects::resources(world, &id))?;
    reply(StatusCode::OK, page.respond("resources", items))
}

async fn project_assign(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let assigned = sandbox
        .store
        .write(|world, clock| projects::assign(world, clock.now, &id, request))?;
    reply(StatusCode::OK, assigned)
}

async fn tag_list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| Ok(tags::list(world)))?;
    reply(StatusCode::OK, page.respond("tags", items))
}

async fn tag_create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let tag = sandbox
        .store
        .write(|world, _| tags::create(world, request))?;
    reply(StatusCode::CREATED, json!({ "tag": tag }))
}

async fn tag_get(State(sandbox): Shared, Path(name): Path<String>) -> Reply {
    let tag = sandbox.store.read(|world, _| tags::get(world, &name))?;
    reply(StatusCode::OK, json!({ "tag": tag }))
}

async fn tag_delete(State(sandbox): Shared, Path(name): Path<String>) -> Reply {
    sandbox.store.write(|world, _| tags::delete(world, &name))?;
    no_content()
}

async fn tag_resources(State(sandbox): Shared, Path(name): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| tags::apply(world, &name, request, true))?;
    no_content()
}

async fn untag_resources(State(sandbox): Shared, Path(name): Path<String>, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    sandbox
        .store
        .write(|world, _| tags::apply(world, &name, request, false))?;
    no_content()
}
