//! Tags: created explicitly or by tagging a resource, counted over the droplets and volumes that carry them.
//!
//! As on DigitalOcean, a tag lives until it is deleted explicitly: tagging any resource (a droplet, volume,
//! firewall, cluster or node pool) creates it, and it outlives the resources that carried it. Deleting a tag
//! that is still applied succeeds (204) and untags every resource that carries it, as the API reference says
//! ("deleting a tag also untags all the resources that have previously been tagged"); deleting it again is a
//! 404, which the provider's own read treats as "already gone" and its delete reports as an error.

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::world::World;

#[derive(Debug, Deserialize)]
pub(super) struct CreateTag {
    name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct TagResources {
    resources: Vec<TaggedResource>,
}

#[derive(Debug, Deserialize)]
struct TaggedResource {
    resource_id: String,
    resource_type: TaggedType,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TaggedType {
    Droplet,
    Volume,
    Image,
    VolumeSnapshot,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

/// Records tags used on a new resource, as the API creates them on first use.
pub(super) fn remember(world: &mut World, tags: &[String]) {
    world.tags.extend(tags.iter().cloned());
}

/// Records every tag some resource carries, whatever request put it there: run after every change, so that
/// no path that tags a resource can leave a tag the API would not find.
pub(super) fn remember_carried(world: &mut World) {
    let carried: Vec<String> = world
        .droplets
        .values()
        .flat_map(|droplet| droplet.tags.iter())
        .chain(world.volumes.values().flat_map(|volume| volume.tags.iter()))
        .chain(
            world
                .firewalls
                .values()
                .flat_map(|firewall| firewall.tags.iter()),
        )
        .chain(world.clusters.values().flat_map(|cluster| {
            cluster
                .tags
                .iter()
                .chain(cluster.node_pools.iter().flat_map(|pool| pool.tags.iter()))
        }))
        .filter(|tag| !world.tags.contains(*tag))
        .cloned()
        .collect();
    world.tags.extend(carried);
}

fn count(world: &World, name: &str) -> (usize, usize) {
    let droplets = world
        .droplets
        .values()
        .filter(|droplet| droplet.tags.iter().any(|tag| tag == name))
        .count();
    let volumes = world
        .volumes
        .values()
        .filter(|volume| volume.tags.iter().any(|tag| tag == name))
        .count();
    (droplets, volumes)
}

pub(super) fn to_json(world: &World, name: &str) -> Value {
    let (droplets, volumes) = count(world, name);
    let zero = json!({"count": 0});
    json!({
        "name": name,
        "resources": {
            "count": droplets + volumes,
            "droplets": {"count": droplets},
            "images": zero,
            "volumes": {"count": volumes},
            "volume_snapshots": zero,
            "databases": zero,
        }
    })
}

pub(super) fn create(world: &mut World, request: CreateTag) -> Result<Value, ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(
            "tag names are up to 255 letters, digits, colons, dashes and underscores",
        ));
    }
    world.tags.insert(request.name.clone());
    Ok(to_json(world, &request.name))
}

pub(super) fn get(world: &World, name: &str) -> Result<Value, ApiError> {
    if world.tags.contains(name) {
        Ok(to_json(world, name))
    } else {
        Err(ApiError::not_found())
    }
}

pub(super) fn list(world: &World) -> Vec<Value> {
    world.tags.iter().map(|name| to_json(world, name)).collect()
}

pub(super) fn delete(world: &mut World, name: &str) -> Result<(), ApiError> {
    if !world.tags.remove(name) {
        return Err(ApiError::not_found());
    }
    for droplet in world.droplets.values_mut() {
        droplet.tags.retain(|tag| tag != name);
    }
    for volume in world.volumes.values_mut() {
        volume.tags.retain(|tag| tag != name);
    }
    for firewall in world.firewalls.values_mut() {
        firewall.tags.retain(|tag| tag != name);
    }
    for cluster in world.clusters.values_mut() {
        cluster.tags.retain(|tag| tag != name);
        for pool in &mut cluster.node_pools {
            pool.tags.retain(|tag| tag != name);
        }
    }
    Ok(())
}

/// Tags (`add`) or untags resources.
pub(super) fn apply(
    world: &mut World,
    name: &str,
    request: TagResources,
    add: bool,
) -> Result<(), ApiError> {
    if add {
        if !valid_name(name) {
            return Err(ApiError::unprocessable("invalid tag name"));
        }
        world.tags.insert(name.to_string());
    } else if !world.tags.contains(name) {
        return Err(ApiError::not_found());
    }
    for resource in request.resources {
        let tags = match resource.resource_type {
            TaggedType::Droplet => resource
                .resource_id
                .parse::<u64>()
                .ok()
                .and_then(|id| world.droplets.get_mut(&id))
                .map(|droplet| &mut droplet.tags),
            TaggedType::Volume => world
                .volumes
                .get_mut(&resource.resource_id)
                .map(|volume| &mut volume.tags),
            TaggedType::Image | TaggedType::VolumeSnapshot => None,
        }
        .ok_or_else(|| {
            ApiError::unprocessable(format!(
                "resource {} could not be found",
                resource.resource_id
            ))
        })?;
        if add && !tags.iter().any(|tag| tag == name) {
            tags.push(name.to_string());
        } else if !add {
            tags.retain(|tag| tag != name);
        }
    }
    Ok(())
}
