//! Projects and the resources assigned to them. The account's default project holds every resource that no
//! other project was given, as on DigitalOcean.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::account::{OWNER_ID, OWNER_UUID};
use super::error::ApiError;
use super::world::{DEFAULT_PROJECT, World, new_id, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Environment {
    Development,
    Staging,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Project {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) purpose: String,
    pub(super) environment: Option<Environment>,
    pub(super) is_default: bool,
    pub(super) created_at: SystemTime,
    pub(super) updated_at: SystemTime,
    pub(super) resources: Vec<Assignment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Assignment {
    pub(super) urn: String,
    pub(super) assigned_at: SystemTime,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateProject {
    name: String,
    #[serde(default)]
    description: String,
    purpose: String,
    #[serde(default, deserialize_with = "blank_environment")]
    environment: Option<Environment>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UpdateProject {
    name: Option<String>,
    description: Option<String>,
    purpose: Option<String>,
    #[serde(default, deserialize_with = "blank_environment")]
    environment: Option<Environment>,
    is_default: Option<bool>,
}

/// An environment, where an empty string means none: the provider sends `"environment": ""` when its
/// configuration names none, and DigitalOcean accepts it as no environment.
fn blank_environment<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Environment>, D::Error> {
    match Option::<String>::deserialize(deserializer)?.as_deref() {
        None | Some("") => Ok(None),
        Some(name) => {
            Environment::deserialize(serde::de::value::StrDeserializer::new(name)).map(Some)
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AssignResources {
    resources: Vec<String>,
}

impl Project {
    pub(super) fn default_project(now: SystemTime) -> Self {
        Self {
            id: new_id(),
            name: DEFAULT_PROJECT.into(),
            description: "The sandbox account's default project.".into(),
            purpose: "Operational / Developer tooling".into(),
            environment: Some(Environment::Development),
            is_default: true,
            created_at: now,
            updated_at: now,
            resources: Vec::new(),
        }
    }

    /// The project as the API writes it; a project without an environment has no `environment` member (the
    /// schema allows only the three names), which godo reads as the empty string the provider compares with.
    pub(super) fn to_json(&self) -> Value {
        let mut json = json!({
            "id": self.id,
            "owner_uuid": OWNER_UUID,
            "owner_id": OWNER_ID,
            "name": self.name,
            "description": self.description,
            "purpose": self.purpose,
            "environment": self.environment,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "is_default": self.is_default,
        });
        if self.environment.is_none() {
            json.as_object_mut()
                .expect("a project is an object")
                .remove("environment");
        }
        json
    }
}

fn assignment_json(assignment: &Assignment) -> Value {
    json!({
        "urn": assignment.urn,
        "assigned_at": timestamp(assignment.assigned_at),
        "links": {"self": self_link(&assignment.urn)},
        "status": "ok",
    })
}

fn self_link(urn: &str) -> String {
    let mut parts = urn.splitn(3, ':').skip(1);
    match (parts.next(), parts.next()) {
        (Some("kubernetes"), Some(id)) => format!("/v2/kubernetes/clusters/{id}"),
        (Some("loadbalancer"), Some(id)) => format!("/v2/load_balancers/{id}"),
        (Some(kind), Some(id)) => format!("/v2/{kind}s/{id}"),
        _ => String::new(),
    }
}

pub(super) fn default_id(world: &World) -> String {
    world
        .projects
        .values()
        .find(|project| project.is_default)
        .map(|project| project.id.clone())
        .expect("the account always has a default project")
}

/// A project by id, or the default project for the id `default`.
pub(super) fn resolve(world: &World, id: &str) -> Result<String, ApiError> {
    if id == "default" {
        return Ok(default_id(world));
    }
    world
        .projects
        .get(id)
        .map(|project| project.id.clone())
        .ok_or_else(ApiError::not_found)
}

pub(super) fn create(
    world: &mut World,
    now: SystemTime,
    request: CreateProject,
) -> Result<Value, ApiError> {
    if request.name.is_empty() || request.name.len() > 175 {
        return Err(ApiError::unprocessable("name must be 1 to 175 characters"));
    }
    if request.purpose.is_empty() {
        return Err(ApiError::unprocessable("purpose is required"));
    }
    if world
        .projects
        .values()
        .any(|project| project.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "a project named {} already exists",
            request.name
        )));
    }
    let project = Project {
        id: new_id(),
        name: request.name,
        description: request.description,
        purpose: request.purpose,
        environment: request.environment,
        is_default: false,
        created_at: now,
        updated_at: now,
        resources: Vec::new(),
    };
    let json = project.to_json();
    world.projects.insert(project.id.clone(), project);
    Ok(json)
}

pub(super) fn update(
    world: &mut World,
    now: SystemTime,
    id: &str,
    request: UpdateProject,
) -> Result<Value, ApiError> {
    let id = resolve(world, id)?;
    if let Some(name) = &request.name
        && world
            .projects
            .values()
            .any(|project| &project.name == name && project.id != id)
    {
        return Err(ApiError::unprocessable(format!(
            "a project named {name} already exists"
        )));
    }
    if request.is_default == Some(true) {
        for project in world.projects.values_mut() {
            project.is_default = false;
        }
    } else if request.is_default == Some(false) && world.projects[&id].is_default {
        return Err(ApiError::unprocessable(
            "make another project the default instead",
        ));
    }
    let project = world.projects.get_mut(&id).expect("resolved above");
    if let Some(name) = request.name {
        project.name = name;
    }
    if let Some(description) = request.description {
        project.description = description;
    }
    if let Some(purpose) = request.purpose {
        project.purpose = purpose;
    }
    if let Some(environment) = request.environment {
        project.environment = Some(environment);
    }
    if request.is_default == Some(true) {
        project.is_default = true;
    }
    project.updated_at = now;
    Ok(project.to_json())
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    let id = resolve(world, id)?;
    let project = &world.projects[&id];
    if project.is_default {
        return Err(ApiError::unprocessable(
            "the default project cannot be deleted",
        ));
    }
    if !project.resources.is_empty() {
        return Err(ApiError::unprocessable(
            "a project with resources cannot be deleted: move them first",
        ));
    }
    world.projects.remove(&id);
    Ok(())
}

/// Every resource URN in the account.
fn all_urns(world: &World) -> Vec<String> {
    world
        .droplets
        .values()
        .map(|droplet| droplet.urn())
        .chain(world.volumes.values().map(|volume| volume.urn()))
        .chain(world.load_balancers.values().map(|balancer| balancer.urn()))
        .chain(world.clusters.values().map(|cluster| cluster.urn()))
        .collect()
}

pub(super) fn resources(world: &World, id: &str) -> Result<Vec<Value>, ApiError> {
    let id = resolve(world, id)?;
    let project = &world.projects[&id];
    let mut listed: Vec<Value> = project.resources.iter().map(assignment_json).collect();
    if project.is_default {
        let assigned = |urn: &str| {
            world.projects.values().any(|project| {
                project
                    .resources
                    .iter()
                    .any(|assignment| assignment.urn == urn)
            })
        };
        listed.extend(
            all_urns(world)
                .into_iter()
                .filter(|urn| !assigned(urn))
                .map(|urn| {
                    assignment_json(&Assignment {
                        urn,
                        assigned_at: project.created_at,
                    })
                }),
        );
    }
    Ok(listed)
}

/// Assigns resources to a project and answers with every resource the project holds, as DigitalOcean's
/// description says. A URN that is not `do:<type>:<id>` is refused with a 400, as DigitalOcean refuses it; a
/// well-formed one whose resource no longer exists (one deleted while the provider moves a project's resources
/// back to the default project on destroy) is answered with the status `not_found` the description lists for
/// it, not refused, and nothing else is assigned in its place.
pub(super) fn assign(
    world: &mut World,
    now: SystemTime,
    id: &str,
    request: AssignResources,
) -> Result<Value, ApiError> {
    let id = resolve(world, id)?;
    if let Some(urn) = request.resources.iter().find(|urn| !well_formed(urn)) {
        return Err(ApiError::bad_request(format!(
            "resource objects must have an urn in the following format: do:resource_type:resource_id, not {urn}"
        )));
    }
    let (present, missing): (Vec<String>, Vec<String>) = request
        .resources
        .into_iter()
        .partition(|urn| world.urn_exists(urn));
    for urn in &present {
        forget(world, urn);
    }
    let project = world.projects.get_mut(&id).expect("resolved above");
    project
        .resources
        .extend(present.into_iter().map(|urn| Assignment {
            urn,
            assigned_at: now,
        }));
    let mut listed = resources(world, &id)?;
    listed.extend(
        missing
            .into_iter()
            .map(|urn| json!({"urn": urn, "status": "not_found"})),
    );
    Ok(json!({ "resources": listed }))
}

/// Whether a URN reads `do:<type>:<id>`.
fn well_formed(urn: &str) -> bool {
    urn.strip_prefix("do:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(kind, id)| !kind.is_empty() && !id.is_empty())
}

/// Removes a resource from whichever project holds it (on deletion, or before it moves).
pub(super) fn forget(world: &mut World, urn: &str) {
    for project in world.projects.values_mut() {
        project.resources.retain(|assignment| assignment.urn != urn);
    }
}
