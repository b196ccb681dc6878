//! SSH keys of the account (`/v2/account/keys`): created from a public key, found by id or by fingerprint (the
//! MD5 of the key's blob, colon-separated, as DigitalOcean computes it), renamed, deleted; droplets name them
//! at creation.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use base64::Engine;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, body, no_content, reply};
use super::world::World;

/// The first id the account's keys get.
const FIRST_ID: u64 = 41_000_000;

/// The key types DigitalOcean accepts.
const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SshKey {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) public_key: String,
    pub(super) fingerprint: String,
}

impl SshKey {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "name": self.name,
        })
    }
}

#[derive(Debug, Deserialize)]
struct CreateKey {
    #[serde(default)]
    name: String,
    #[serde(default)]
    public_key: String,
}

#[derive(Debug, Deserialize)]
struct UpdateKey {
    #[serde(default)]
    name: Option<String>,
}

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/account/keys", get(list).post(create))
        .route(
            "/v2/account/keys/{key}",
            get(read).put(update).delete(delete),
        )
}

/// The fingerprint of an OpenSSH public key line (`type base64 [comment]`), or why it is not one. DigitalOcean
/// answers 422 "Key invalid, key should be of the form 'type key [comment]'" for anything else.
fn fingerprint(public_key: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::unprocessable("Key invalid, key should be of the form 'type key [comment]'");
    let mut words = public_key.split_whitespace();
    let (Some(kind), Some(encoded)) = (words.next(), words.next()) else {
        return Err(invalid());
    };
    if !KEY_TYPES.contains(&kind) {
        return Err(invalid());
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    // The blob starts with its own type, length-prefixed: a key pasted under the wrong type is refused.
    let named = blob
        .get(..4)
        .map(|length| u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize)
        .and_then(|length| blob.get(4..4 + length));
    if named != Some(kind.as_bytes()) {
        return Err(invalid());
    }
    let digest = Md5::digest(&blob);
    Ok(digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The key an id or a fingerprint names.
fn find<'w>(world: &'w World, key: &str) -> Result<&'w SshKey, ApiError> {
    match key.parse::<u64>() {
        Ok(id) => world.ssh_keys.get(&id),
        Err(_) => world
            .ssh_keys
            .values()
            .find(|known| known.fingerprint == key),
    }
    .ok_or_else(ApiError::not_found)
}

/// Checks that every key a droplet request names (by id, or by fingerprint as godo sends a string) exists.
pub(super) fn check_named(world: &World, keys: &[Value]) -> Result<(), ApiError> {
    for key in keys {
        let named = match key {
            Value::Number(id) => id.to_string(),
            Value::String(text) => text.clone(),
            other => {
                return Err(ApiError::unprocessable(format!(
                    "ssh_keys holds ids or fingerprints, not {other}"
                )));
            }
        };
        find(world, &named).map_err(|_| {
            ApiError::unprocessable(format!("The SSH key {named} could not be found."))
        })?;
    }
    Ok(())
}

async fn list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, _| Ok(world.ssh_keys.values().map(SshKey::to_json).collect()))?;
    reply(StatusCode::OK, page.respond("ssh_keys", items))
}

async fn create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request: CreateKey = body(&bytes)?;
    let key = sandbox.store.write(|world, _| {
        if request.name.trim().is_empty() {
            return Err(ApiError::unprocessable("Name can't be blank"));
        }
        let fingerprint = fingerprint(&request.public_key)?;
        if world
            .ssh_keys
            .values()
            .any(|known| known.fingerprint == fingerprint)
        {
            return Err(ApiError::unprocessable(
                "SSH Key is already in use on your account",
            ));
        }
        world.sequences.ssh_key += 1;
        let key = SshKey {
            id: FIRST_ID + world.sequences.ssh_key,
            name: request.name,
            public_key: request.public_key.trim().to_string(),
            fingerprint,
        };
        let json = key.to_json();
        world.ssh_keys.insert(key.id, key);
        Ok(json)
    })?;
    reply(StatusCode::CREATED, json!({ "ssh_key": key }))
}

async fn read(State(sandbox): Shared, Path(key): Path<String>) -> Reply {
    let key = sandbox
        .store
        .read(|world, _| Ok(find(world, &key)?.to_json()))?;
    reply(StatusCode::OK, json!({ "ssh_key": key }))
}

async fn update(State(sandbox): Shared, Path(key): Path<String>, bytes: Bytes) -> Reply {
    let request: UpdateKey = body(&bytes)?;
    let key = sandbox.store.write(|world, _| {
        let id = find(world, &key)?.id;
        let key = world.ssh_keys.get_mut(&id).expect("found above");
        if let Some(name) = request.name {
            if name.trim().is_empty() {
                return Err(ApiError::unprocessable("Name can't be blank"));
            }
            key.name = name;
        }
        Ok(key.to_json())
    })?;
    reply(StatusCode::OK, json!({ "ssh_key": key }))
}

async fn delete(State(sandbox): Shared, Path(key): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        let id = find(world, &key)?.id;
        world.ssh_keys.remove(&id);
        Ok(())
    })?;
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_md5_of_the_blob() {
        // The blob of `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...`: its type, then 32 key bytes.
        let mut blob = Vec::new();
        blob.extend(11u32.to_be_bytes());
        blob.extend(b"ssh-ed25519");
        blob.extend(32u32.to_be_bytes());
        blob.extend([7u8; 32]);
        let line = format!(
            "ssh-ed25519 {} me@host",
            base64::engine::general_purpose::STANDARD.encode(&blob)
        );
        let expected: String = Md5::digest(&blob)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(fingerprint(&line).unwrap(), expected);
        assert_eq!(expected.len(), 47);
        let mislabelled = line.replacen("ssh-ed25519", "ssh-rsa", 1);
        assert_eq!(fingerprint(&mislabelled).unwrap_err().status, 422);
        assert_eq!(
            fingerprint("ssh-ed25519 not-base64!").unwrap_err().status,
            422
        );
    }
}
