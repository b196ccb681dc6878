//! Cloud firewalls: inbound and outbound rules over addresses, droplets, load balancers, clusters and tags,
//! applied to droplets by id or tag.

use std::time::SystemTime;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::world::{World, new_id, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Protocol {
    Tcp,
    Udp,
    Icmp,
}

/// The parties a rule admits or reaches. Empty lists are left out, as the API does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Targets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) droplet_ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) load_balancer_uids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) kubernetes_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InboundRule {
    pub(super) protocol: Protocol,
    #[serde(default)]
    pub(super) ports: String,
    pub(super) sources: Targets,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutboundRule {
    pub(super) protocol: Protocol,
    #[serde(default)]
    pub(super) ports: String,
    pub(super) destinations: Targets,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Firewall {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) droplet_ids: Vec<u64>,
    pub(super) tags: Vec<String>,
    pub(super) inbound_rules: Vec<InboundRule>,
    pub(super) outbound_rules: Vec<OutboundRule>,
    pub(super) created_at: SystemTime,
}

/// A firewall as posted (create) or put (full update).
#[derive(Debug, Deserialize)]
pub(super) struct FirewallRequest {
    name: String,
    #[serde(default)]
    droplet_ids: Vec<u64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    inbound_rules: Vec<InboundRule>,
    #[serde(default)]
    outbound_rules: Vec<OutboundRule>,
}

/// Droplets or tags added to or removed from a firewall.
#[derive(Debug, Deserialize)]
pub(super) struct Membership {
    #[serde(default)]
    droplet_ids: Vec<u64>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Rules added to or removed from a firewall.
#[derive(Debug, Deserialize)]
pub(super) struct Rules {
    #[serde(default)]
    inbound_rules: Vec<InboundRule>,
    #[serde(default)]
    outbound_rules: Vec<OutboundRule>,
}

impl Firewall {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "status": "succeeded",
            "created_at": timestamp(self.created_at),
            "pending_changes": [],
            "name": self.name,
            "droplet_ids": self.droplet_ids,
            "tags": self.tags,
            "inbound_rules": self.inbound_rules,
            "outbound_rules": self.outbound_rules,
        })
    }
}

fn check_ports(protocol: Protocol, ports: &str) -> Result<(), ApiError> {
    if protocol == Protocol::Icmp {
        return Ok(());
    }
    let valid_port = |text: &str| text.parse::<u16>().is_ok_and(|port| port > 0);
    let valid = match ports.split_once('-') {
        _ if ports == "all" || ports == "0" => true,
        Some((low, high)) => {
            valid_port(low)
                && valid_port(high)
                && low.parse::<u16>().ok() <= high.parse::<u16>().ok()
        }
        None => valid_port(ports),
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "ports {ports:?} must be a port, a range such as 8000-9000, or all"
        )))
    }
}

fn check_targets(world: &World, targets: &Targets) -> Result<(), ApiError> {
    if let Some(address) = targets.addresses.iter().find(|address| {
        address.parse::<IpNet>().is_err() && address.parse::<std::net::IpAddr>().is_err()
    }) {
        return Err(ApiError::unprocessable(format!(
            "{address} is not an IP address or CIDR block"
        )));
    }
    check_droplets(world, &targets.droplet_ids)?;
    if let Some(id) = targets
        .load_balancer_uids
        .iter()
        .find(|id| !world.load_balancers.contains_key(*id))
    {
        return Err(ApiError::unprocessable(format!(
            "load balancer {id} could not be found"
        )));
    }
    if let Some(id) = targets
        .kubernetes_ids
        .iter()
        .find(|id| !world.clusters.contains_key(*id))
    {
        return Err(ApiError::unprocessable(format!(
            "Kubernetes cluster {id} could not be found"
        )));
    }
    Ok(())
}

fn check_droplets(world: &World, droplet_ids: &[u64]) -> Result<(), ApiError> {
    match droplet_ids
        .iter()
        .find(|id| !world.droplets.contains_key(id))
    {
        Some(id) => Err(ApiError::unprocessable(format!(
            "droplet {id} could not be found"
        ))),
        None => Ok(()),
    }
}

fn check_rules(
    world: &World,
    inbound: &[InboundRule],
    outbound: &[OutboundRule],
) -> Result<(), ApiError> {
    for rule in inbound {
        check_ports(rule.protocol, &rule.ports)?;
        check_targets(world, &rule.sources)?;
    }
    for rule in outbound {
        check_ports(rule.protocol, &rule.ports)?;
        check_targets(world, &rule.destinations)?;
    }
    Ok(())
}

fn check(world: &World, request: &FirewallRequest) -> Result<(), ApiError> {
    if request.name.is_empty()
        || request.name.len() > 255
        || !request
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(ApiError::unprocessable(
            "name must be up to 255 letters, digits, hyphens, periods and underscores",
        ));
    }
    check_droplets(world, &request.droplet_ids)?;
    check_rules(world, &request.inbound_rules, &request.outbound_rules)
}

pub(super) fn create(
    world: &mut World,
    now: SystemTime,
    request: FirewallRequest,
) -> Result<Value, ApiError> {
    check(world, &request)?;
    let firewall = Firewall {
        id: new_id(),
        name: request.name,
        droplet_ids: request.droplet_ids,
        tags: request.tags,
        inbound_rules: request.inbound_rules,
        outbound_rules: request.outbound_rules,
        created_at: now,
    };
    let json = firewall.to_json();
    world.firewalls.insert(firewall.id.clone(), firewall);
    Ok(json)
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Firewall, ApiError> {
    world.firewalls.get(id).ok_or_else(ApiError::not_found)
}

pub(super) fn replace(
    world: &mut World,
    id: &str,
    request: FirewallRequest,
) -> Result<Value, ApiError> {
    get(world, id)?;
    check(world, &request)?;
    let firewall = world.firewalls.get_mut(id).expect("checked above");
    firewall.name = request.name;
    firewall.droplet_ids = request.droplet_ids;
    firewall.tags = request.tags;
    firewall.inbound_rules = request.inbound_rules;
    firewall.outbound_rules = request.outbound_rules;
    Ok(firewall.to_json())
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    world
        .firewalls
        .remove(id)
        .map(drop)
        .ok_or_else(ApiError::not_found)
}

/// Adds (`add`) or removes droplets and tags.
pub(super) fn members(
    world: &mut World,
    id: &str,
    request: Membership,
    add: bool,
) -> Result<(), ApiError> {
    get(world, id)?;
    check_droplets(world, &request.droplet_ids)?;
    let firewall = world.firewalls.get_mut(id).expect("checked above");
    if add {
        for droplet in request.droplet_ids {
            if !firewall.droplet_ids.contains(&droplet) {
                firewall.droplet_ids.push(droplet);
            }
        }
        for tag in request.tags {
            if !firewall.tags.contains(&tag) {
                firewall.tags.push(tag);
            }
        }
    } else {
        firewall
            .droplet_ids
            .retain(|droplet| !request.droplet_ids.contains(droplet));
        firewall.tags.retain(|tag| !request.tags.contains(tag));
    }
    Ok(())
}

/// Adds (`add`) or removes rules.
pub(super) fn rules(
    world: &mut World,
    id: &str,
    request: Rules,
    add: bool,
) -> Result<(), ApiError> {
    get(world, id)?;
    check_rules(world, &request.inbound_rules, &request.outbound_rules)?;
    let firewall = world.firewalls.get_mut(id).expect("checked above");
    if add {
        firewall.inbound_rules.extend(request.inbound_rules);
        firewall.outbound_rules.extend(request.outbound_rules);
    } else {
        firewall
            .inbound_rules
            .retain(|rule| !request.inbound_rules.contains(rule));
        firewall
            .outbound_rules
            .retain(|rule| !request.outbound_rules.contains(rule));
    }
    Ok(())
}
