//! Droplets: created `new`, `active` once the sandbox's delay has passed, with addresses from their VPC and a
//! public one on loopback, volumes attached at creation or later, and power and resize actions.

use std::net::Ipv4Addr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::actions::{self, ActionKind, ResourceType};
use super::catalog;
use super::error::ApiError;
use super::world::{Clock, World, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Power {
    On,
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Droplet {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) region: String,
    pub(super) size: String,
    pub(super) image: String,
    pub(super) vpc_uuid: String,
    pub(super) tags: Vec<String>,
    pub(super) volume_ids: Vec<String>,
    pub(super) monitoring: bool,
    pub ipv6: bool,
    pub(super) backups: bool,
    pub(super) private_address: Ipv4Addr,
    pub(super) public_address: Ipv4Addr,
    pub(super) power: Power,
    pub(super) created_at: SystemTime,
}

/// The image of a droplet request: a slug or an image id.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ImageRef {
    Slug(String),
    Id(u64),
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateDroplet {
    name: String,
    region: String,
    size: String,
    image: ImageRef,
    #[serde(default)]
    ssh_keys: Vec<serde_json::Value>,
    #[serde(default)]
    backups: bool,
    #[serde(default)]
    ipv6: bool,
    #[serde(default)]
    monitoring: bool,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    volumes: Vec<VolumeRef>,
    #[serde(default)]
    vpc_uuid: Option<String>,
}

/// A volume to attach at creation: its id, or `{"id"}` or `{"name"}` as godo sends it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum VolumeRef {
    Id(String),
    ById { id: String },
    ByName { name: String },
}

#[derive(Debug, Deserialize)]
pub(super) struct DropletAction {
    #[serde(rename = "type")]
    kind: ActionKind,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Droplet {
    pub(super) fn urn(&self) -> String {
        format!("do:droplet:{}", self.id)
    }

    pub(super) fn status(&self, clock: &Clock) -> &'static str {
        if !clock.settled(self.created_at) {
            "new"
        } else if self.power == Power::Off {
            "off"
        } else {
            "active"
        }
    }

    pub(super) fn to_json(&self, world: &World, clock: &Clock) -> Value {
        let size = catalog::find_size(&self.size).expect("droplets are created with known sizes");
        let private_netmask = world
            .vpcs
            .get(&self.vpc_uuid)
            .map_or(Ipv4Addr::new(255, 255, 240, 0), |vpc| {
                vpc.ip_range.netmask()
            });
        let mut features = vec!["private_networking"];
        if self.monitoring {
            features.push("monitoring");
        }
        if self.ipv6 {
            features.push("ipv6");
        }
        if self.backups {
            features.push("backups");
        }
        json!({
            "id": self.id,
            "name": self.name,
            "memory": size.memory,
            "vcpus": size.vcpus,
            "disk": size.disk,
            "disk_info": [{"type": "local", "size": {"amount": size.disk, "unit": "gib"}}],
            "locked": false,
            "status": self.status(clock),
            "kernel": null,
            "created_at": timestamp(self.created_at),
            "features": features,
            "backup_ids": [],
            "next_backup_window": null,
            "snapshot_ids": [],
            "image": catalog::image_json(&self.image),
            "volume_ids": self.volume_ids,
            "size": catalog::size_json(size),
            "size_slug": self.size,
            "networks": {
                "v4": [
                    {
                        "ip_address": self.private_address.to_string(),
                        "netmask": private_netmask.to_string(),
                        "gateway": "",
                        "type": "private",
                    },
                    {
                        "ip_address": self.public_address.to_string(),
                        "netmask": "255.255.255.0",
                        "gateway": Ipv4Addr::from(u32::from(self.public_address) & !0xff | 1).to_string(),
                        "type": "public",
                    },
                ],
                "v6": [],
            },
            "region": catalog::region_json(&self.region),
            "tags": self.tags,
            "vpc_uuid": self.vpc_uuid,
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Creates a droplet; returns it and the id of its create action.
pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    request: CreateDroplet,
) -> Result<(Value, u64), ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(
            "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
        ));
    }
    if catalog::find_region(&request.region).is_none() {
        return Err(ApiError::unprocessable(format!(
            "You specified an invalid region for Droplet creation: {}",
            request.region
        )));
    }
    if catalog::find_size(&request.size).is_none() {
        return Err(ApiError::unprocessable(format!(
            "You specified an invalid size for Droplet creation: {}",
            request.size
        )));
    }
    let image = match request.image {
        ImageRef::Slug(slug) if catalog::find_image(&slug).is_some() => slug,
        ImageRef::Slug(slug) => {
            return Err(ApiError::unprocessable(format!(
                "You specified an invalid image for Droplet creation: {slug}"
            )));
        }
        ImageRef::Id(id) => catalog::IMAGES
            .iter()
            .enumerate()
            .find(|(index, _)| 100_000 + *index as u64 == id)
            .map(|(_, (slug, _, _))| slug.to_string())
            .ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "You specified an invalid image for Droplet creation: {id}"
                ))
            })?,
    };
    if !request.ssh_keys.is_empty() {
        return Err(ApiError::unprocessable(
            "the sandbox account has no SSH keys: create the droplet without ssh_keys",
        ));
    }
    let vpc_uuid = super::vpcs::resolve(world, clock, request.vpc_uuid, &request.region)?;
    let mut volume_ids = Vec::new();
    for reference in &request.volumes {
        let volume = match reference {
            VolumeRef::Id(id) | VolumeRef::ById { id } => world.volumes.get(id),
            VolumeRef::ByName { name } => world
                .volumes
                .values()
                .find(|volume| &volume.name == name && volume.region == request.region),
        }
        .ok_or_else(|| {
            ApiError::unprocessable(format!("volume {reference:?} could not be found"))
        })?;
        volume_ids.push(volume.id.clone());
        if !volume.droplet_ids.is_empty() || volume.region != request.region {
            return Err(ApiError::unprocessable(format!(
                "volume {} cannot be attached: it is attached elsewhere or in another region",
                volume.name
            )));
        }
    }
    super::tags::remember(world, &request.tags);
    let droplet = Droplet {
        id: world.next_droplet_id(),
        name: request.name,
        region: request.region,
        size: request.size,
        image,
        private_address: world.next_private_address(&vpc_uuid)?,
        public_address: world.next_public_address(),
        vpc_uuid,
        tags: request.tags,
        volume_ids: Vec::new(),
        monitoring: request.monitoring,
        ipv6: request.ipv6,
        backups: request.backups,
        power: Power::On,
        created_at: clock.now,
    };
    let id = droplet.id;
    let region = droplet.region.clone();
    world.droplets.insert(id, droplet);
    for volume_id in &volume_ids {
        super::volumes::link(world, volume_id, id);
    }
    let action = actions::start(
        world,
        clock,
        ActionKind::Create,
        ResourceType::Droplet,
        id,
        &region,
    );
    Ok((world.droplets[&id].to_json(world, clock), action.id))
}

pub(super) fn find(world: &World, id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>()
        .ok()
        .filter(|id| world.droplets.contains_key(id))
        .ok_or_else(ApiError::not_found)
}

pub(super) fn list(world: &World, clock: &Clock, tag: Option<&str>) -> Vec<Value> {
    world
        .droplets
        .values()
        .filter(|droplet| tag.is_none_or(|tag| droplet.tags.iter().any(|t| t == tag)))
        .map(|droplet| droplet.to_json(world, clock))
        .collect()
}

/// Deletes a droplet: its volumes are detached, and firewalls, load balancers and projects forget it.
pub(super) fn delete(world: &mut World, id: u64) {
    let Some(droplet) = world.droplets.remove(&id) else {
        return;
    };
    for volume_id in &droplet.volume_ids {
        if let Some(volume) = world.volumes.get_mut(volume_id) {
            volume.droplet_ids.retain(|other| *other != id);
        }
    }
    for firewall in world.firewalls.values_mut() {
        firewall.droplet_ids.retain(|other| *other != id);
    }
    for balancer in world.load_balancers.values_mut() {
        balancer.droplet_ids.retain(|other| *other != id);
    }
    super::projects::forget(world, &droplet.urn());
}

pub(super) fn act(
    world: &mut World,
    clock: &Clock,
    id: u64,
    request: DropletAction,
) -> Result<Value, ApiError> {
    let droplet = world
        .droplets
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    match request.kind {
        ActionKind::PowerOff | ActionKind::Shutdown => droplet.power = Power::Off,
        ActionKind::PowerOn | ActionKind::Reboot | ActionKind::PowerCycle => {
            droplet.power = Power::On;
        }
        ActionKind::Resize => {
            let size = request
                .size
                .ok_or_else(|| ApiError::unprocessable("size is required for a resize"))?;
            if catalog::find_size(&size).is_none() {
                return Err(ApiError::unprocessable(format!(
                    "You specified an invalid size for Droplet resize: {size}"
                )));
            }
            if droplet.power == Power::On {
                return Err(ApiError::unprocessable(
                    "Droplet must be powered off before it can be resized.",
                ));
            }
            droplet.size = size;
        }
        ActionKind::Rename => {
            let name = request
                .name
                .ok_or_else(|| ApiError::unprocessable("name is required for a rename"))?;
            if !valid_name(&name) {
                return Err(ApiError::unprocessable(
                    "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
                ));
            }
            droplet.name = name;
        }
        ActionKind::EnableIpv6 => droplet.ipv6 = true,
        ActionKind::EnableBackups => droplet.backups = true,
        ActionKind::DisableBackups => droplet.backups = false,
        ActionKind::Create | ActionKind::Attach | ActionKind::Detach => {
            return Err(ApiError::unprocessable(format!(
                "{:?} is not a droplet action",
                request.kind
            )));
        }
    }
    let region = droplet.region.clone();
    Ok(actions::start(
        world,
        clock,
        request.kind,
        ResourceType::Droplet,
        id,
        &region,
    )
    .to_json(clock))
}
