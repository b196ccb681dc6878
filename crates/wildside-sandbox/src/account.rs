//! The sandbox's account: who the token belongs to, and its limits.

use serde_json::{Value, json};

pub(super) const OWNER_UUID: &str = "5a4981aa-9653-4bd1-bef5-d6bff52042e4";
pub(super) const OWNER_ID: u64 = 2_600_001;

pub(super) fn to_json(droplet_limit: usize) -> Value {
    json!({
        "account": {
            "droplet_limit": droplet_limit,
            "floating_ip_limit": 3,
            "volume_limit": 100,
            "email": "sandbox@wildside-tofu.invalid",
            "name": "wildside-tofu sandbox",
            "uuid": OWNER_UUID,
            "email_verified": true,
            "status": "active",
            "status_message": "This is a wildside-tofu sandbox account, not a DigitalOcean one.",
            "team": {"uuid": "0f7e0a6b-62b4-4a4d-9d2c-7b6a0d2a1e11", "name": "wildside-tofu sandbox"},
        }
    })
}
