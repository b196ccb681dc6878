//! Block storage volumes and their attach, detach and resize actions. A volume hangs on one droplet at most.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::actions::{self, ActionKind, ResourceType};
use super::catalog;
use super::error::ApiError;
use super::world::{Clock, World, new_id, timestamp};

/// How many volumes one droplet can have attached.
const VOLUMES_PER_DROPLET: usize = 7;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Volume {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) region: String,
    pub(super) size_gigabytes: u32,
    pub(super) filesystem_type: String,
    pub(super) filesystem_label: String,
    pub(super) tags: Vec<String>,
    pub(super) droplet_ids: Vec<u64>,
    pub(super) created_at: SystemTime,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateVolume {
    name: String,
    region: String,
    size_gigabytes: u32,
    #[serde(default)]
    description: String,
    #[serde(default)]
    filesystem_type: String,
    #[serde(default)]
    filesystem_label: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    snapshot_id: Option<String>,
}

/// A volume action as posted: attach, detach or resize.
#[derive(Debug, Deserialize)]
pub(super) struct VolumeAction {
    #[serde(rename = "type")]
    kind: VolumeActionKind,
    #[serde(default)]
    droplet_id: Option<u64>,
    #[serde(default)]
    size_gigabytes: Option<u32>,
    #[serde(default)]
    volume_name: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum VolumeActionKind {
    Attach,
    Detach,
    Resize,
}

impl Volume {
    pub(super) fn urn(&self) -> String {
        format!("do:volume:{}", self.id)
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "region": catalog::region_json(&self.region),
            "droplet_ids": self.droplet_ids,
            "name": self.name,
            "description": self.description,
            "size_gigabytes": self.size_gigabytes,
            "created_at": timestamp(self.created_at),
            "filesystem_type": self.filesystem_type,
            "filesystem_label": self.filesystem_label,
            "tags": self.tags,
        })
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    request: CreateVolume,
) -> Result<Value, ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(
            "name must be up to 64 lowercase letters, digits and hyphens, starting with a letter",
        ));
    }
    if catalog::find_region(&request.region).is_none() {
        return Err(ApiError::unprocessable(format!(
            "region {} is not available",
            request.region
        )));
    }
    if request
        .snapshot_id
        .as_deref()
        .is_some_and(|id| !id.is_empty())
    {
        return Err(ApiError::unprocessable(
            "the sandbox holds no snapshots to create a volume from",
        ));
    }
    if !(1..=16_384).contains(&request.size_gigabytes) {
        return Err(ApiError::unprocessable(
            "size_gigabytes must be between 1 and 16384",
        ));
    }
    if !["", "ext4", "xfs"].contains(&request.filesystem_type.as_str()) {
        return Err(ApiError::unprocessable(format!(
            "filesystem_type {} is not supported: use ext4 or xfs",
            request.filesystem_type
        )));
    }
    if world
        .volumes
        .values()
        .any(|volume| volume.region == request.region && volume.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "a volume named {} already exists in {}",
            request.name, request.region
        )));
    }
    super::tags::remember(world, &request.tags);
    let volume = Volume {
        id: new_id(),
        name: request.name,
        description: request.description,
        region: request.region,
        size_gigabytes: request.size_gigabytes,
        filesystem_type: request.filesystem_type,
        filesystem_label: request.filesystem_label,
        tags: request.tags,
        droplet_ids: Vec::new(),
        created_at: clock.now,
    };
    let json = volume.to_json();
    world.volumes.insert(volume.id.clone(), volume);
    Ok(json)
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Volume, ApiError> {
    world.volumes.get(id).ok_or_else(ApiError::not_found)
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    let volume = get(world, id)?;
    if !volume.droplet_ids.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "volume {} is attached to droplet {}: detach it first",
            volume.name, volume.droplet_ids[0]
        )));
    }
    world.volumes.remove(id);
    Ok(())
}

/// Attaches a volume to a droplet (both checked), recording the action.
pub(super) fn attach(
    world: &mut World,
    clock: &Clock,
    volume_id: &str,
    droplet_id: u64,
) -> Result<Value, ApiError> {
    let volume = get(world, volume_id)?;
    let droplet = world.droplets.get(&droplet_id).ok_or_else(|| {
        ApiError::unprocessable(format!("droplet {droplet_id} could not be found"))
    })?;
    if volume.droplet_ids.contains(&droplet_id) {
        return Err(ApiError::unprocessable(format!(
            "volume {} is already attached to droplet {droplet_id}",
            volume.name
        )));
    }
    if let Some(other) = volume.droplet_ids.first() {
        return Err(ApiError::unprocessable(format!(
            "volume {} is attached to droplet {other}: detach it first",
            volume.name
        )));
    }
    if droplet.region != volume.region {
        return Err(ApiError::unprocessable(format!(
            "volume {} is in {} and droplet {droplet_id} in {}: they must share a region",
            volume.name, volume.region, droplet.region
        )));
    }
    if droplet.volume_ids.len() >= VOLUMES_PER_DROPLET {
        return Err(ApiError::unprocessable(format!(
            "droplet {droplet_id} already has {VOLUMES_PER_DROPLET} volumes attached"
        )));
    }
    let region = volume.region.clone();
    link(world, volume_id, droplet_id);
    let action = actions::start(
        world,
        clock,
        ActionKind::Attach,
        ResourceType::Volume,
        0,
        &region,
    );
    Ok(action.to_json(clock))
}

/// Records the attachment on both sides.
pub(super) fn link(world: &mut World, volume_id: &str, droplet_id: u64) {
    if let Some(volume) = world.volumes.get_mut(volume_id) {
        volume.droplet_ids = vec![droplet_id];
    }
    if let Some(droplet) = world.droplets.get_mut(&droplet_id)
        && !droplet.volume_ids.iter().any(|id| id == volume_id)
    {
        droplet.volume_ids.push(volume_id.to_string());
    }
}

pub(super) fn detach(
    world: &mut World,
    clock: &Clock,
    volume_id: &str,
    droplet_id: u64,
) -> Result<Value, ApiError> {
    let volume = get(world, volume_id)?;
    if !volume.droplet_ids.contains(&droplet_id) {
        return Err(ApiError::unprocessable(format!(
            "volume {} is not attached to droplet {droplet_id}",
            volume.name
        )));
    }
    let region = volume.region.clone();
    unlink(world, volume_id);
    let action = actions::start(
        world,
        clock,
        ActionKind::Detach,
        ResourceType::Volume,
        0,
        &region,
    );
    Ok(action.to_json(clock))
}

/// Forgets the volume's attachment on both sides.
pub(super) fn unlink(world: &mut World, volume_id: &str) {
    let Some(volume) = world.volumes.get_mut(volume_id) else {
        return;
    };
    for droplet_id in std::mem::take(&mut volume.droplet_ids) {
        if let Some(droplet) = world.droplets.get_mut(&droplet_id) {
            droplet.volume_ids.retain(|id| id != volume_id);
        }
    }
}

/// Runs a posted volume action on the volume with this id (or, with `id` absent, the one named in the body).
pub(super) fn act(
    world: &mut World,
    clock: &Clock,
    id: Option<&str>,
    request: VolumeAction,
) -> Result<Value, ApiError> {
    let volume_id = match id {
        Some(id) => get(world, id)?.id.clone(),
        None => {
            let name = request.volume_name.as_deref().ok_or_else(|| {
                ApiError::unprocessable("volume_name is required without a volume id")
            })?;
            world
                .volumes
                .values()
                .find(|volume| {
                    volume.name == name
                        && request
                            .region
                            .as_deref()
                            .is_none_or(|region| region == volume.region)
                })
                .ok_or_else(ApiError::not_found)?
                .id
                .clone()
        }
    };
    let droplet_id = || {
        request
            .droplet_id
            .ok_or_else(|| ApiError::unprocessable("droplet_id is required"))
    };
    match request.kind {
        VolumeActionKind::Attach => attach(world, clock, &volume_id, droplet_id()?),
        VolumeActionKind::Detach => detach(world, clock, &volume_id, droplet_id()?),
        VolumeActionKind::Resize => {
            let size = request
                .size_gigabytes
                .ok_or_else(|| ApiError::unprocessable("size_gigabytes is required"))?;
            let volume = world.volumes.get_mut(&volume_id).expect("found above");
            if size <= volume.size_gigabytes {
                return Err(ApiError::unprocessable(
                    "a volume can only grow: size_gigabytes must exceed the current size",
                ));
            }
            volume.size_gigabytes = size;
            let region = volume.region.clone();
            Ok(actions::start(
                world,
                clock,
                ActionKind::Resize,
                ResourceType::Volume,
                0,
                &region,
            )
            .to_json(clock))
        }
    }
}
