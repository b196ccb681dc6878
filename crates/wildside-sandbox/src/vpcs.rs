//! VPCs: private networks per region whose ranges may not overlap, and that cannot go while members remain.

use std::time::SystemTime;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::world::{Clock, World, new_id, timestamp};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Vpc {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) region: String,
    pub(super) ip_range: Ipv4Net,
    pub(super) default: bool,
    pub(super) created_at: SystemTime,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateVpc {
    name: String,
    region: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    ip_range: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UpdateVpc {
    name: Option<String>,
    description: Option<String>,
    default: Option<bool>,
}

/// Ranges DigitalOcean keeps for DOKS pods and services; a VPC may not overlap them.
const RESERVED: [&str; 2] = ["10.244.0.0/16", "10.245.0.0/16"];

impl Vpc {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "urn": format!("do:vpc:{}", self.id),
            "name": self.name,
            "description": self.description,
            "region": self.region,
            "ip_range": self.ip_range.to_string(),
            "default": self.default,
            "created_at": timestamp(self.created_at),
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}

fn check_range(world: &World, range: Ipv4Net, except: Option<&str>) -> Result<(), ApiError> {
    if !(16..=28).contains(&range.prefix_len()) {
        return Err(ApiError::unprocessable(format!(
            "ip_range {range} must be between /16 and /28"
        )));
    }
    if !range.addr().is_private() || range.trunc() != range {
        return Err(ApiError::unprocessable(format!(
            "ip_range {range} must be a private network (RFC 1918) given by its first address"
        )));
    }
    for reserved in RESERVED {
        let reserved: Ipv4Net = reserved.parse().expect("a valid reserved range");
        if overlaps(range, reserved) {
            return Err(ApiError::unprocessable(format!(
                "ip_range {range} overlaps the range {reserved} reserved for Kubernetes"
            )));
        }
    }
    if let Some(other) = world
        .vpcs
        .values()
        .filter(|other| Some(other.id.as_str()) != except)
        .find(|other| overlaps(other.ip_range, range))
    {
        return Err(ApiError::unprocessable(format!(
            "ip_range {range} overlaps the range {} of VPC {}",
            other.ip_range, other.name
        )));
    }
    Ok(())
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A free /20 in 10.0.0.0/8 for a VPC created without a range.
fn free_range(world: &World) -> Result<Ipv4Net, ApiError> {
    let space: Ipv4Net = "10.0.0.0/8".parse().expect("a valid range");
    space
        .subnets(20)
        .expect("/20 is inside /8")
        .find(|candidate| check_range(world, *candidate, None).is_ok())
        .ok_or_else(|| ApiError::unprocessable("no free private range is left for a new VPC"))
}

pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    request: CreateVpc,
) -> Result<Value, ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(
            "name must be up to 255 letters, digits, hyphens, underscores and periods",
        ));
    }
    if catalog::find_region(&request.region).is_none() {
        return Err(ApiError::unprocessable(format!(
            "region {} is not available",
            request.region
        )));
    }
    if world
        .vpcs
        .values()
        .any(|vpc| vpc.region == request.region && vpc.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "a VPC named {} already exists in {}",
            request.name, request.region
        )));
    }
    let ip_range = match request.ip_range.as_deref() {
        Some(text) => {
            let range: Ipv4Net = text.parse().map_err(|_| {
                ApiError::unprocessable(format!("ip_range {text} is not an IPv4 CIDR block"))
            })?;
            check_range(world, range, None)?;
            range
        }
        None => free_range(world)?,
    };
    let vpc = Vpc {
        id: new_id(),
        name: request.name,
        description: request.description,
        region: request.region,
        ip_range,
        default: false,
        created_at: clock.now,
    };
    let json = vpc.to_json();
    let region = vpc.region.clone();
    world.vpcs.insert(vpc.id.clone(), vpc);
    // A region in use has its default VPC, as on DigitalOcean, where data sources look it up by region: made
    // here after the new VPC, so that its range keeps clear of the one asked for.
    default_for_region(world, clock, &region)?;
    Ok(json)
}

/// The VPC a new resource asks for (checked to exist in its region), or the region's default VPC.
pub(super) fn resolve(
    world: &mut World,
    clock: &Clock,
    requested: Option<String>,
    region: &str,
) -> Result<String, ApiError> {
    let Some(id) = requested.filter(|id| !id.is_empty()) else {
        return default_for_region(world, clock, region);
    };
    check_in_region(world, &id, region)?;
    Ok(id)
}

/// Whether the VPC exists and lies in `region`.
pub(super) fn check_in_region(world: &World, id: &str, region: &str) -> Result<(), ApiError> {
    let vpc = world
        .vpcs
        .get(id)
        .ok_or_else(|| ApiError::unprocessable(format!("The VPC {id} could not be found.")))?;
    if vpc.region != region {
        return Err(ApiError::unprocessable(format!(
            "The VPC {id} is in {}, not {region}.",
            vpc.region
        )));
    }
    Ok(())
}

/// The region's default VPC, made on first use as DigitalOcean does for a resource created without a VPC.
pub(super) fn default_for_region(
    world: &mut World,
    clock: &Clock,
    region: &str,
) -> Result<String, ApiError> {
    if let Some(vpc) = world
        .vpcs
        .values()
        .find(|vpc| vpc.default && vpc.region == region)
    {
        return Ok(vpc.id.clone());
    }
    let vpc = Vpc {
        id: new_id(),
        name: format!("default-{region}"),
        description: String::new(),
        region: region.to_string(),
        ip_range: free_range(world)?,
        default: true,
        created_at: clock.now,
    };
    let id = vpc.id.clone();
    world.vpcs.insert(id.clone(), vpc);
    Ok(id)
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Vpc, ApiError> {
    world.vpcs.get(id).ok_or_else(ApiError::not_found)
}

pub(super) fn update(world: &mut World, id: &str, request: UpdateVpc) -> Result<Value, ApiError> {
    let vpc = world.vpcs.get(id).ok_or_else(ApiError::not_found)?;
    if let Some(name) = &request.name {
        if !valid_name(name) {
            return Err(ApiError::unprocessable(
                "name must be up to 255 letters, digits, hyphens, underscores and periods",
            ));
        }
        if world
            .vpcs
            .values()
            .any(|other| other.id != id && other.region == vpc.region && &other.name == name)
        {
            return Err(ApiError::unprocessable(format!(
                "a VPC named {name} already exists in {}",
                vpc.region
            )));
        }
    }
    let region = vpc.region.clone();
    if request.default == Some(true) {
        for other in world
            .vpcs
            .values_mut()
            .filter(|other| other.region == region)
        {
            other.default = false;
        }
    }
    let vpc = world.vpcs.get_mut(id).expect("checked above");
    if let Some(name) = request.name {
        vpc.name = name;
    }
    if let Some(description) = request.description {
        vpc.description = description;
    }
    if request.default == Some(true) {
        vpc.default = true;
    }
    Ok(vpc.to_json())
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    let vpc = world.vpcs.get(id).ok_or_else(ApiError::not_found)?;
    let members = world.vpc_members(id);
    if !members.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "Can not delete VPC {} with members: {}",
            vpc.name,
            members
                .iter()
                .map(|member| member.urn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if vpc.default {
        return Err(ApiError::unprocessable(
            "Can not delete the default VPC of a region; make another VPC the default first",
        ));
    }
    world.vpcs.remove(id);
    Ok(())
}

pub(super) fn members(world: &World, id: &str) -> Result<Vec<Value>, ApiError> {
    get(world, id)?;
    Ok(world
        .vpc_members(id)
        .into_iter()
        .map(|member| {
            json!({
                "urn": member.urn,
                "name": member.name,
                "created_at": timestamp(member.created_at),
            })
        })
        .collect())
}
