//! Everything the sandbox account holds, as one serialisable value, and the clock that settles async states.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::certificates::Certificate;
use super::droplets::Droplet;
use super::error::ApiError;
use super::firewalls::Firewall;
use super::kubernetes::Cluster;
use super::load_balancers::LoadBalancer;
use super::projects::Project;
use super::volumes::Volume;
use super::vpcs::Vpc;
use crate::actions::Action;

/// The sandbox account's resources. Every change is made on a copy and kept only if the whole request succeeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct World {
    pub(super) sequences: Sequences,
    pub(super) vpcs: BTreeMap<String, Vpc>,
    pub(super) clusters: BTreeMap<String, Cluster>,
    pub(super) droplets: BTreeMap<u64, Droplet>,
    pub(super) volumes: BTreeMap<String, Volume>,
    pub(super) firewalls: BTreeMap<String, Firewall>,
    pub(super) load_balancers: BTreeMap<String, LoadBalancer>,
    pub(super) certificates: BTreeMap<String, Certificate>,
    pub(super) projects: BTreeMap<String, Project>,
    pub(super) tags: BTreeSet<String>,
    pub(super) actions: BTreeMap<u64, Action>,
}

/// Counters for integer ids and addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Sequences {
    pub(super) droplet: u64,
    pub(super) action: u64,
    /// Host number, counted from 127.0.1.0, of the last public address handed out (loopback, so it is
    /// reachable here).
    pub(super) public_address: u32,
}

/// The project every new sandbox account has, as every DigitalOcean account has a default project.
pub(super) const DEFAULT_PROJECT: &str = "wildside";

impl World {
    pub(super) fn new(now: SystemTime) -> Self {
        let project = Project::default_project(now);
        Self {
            sequences: Sequences {
                droplet: 500_000_000,
                action: 2_000_000_000,
                // A /24 of its own in 127.0.0.0/16 for each new account, so that sandboxes side by side (the
                // test suite's) rarely hand out the same addresses: droplets' servers and load balancers
                // listen on them.
                public_address: rand::random_range(0..200) * 256,
            },
            vpcs: BTreeMap::new(),
            clusters: BTreeMap::new(),
            droplets: BTreeMap::new(),
            volumes: BTreeMap::new(),
            firewalls: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            certificates: BTreeMap::new(),
            projects: BTreeMap::from([(project.id.clone(), project)]),
            tags: BTreeSet::new(),
            actions: BTreeMap::new(),
        }
    }

    pub(super) fn next_droplet_id(&mut self) -> u64 {
        self.sequences.droplet += 1;
        self.sequences.droplet
    }

    pub(super) fn next_action_id(&mut self) -> u64 {
        self.sequences.action += 1;
        self.sequences.action
    }

    /// A fresh public address in 127.0.0.0/8, skipping 127.0.0.0/24 (the addresses local services use).
    pub(super) fn next_public_address(&mut self) -> Ipv4Addr {
        self.sequences.public_address += 1;
        Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 1, 0)) + self.sequences.public_address)
    }

    /// A free private address in the VPC's range, after the addresses DigitalOcean reserves at its start.
    pub(super) fn next_private_address(&self, vpc_uuid: &str) -> Result<Ipv4Addr, ApiError> {
        let vpc = self.vpcs.get(vpc_uuid).ok_or_else(|| {
            ApiError::unprocessable(format!("The VPC {vpc_uuid} could not be found."))
        })?;
        let used: BTreeSet<Ipv4Addr> = self
            .droplets
            .values()
            .filter(|droplet| droplet.vpc_uuid == vpc_uuid)
            .map(|droplet| droplet.private_address)
            .chain(
                self.load_balancers
                    .values()
                    .filter(|balancer| balancer.vpc_uuid == vpc_uuid)
                    .filter_map(|balancer| balancer.private_address),
            )
            .collect();
        vpc.ip_range
            .hosts()
            .skip(1)
            .find(|address| !used.contains(address))
            .ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "The VPC {} has no free addresses left.",
                    vpc.ip_range
                ))
            })
    }

    /// Whether anything still lives in the VPC: droplets, clusters or load balancers.
    pub(super) fn vpc_members(&self, vpc_uuid: &str) -> Vec<Member> {
        let droplets = self
            .droplets
            .values()
            .filter(|droplet| droplet.vpc_uuid == vpc_uuid)
            .map(|droplet| Member {
                urn: format!("do:droplet:{}", droplet.id),
                name: droplet.name.clone(),
                created_at: droplet.created_at,
            });
        let clusters = self
            .clusters
            .values()
            .filter(|cluster| cluster.vpc_uuid == vpc_uuid)
            .map(|cluster| Member {
                urn: format!("do:kubernetes:{}", cluster.id),
                name: cluster.name.clone(),
                created_at: cluster.created_at,
            });
        let balancers = self
            .load_balancers
            .values()
            .filter(|balancer| balancer.vpc_uuid == vpc_uuid)
            .map(|balancer| Member {
                urn: format!("do:loadbalancer:{}", balancer.id),
                name: balancer.name.clone(),
                created_at: balancer.created_at,
            });
        droplets.chain(clusters).chain(balancers).collect()
    }

    /// Whether a URN names a resource that exists.
    pub(super) fn urn_exists(&self, urn: &str) -> bool {
        let Some((kind, id)) = urn
            .strip_prefix("do:")
            .and_then(|rest| rest.split_once(':'))
        else {
            return false;
        };
        match kind {
            "droplet" => id
                .parse::<u64>()
                .is_ok_and(|id| self.droplets.contains_key(&id)),
            "volume" => self.volumes.contains_key(id),
            "loadbalancer" => self.load_balancers.contains_key(id),
            "kubernetes" => self.clusters.contains_key(id),
            "vpc" => self.vpcs.contains_key(id),
            // Spaces buckets live in the S3 service beside the API, and domains outside this account's
            // resources here, so a well-formed name is taken as one that exists: DigitalOcean assigns both
            // to projects by name (`do:space:<bucket>`, `do:domain:<name>`).
            "space" => valid_bucket_name(id),
            "domain" => valid_domain_name(id),
            _ => false,
        }
    }

    /// Every resource except the default project and the regions' default VPCs: what must be gone for the
    /// account to count as empty.
    pub(super) fn resource_count(&self) -> usize {
        self.vpcs.values().filter(|vpc| !vpc.default).count()
            + self.clusters.len()
            + self.droplets.len()
            + self.volumes.len()
            + self.firewalls.len()
            + self.load_balancers.len()
            + self.certificates.len()
            + self
                .projects
                .values()
                .filter(|project| !project.is_default)
                .count()
    }
}

/// An S3 bucket name: 3 to 63 lowercase letters, digits, dots and dashes, starting and ending with a letter or
/// digit.
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A domain name: dot-separated labels of letters, digits and dashes, at least two of them.
fn valid_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A member of a VPC.
pub(super) struct Member {
    pub(super) urn: String,
    pub(super) name: String,
    pub(super) created_at: SystemTime,
}

/// The request's time, and how long async work (provisioning, actions) takes in this sandbox.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub(super) now: SystemTime,
    pub(super) delay: Duration,
}

impl Clock {
    /// Whether work started at `since` has finished.
    pub(super) fn settled(&self, since: SystemTime) -> bool {
        self.now >= since + self.delay
    }
}

/// RFC 3339 in UTC, to the second, as the API writes times.
pub(super) fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A new resource id, as the API's UUIDs.
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
