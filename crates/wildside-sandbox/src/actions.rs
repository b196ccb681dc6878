//! Actions: the async operations on droplets and volumes, `in-progress` until the sandbox's delay has passed.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::world::{Clock, World, timestamp};

/// The kinds of action the sandbox performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ActionKind {
    Create,
    Attach,
    Detach,
    Resize,
    PowerOff,
    PowerOn,
    Shutdown,
    Reboot,
    PowerCycle,
    Rename,
    EnableIpv6,
    EnableBackups,
    DisableBackups,
}

/// What an action acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ResourceType {
    Droplet,
    Volume,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Action {
    pub(super) id: u64,
    pub(super) kind: ActionKind,
    pub(super) resource_id: u64,
    pub(super) resource_type: ResourceType,
    pub(super) region: String,
    pub(super) started_at: SystemTime,
}

impl Action {
    pub(super) fn to_json(&self, clock: &Clock) -> Value {
        let done = clock.settled(self.started_at);
        json!({
            "id": self.id,
            "status": if done { "completed" } else { "in-progress" },
            "type": self.kind,
            "started_at": timestamp(self.started_at),
            "completed_at": done.then(|| timestamp(self.started_at + clock.delay)),
            "resource_id": self.resource_id,
            "resource_type": self.resource_type,
            "region": catalog::region_json(&self.region),
            "region_slug": self.region,
        })
    }
}

/// Records a new action and returns it.
pub(super) fn start(
    world: &mut World,
    clock: &Clock,
    kind: ActionKind,
    resource_type: ResourceType,
    resource_id: u64,
    region: &str,
) -> Action {
    let action = Action {
        id: world.next_action_id(),
        kind,
        resource_id,
        resource_type,
        region: region.to_string(),
        started_at: clock.now,
    };
    world.actions.insert(action.id, action.clone());
    action
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Action, ApiError> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| world.actions.get(&id))
        .ok_or_else(ApiError::not_found)
}

/// The newest actions first, as the API lists them.
pub(super) fn list(world: &World, clock: &Clock, filter: impl Fn(&Action) -> bool) -> Vec<Value> {
    world
        .actions
        .values()
        .rev()
        .filter(|action| filter(action))
        .map(|action| action.to_json(clock))
        .collect()
}
