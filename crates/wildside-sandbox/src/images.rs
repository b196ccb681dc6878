//! Images: the distribution images of the catalogue, found by id or by slug (`/v2/images/ubuntu-22-04-x64`),
//! and the account's droplet snapshots, which DigitalOcean also lists as private images of type `snapshot`.
//! The sandbox offers no marketplace applications, so `type=application` lists none.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, no_content, reply};
use super::world::World;

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/images", get(list))
        .route("/v2/images/{image}", get(read).delete(delete))
}

/// The distribution images, then the account's snapshots, as `GET /v2/images` lists them. `private=true`
/// lists only the account's own images; `type` only those of that type; `tag_name` only images with that
/// tag, which distribution images never carry.
async fn list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let private = matches!(page.param("private"), Some("true"));
    let kind = page.param("type").filter(|kind| !kind.is_empty());
    if let Some(kind) = kind
        && !["distribution", "application"].contains(&kind)
    {
        return Err(ApiError::bad_request(format!(
            "type must be distribution or application, not {kind}"
        )));
    }
    let tag = page.param("tag_name").map(str::to_string);
    let items = sandbox.store.read(|world, _| {
        let distributions = catalog::IMAGES
            .iter()
            .filter(|_| !private && tag.is_none() && kind.is_none_or(|kind| kind == "distribution"))
            .map(|(slug, _, _)| catalog::image_json(slug));
        let snapshots = world
            .snapshots
            .values()
            .filter(|_| kind.is_none())
            .filter_map(|snapshot| super::snapshots::image(world, snapshot.image_id()))
            .filter(|snapshot| {
                tag.as_deref()
                    .is_none_or(|tag| snapshot.tags.iter().any(|t| t == tag))
            })
            .map(super::snapshots::Snapshot::to_image_json);
        Ok(distributions.chain(snapshots).collect::<Vec<Value>>())
    })?;
    reply(StatusCode::OK, page.respond("images", items))
}

/// An image by integer id (a distribution image or a droplet snapshot) or by slug (distribution images
/// only: snapshots have none).
fn find(world: &World, image: &str) -> Result<Value, ApiError> {
    match image.parse::<u64>() {
        Ok(id) => catalog::image_by_id(id)
            .map(catalog::image_json)
            .or_else(|| {
                super::snapshots::image(world, id).map(|snapshot| snapshot.to_image_json())
            }),
        Err(_) => catalog::find_image(image).map(|(slug, _, _)| catalog::image_json(slug)),
    }
    .ok_or_else(ApiError::not_found)
}

async fn read(State(sandbox): Shared, Path(image): Path<String>) -> Reply {
    let image = sandbox.store.read(|world, _| find(world, &image))?;
    reply(StatusCode::OK, json!({ "image": image }))
}

/// Deletes a droplet snapshot by its image id; the catalogue's public images cannot be deleted (404, as an
/// image the account does not own).
async fn delete(State(sandbox): Shared, Path(image): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        let id = image
            .parse::<u64>()
            .ok()
            .and_then(|id| super::snapshots::image(world, id))
            .ok_or_else(ApiError::not_found)?
            .id
            .clone();
        world.snapshots.remove(&id);
        Ok(())
    })?;
    no_content()
}
