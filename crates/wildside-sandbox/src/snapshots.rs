//! Snapshots of droplets and volumes. A droplet snapshot is taken by the droplet's `snapshot` action and gets
//! an integer id, as the image it also is (`/v2/images/{id}`); a volume snapshot is posted to
//! `/v2/volumes/{id}/snapshots` and gets a UUID. Both are listed and deleted through `/v2/snapshots`, and
//! outlive what they were taken of, as on DigitalOcean. A volume can be created from a volume snapshot.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, body, no_content, reply};
use super::world::{World, new_id, timestamp};

/// The first id droplet snapshots get: apart from the distribution images' ids.
const FIRST_IMAGE_ID: u64 = 160_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Source {
    Droplet,
    Volume,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Snapshot {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) source: Source,
    pub(super) resource_id: String,
    pub(super) region: String,
    /// The disk (droplet) or volume size it was taken of, in GB: the least a droplet or volume made from it
    /// needs.
    pub(super) min_disk_size: u32,
    /// The distribution image the droplet ran, for a droplet snapshot.
    pub(super) image: Option<String>,
    pub(super) tags: Vec<String>,
    pub(super) created_at: SystemTime,
}

impl Snapshot {
    /// As `/v2/snapshots` and the volume snapshot paths show it.
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "regions": [self.region],
            "created_at": timestamp(self.created_at),
            "resource_id": self.resource_id,
            "resource_type": self.source,
            "min_disk_size": self.min_disk_size,
            "size_gigabytes": size_gigabytes(self.min_disk_size),
            "tags": self.tags,
        })
    }

    /// A droplet snapshot as `/v2/droplets/{id}/snapshots` shows it.
    fn to_droplet_json(&self) -> Value {
        json!({
            "id": self.image_id(),
            "name": self.name,
            "regions": [self.region],
            "created_at": timestamp(self.created_at),
            "min_disk_size": self.min_disk_size,
            "size_gigabytes": size_gigabytes(self.min_disk_size),
            "type": "snapshot",
        })
    }

    /// A droplet snapshot as `/v2/images` shows it: a private image of type `snapshot`.
    pub(super) fn to_image_json(&self) -> Value {
        let (distribution, _) = self
            .image
            .as_deref()
            .and_then(catalog::find_image)
            .map_or(("Unknown", ""), |(_, distribution, name)| {
                (distribution, name)
            });
        json!({
            "id": self.image_id(),
            "name": self.name,
            "type": "snapshot",
            "distribution": distribution,
            "slug": null,
            "public": false,
            "regions": [self.region],
            "created_at": timestamp(self.created_at),
            "min_disk_size": self.min_disk_size,
            "size_gigabytes": size_gigabytes(self.min_disk_size),
            "description": "",
            "tags": self.tags,
            "status": "available",
        })
    }

    pub(super) fn image_id(&self) -> u64 {
        self.id.parse().unwrap_or_default()
    }
}

/// What a snapshot is billed for: the sandbox's disks hold little, so a tenth of what they were taken of.
fn size_gigabytes(min_disk_size: u32) -> f64 {
    f64::from(min_disk_size) / 10.0
}

/// A name DigitalOcean would give an unnamed droplet snapshot: the droplet's and the time in milliseconds.
fn default_name(droplet: &str, at: SystemTime) -> String {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{droplet}-{millis}")
}

/// Takes a snapshot of a droplet (the droplet `snapshot` action does), stamped with the action's time: the
/// provider finds the snapshot among the droplet's by that time.
pub(super) fn of_droplet(world: &mut World, droplet_id: u64, name: Option<String>, at: SystemTime) {
    let droplet = &world.droplets[&droplet_id];
    let snapshot = Snapshot {
        id: String::new(),
        name: name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| default_name(&droplet.name, at)),
        source: Source::Droplet,
        resource_id: droplet_id.to_string(),
        region: droplet.region.clone(),
        min_disk_size: droplet.disk(),
        image: Some(droplet.image.clone()),
        tags: Vec::new(),
        created_at: at,
    };
    world.sequences.snapshot += 1;
    let id = (FIRST_IMAGE_ID + world.sequences.snapshot).to_string();
    world
        .snapshots
        .insert(id.clone(), Snapshot { id, ..snapshot });
}

/// The ids of a droplet's snapshots, for its `snapshot_ids`.
pub(super) fn of(world: &World, droplet_id: u64) -> Vec<u64> {
    let resource_id = droplet_id.to_string();
    world
        .snapshots
        .values()
        .filter(|snapshot| {
            snapshot.source == Source::Droplet && snapshot.resource_id == resource_id
        })
        .map(Snapshot::image_id)
        .collect()
}

/// The droplet snapshot an image id names.
pub(super) fn image(world: &World, id: u64) -> Option<&Snapshot> {
    world
        .snapshots
        .get(&id.to_string())
        .filter(|snapshot| snapshot.source == Source::Droplet)
}

/// The volume snapshot a new volume is created from: it must be one, in the volume's region, and no larger
/// than the volume. DigitalOcean answers 422 otherwise (godo and the provider pass its message through).
pub(super) fn for_new_volume(
    world: &World,
    id: &str,
    region: &str,
    size_gigabytes: u32,
) -> Result<(), ApiError> {
    let snapshot = world
        .snapshots
        .get(id)
        .filter(|snapshot| snapshot.source == Source::Volume)
        .ok_or_else(|| ApiError::unprocessable(format!("snapshot {id} could not be found")))?;
    if snapshot.region != region {
        return Err(ApiError::unprocessable(format!(
            "snapshot {id} is in {}, not {region}: a volume is created from a snapshot in its region",
            snapshot.region
        )));
    }
    if size_gigabytes < snapshot.min_disk_size {
        return Err(ApiError::unprocessable(format!(
            "size_gigabytes must be at least {} to hold snapshot {id}",
            snapshot.min_disk_size
        )));
    }
    Ok(())
}

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/snapshots", get(list))
        .route("/v2/snapshots/{id}", get(read).delete(delete))
        .route(
            "/v2/volumes/{id}/snapshots",
            get(volume_list).post(volume_create),
        )
        .route(
            "/v2/volumes/snapshots/{id}",
            get(volume_read).delete(volume_delete),
        )
        .route("/v2/droplets/{id}/snapshots", get(droplet_list))
}

/// `resource_type`, if given, filters by what the snapshots were taken of; godo sends `droplet` or `volume`.
async fn list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let source = match page.param("resource_type") {
        None | Some("") => None,
        Some("droplet") => Some(Source::Droplet),
        Some("volume") => Some(Source::Volume),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "resource_type must be droplet or volume, not {other}"
            )));
        }
    };
    let items = sandbox.store.read(|world, _| {
        Ok(world
            .snapshots
            .values()
            .filter(|snapshot| source.is_none_or(|source| snapshot.source == source))
            .map(Snapshot::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("snapshots", items))
}

fn find<'w>(world: &'w World, id: &str, only: Option<Source>) -> Result<&'w Snapshot, ApiError> {
    world
        .snapshots
        .get(id)
        .filter(|snapshot| only.is_none_or(|source| snapshot.source == source))
        .ok_or_else(ApiError::not_found)
}

async fn read(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let snapshot = sandbox
        .store
        .read(|world, _| Ok(find(world, &id, None)?.to_json()))?;
    reply(StatusCode::OK, json!({ "snapshot": snapshot }))
}

async fn delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        find(world, &id, None)?;
        world.snapshots.remove(&id);
        Ok(())
    })?;
    no_content()
}

#[derive(Debug, Deserialize)]
struct CreateVolumeSnapshot {
    #[serde(default)]
    name: String,
    #[serde(default)]
    tags: Vec<String>,
}

/// A volume snapshot's name: as a volume's, up to 64 letters, digits, dashes and dots.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

async fn volume_create(State(sandbox): Shared, Path(id): Path<String>, bytes: Bytes) -> Reply {
    let request: CreateVolumeSnapshot = body(&bytes)?;
    let snapshot = sandbox.store.write(|world, clock| {
        let volume = super::volumes::get(world, &id)?;
        if !valid_name(&request.name) {
            return Err(ApiError::unprocessable(
                "name is required: up to 64 letters, digits, dashes, dots and underscores",
            ));
        }
        let snapshot = Snapshot {
            id: new_id(),
            name: request.name,
            source: Source::Volume,
            resource_id: volume.id.clone(),
            region: volume.region.clone(),
            min_disk_size: volume.size_gigabytes,
            image: None,
            tags: request.tags,
            created_at: clock.now,
        };
        super::tags::remember(world, &snapshot.tags);
        let json = snapshot.to_json();
        world.snapshots.insert(snapshot.id.clone(), snapshot);
        Ok(json)
    })?;
    reply(StatusCode::CREATED, json!({ "snapshot": snapshot }))
}

async fn volume_list(State(sandbox): Shared, Path(id): Path<String>, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| {
        super::volumes::get(world, &id)?;
        Ok(world
            .snapshots
            .values()
            .filter(|snapshot| snapshot.source == Source::Volume && snapshot.resource_id == id)
            .map(Snapshot::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("snapshots", items))
}

async fn volume_read(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let snapshot = sandbox
        .store
        .read(|world, _| Ok(find(world, &id, Some(Source::Volume))?.to_json()))?;
    reply(StatusCode::OK, json!({ "snapshot": snapshot }))
}

async fn volume_delete(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        find(world, &id, Some(Source::Volume))?;
        world.snapshots.remove(&id);
        Ok(())
    })?;
    no_content()
}

async fn droplet_list(State(sandbox): Shared, Path(id): Path<String>, page: PageRequest) -> Reply {
    let items = sandbox.store.read(|world, _| {
        let id = super::droplets::find(world, &id)?.to_string();
        Ok(world
            .snapshots
            .values()
            .filter(|snapshot| snapshot.source == Source::Droplet && snapshot.resource_id == id)
            .map(Snapshot::to_droplet_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("snapshots", items))
}
