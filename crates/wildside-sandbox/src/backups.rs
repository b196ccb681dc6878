//! Droplet backups: the backup policy a droplet's backups follow (set at creation, by `enable_backups` or by
//! `change_backup_policy`), read back through `/v2/droplets/{id}/backups/policy`, and the plans DigitalOcean
//! supports. The sandbox takes no backups, so a droplet's backup list is empty.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, reply};
use super::world::World;

/// The hours a backup window may start at.
const WINDOW_STARTS: [u8; 6] = [0, 4, 8, 12, 16, 20];
const WINDOW_HOURS: u8 = 4;
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Plan {
    Daily,
    Weekly,
}

impl Plan {
    fn retention_days(self) -> u32 {
        match self {
            Plan::Daily => 7,
            Plan::Weekly => 28,
        }
    }
}

/// A backup policy as posted (`backup_policy` of a droplet create or backup action) and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Policy {
    pub(super) plan: Plan,
    #[serde(default)]
    pub(super) weekday: Option<String>,
    #[serde(default)]
    pub(super) hour: Option<u8>,
}

impl Policy {
    /// What DigitalOcean gives a droplet whose backups are enabled without a policy: weekly, Sundays, from
    /// midnight.
    pub(super) fn default_weekly() -> Self {
        Self {
            plan: Plan::Weekly,
            weekday: Some("SUN".into()),
            hour: Some(0),
        }
    }

    /// Checks a posted policy and fills what it leaves out (hour 0; a weekly plan's Sunday). A daily plan has
    /// no weekday; DigitalOcean refuses hours that do not start a window and unknown weekdays with a 422.
    pub(super) fn checked(self) -> Result<Self, ApiError> {
        let hour = self.hour.unwrap_or(0);
        if !WINDOW_STARTS.contains(&hour) {
            return Err(ApiError::unprocessable(format!(
                "backup_policy.hour must be one of {WINDOW_STARTS:?}, not {hour}"
            )));
        }
        // godo sends an unset weekday as the empty string.
        let weekday = match (self.plan, self.weekday.filter(|day| !day.is_empty())) {
            (Plan::Daily, _) => None,
            (Plan::Weekly, None) => Some("SUN".to_string()),
            (Plan::Weekly, Some(day)) if WEEKDAYS.contains(&day.as_str()) => Some(day),
            (Plan::Weekly, Some(day)) => {
                return Err(ApiError::unprocessable(format!(
                    "backup_policy.weekday must be one of {WEEKDAYS:?}, not {day}"
                )));
            }
        };
        Ok(Self {
            plan: self.plan,
            weekday,
            hour: Some(hour),
        })
    }

    fn to_json(&self) -> Value {
        let mut policy = json!({
            "plan": self.plan,
            "hour": self.hour.unwrap_or(0),
            "window_length_hours": WINDOW_HOURS,
            "retention_period_days": self.plan.retention_days(),
        });
        if let Some(weekday) = &self.weekday {
            policy["weekday"] = json!(weekday);
        }
        policy
    }
}

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/droplets/{id}/backups", get(backups))
        .route("/v2/droplets/{id}/backups/policy", get(policy))
        .route("/v2/droplets/backups/policies", get(policies))
        .route("/v2/droplets/backups/supported_policies", get(supported))
}

fn record(world: &World, id: u64) -> Value {
    let droplet = &world.droplets[&id];
    let mut record = json!({"droplet_id": id, "backup_enabled": droplet.backups});
    if droplet.backups {
        record["backup_policy"] = droplet
            .backup_policy
            .clone()
            .unwrap_or_else(Policy::default_weekly)
            .to_json();
    }
    record
}

async fn backups(State(sandbox): Shared, Path(id): Path<String>, page: PageRequest) -> Reply {
    sandbox
        .store
        .read(|world, _| super::droplets::find(world, &id))?;
    reply(StatusCode::OK, page.respond("backups", Vec::new()))
}

async fn policy(State(sandbox): Shared, Path(id): Path<String>) -> Reply {
    let policy = sandbox.store.read(|world, _| {
        let id = super::droplets::find(world, &id)?;
        Ok(record(world, id))
    })?;
    reply(StatusCode::OK, json!({ "policy": policy }))
}

/// Every droplet's policy, keyed by droplet id, as DigitalOcean lists them.
async fn policies(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, _| Ok(world.droplets.keys().map(|id| record(world, *id)).collect()))?;
    let mut body = page.respond("policies", items);
    let keyed: serde_json::Map<String, Value> = body["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|record| (record["droplet_id"].to_string(), record.clone()))
        .collect();
    body["policies"] = Value::Object(keyed);
    reply(StatusCode::OK, body)
}

async fn supported() -> Reply {
    let plans: Vec<Value> = [Plan::Weekly, Plan::Daily]
        .into_iter()
        .map(|plan| {
            json!({
                "name": plan,
                "possible_window_starts": WINDOW_STARTS,
                "window_length_hours": WINDOW_HOURS,
                "retention_period_days": plan.retention_days(),
                "possible_days": if plan == Plan::Weekly { WEEKDAYS.to_vec() } else { Vec::new() },
            })
        })
        .collect();
    reply(StatusCode::OK, json!({ "supported_policies": plans }))
}
