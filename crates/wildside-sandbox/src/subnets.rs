//! VPC subnets (`/v2/vpcs/{id}/subnets`): named ranges inside a VPC's range, which DOKS worker nodes can be
//! placed in (`worker_subnet_uuid`). DigitalOcean's OpenAPI description does not document these paths yet;
//! godo (`VPCsService.CreateSubnet` and friends, v1.236) calls them, so the sandbox serves them with godo's
//! shapes: `vpc_subnet` and `vpc_subnets` roots, created with a name and an optional `ip_range`, renamed by
//! `PATCH`. A subnet must lie inside its VPC's range and overlap no other subnet of it.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, body, no_content, reply};
use super::world::{World, new_id, timestamp};

/// The prefix of a subnet created without a range: the first free one of this size in the VPC.
const DEFAULT_PREFIX: u8 = 24;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Subnet {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) name: String,
    pub(super) ip_range: Ipv4Net,
    pub(super) created_at: SystemTime,
}

impl Subnet {
    fn to_json(&self, world: &World) -> Value {
        json!({
            "id": self.id,
            "vpc_id": self.vpc_id,
            "name": self.name,
            "ip_range": self.ip_range.to_string(),
            "created_at": timestamp(self.created_at),
            "default": false,
            "urn": format!("do:vpcsubnet:{}", self.id),
            "region": world.vpcs.get(&self.vpc_id).map(|vpc| vpc.region.clone()),
        })
    }
}

#[derive(Debug, Deserialize)]
struct CreateSubnet {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ip_range: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UpdateSubnet {
    #[serde(default)]
    name: Option<String>,
}

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/vpcs/{id}/subnets", get(list).post(create))
        .route(
            "/v2/vpcs/{id}/subnets/{subnet}",
            get(read).patch(update).delete(delete),
        )
}

/// The subnet with this id in this VPC; a subnet of another VPC is not found.
pub(super) fn find<'w>(world: &'w World, vpc: &str, subnet: &str) -> Result<&'w Subnet, ApiError> {
    super::vpcs::get(world, vpc)?;
    world
        .subnets
        .get(subnet)
        .filter(|known| known.vpc_id == vpc)
        .ok_or_else(ApiError::not_found)
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

async fn list(State(sandbox): Shared, Path(vpc): Path<String>, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| {
        super::vpcs::get(world, &vpc)?;
        Ok(world
            .subnets
            .values()
            .filter(|subnet| subnet.vpc_id == vpc)
            .map(|subnet| subnet.to_json(world))
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("vpc_subnets", items))
}

async fn create(State(sandbox): Shared, Path(vpc): Path<String>, bytes: Bytes) -> Reply {
    let request: CreateSubnet = body(&bytes)?;
    let subnet = sandbox.store.write(|world, clock| {
        let range = super::vpcs::get(world, &vpc)?.ip_range;
        if request.name.trim().is_empty() {
            return Err(ApiError::unprocessable("name is required"));
        }
        let taken: Vec<Ipv4Net> = world
            .subnets
            .values()
            .filter(|subnet| subnet.vpc_id == vpc)
            .map(|subnet| subnet.ip_range)
            .collect();
        if world
            .subnets
            .values()
            .any(|subnet| subnet.vpc_id == vpc && subnet.name == request.name)
        {
            return Err(ApiError::unprocessable(format!(
                "a subnet named {} already exists in this VPC",
                request.name
            )));
        }
        let ip_range = match request.ip_range.filter(|range| !range.is_empty()) {
            Some(asked) => {
                let asked: Ipv4Net = asked.parse().map_err(|_| {
                    ApiError::unprocessable(format!("ip_range {asked} is not an IPv4 CIDR range"))
                })?;
                if !range.contains(&asked) {
                    return Err(ApiError::unprocessable(format!(
                        "ip_range {asked} is not inside the VPC's range {range}"
                    )));
                }
                if let Some(other) = taken.iter().find(|other| overlaps(other, &asked)) {
                    return Err(ApiError::unprocessable(format!(
                        "ip_range {asked} overlaps the subnet {other}"
                    )));
                }
                asked.trunc()
            }
            None => range
                .subnets(DEFAULT_PREFIX.max(range.prefix_len()))
                .ok()
                .into_iter()
                .flatten()
                .find(|candidate| !taken.iter().any(|other| overlaps(other, candidate)))
                .ok_or_else(|| ApiError::unprocessable("the VPC has no free range left"))?,
        };
        let subnet = Subnet {
            id: new_id(),
            vpc_id: vpc.clone(),
            name: request.name,
            ip_range,
            created_at: clock.now,
        };
        let json = subnet.to_json(world);
        world.subnets.insert(subnet.id.clone(), subnet);
        Ok(json)
    })?;
    reply(StatusCode::CREATED, json!({ "vpc_subnet": subnet }))
}

async fn read(State(sandbox): Shared, Path((vpc, subnet)): Path<(String, String)>) -> Reply {
    let subnet = sandbox
        .store
        .read(|world, _| Ok(find(world, &vpc, &subnet)?.to_json(world)))?;
    reply(StatusCode::OK, json!({ "vpc_subnet": subnet }))
}

async fn update(
    State(sandbox): Shared,
    Path((vpc, subnet)): Path<(String, String)>,
    bytes: Bytes,
) -> Reply {
    let request: UpdateSubnet = body(&bytes)?;
    let subnet = sandbox.store.write(|world, _| {
        let id = find(world, &vpc, &subnet)?.id.clone();
        if let Some(name) = request.name.filter(|name| !name.trim().is_empty()) {
            world.subnets.get_mut(&id).expect("found above").name = name;
        }
        Ok(world.subnets[&id].to_json(world))
    })?;
    reply(StatusCode::OK, json!({ "vpc_subnet": subnet }))
}

/// Deletes a subnet no cluster's workers are placed in (422 otherwise, as for a VPC with members).
async fn delete(State(sandbox): Shared, Path((vpc, subnet)): Path<(String, String)>) -> Reply {
    sandbox.store.write(|world, _| {
        let id = find(world, &vpc, &subnet)?.id.clone();
        if let Some(cluster) = world
            .clusters
            .values()
            .find(|cluster| cluster.worker_subnet_uuid.as_deref() == Some(id.as_str()))
        {
            return Err(ApiError::unprocessable(format!(
                "Can not delete subnet {id}: the workers of cluster {} are in it",
                cluster.name
            )));
        }
        world.subnets.remove(&id);
        Ok(())
    })?;
    no_content()
}
