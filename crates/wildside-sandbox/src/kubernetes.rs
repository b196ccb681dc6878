//! DOKS: clusters (provisioning, then running), node pools with fixed or autoscaled counts and their nodes,
//! kubeconfig and credentials, upgrades, and deletion with or without the cluster's associated resources.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::kube_api::ControlPlane;
use super::world::{Clock, World, new_id, timestamp};

/// The tag the DigitalOcean provider gives a cluster's default pool.
pub(super) const DEFAULT_POOL_TAG: &str = "terraform:default-node-pool";

const CLUSTER_SUBNET: &str = "10.244.0.0/16";
const SERVICE_SUBNET: &str = "10.245.0.0/16";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Weekday {
    Any,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct MaintenancePolicy {
    #[serde(default = "default_start_time")]
    pub(super) start_time: String,
    #[serde(default = "any_day")]
    pub(super) day: Weekday,
}

fn default_start_time() -> String {
    "00:00".into()
}

fn any_day() -> Weekday {
    Weekday::Any
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        Self {
            start_time: default_start_time(),
            day: Weekday::Any,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A taint. godo sends its fields capitalised (its struct has no JSON tags), which the API accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Taint {
    #[serde(alias = "Key")]
    pub(super) key: String,
    #[serde(default, alias = "Value")]
    pub(super) value: String,
    #[serde(alias = "Effect")]
    pub(super) effect: TaintEffect,
}

/// An add-on switched on or off (`{"enabled": bool}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Toggle {
    pub(super) enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ControlPlaneFirewall {
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) allowed_addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AutoscalerConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) scale_down_utilization_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) scale_down_unneeded_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expanders: Option<Vec<String>>,
}

/// Optional cluster features, stored and returned as they were asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Features {
    #[serde(default)]
    pub(super) control_plane_firewall: Option<ControlPlaneFirewall>,
    #[serde(default, deserialize_with = "autoscaler_configuration")]
    pub(super) cluster_autoscaler_configuration: Option<AutoscalerConfiguration>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) routing_agent: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) amd_gpu_device_plugin: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) amd_gpu_device_metrics_exporter_plugin: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) nvidia_gpu_device_plugin: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) rdma_shared_dev_plugin: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) coredns_autoscaler: Option<Toggle>,
    #[serde(default, deserialize_with = "toggle")]
    pub(super) p2p_oci_registry_plugin: Option<Toggle>,
}

/// An add-on as a request names it. godo sends `{"enabled": null}` for every add-on a configuration leaves
/// unset (its `Enabled *bool` has no `omitempty`), on create and on every update, and DigitalOcean reads that as
/// "not asked for": such an add-on is taken as absent, so an update keeps what the cluster has.
fn toggle<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Toggle>, D::Error> {
    #[derive(Deserialize)]
    struct Asked {
        #[serde(default)]
        enabled: Option<bool>,
    }
    Ok(Option::<Asked>::deserialize(deserializer)?
        .and_then(|asked| asked.enabled)
        .map(|enabled| Toggle { enabled }))
}

/// An autoscaler configuration as a request names it. The provider sends one on every cluster update, each
/// member `null` when its configuration has none (godo's fields have no `omitempty`), and says that such a
/// body must not change the cluster; DigitalOcean keeps a cluster without one reading none back (the
/// provider's acceptance test of a cluster configured without one plans clean). One whose every member is
/// `null` is taken as absent.
fn autoscaler_configuration<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<AutoscalerConfiguration>, D::Error> {
    Ok(
        Option::<AutoscalerConfiguration>::deserialize(deserializer)?.filter(|configuration| {
            configuration.scale_down_utilization_threshold.is_some()
                || configuration.scale_down_unneeded_time.is_some()
                || configuration.expanders.is_some()
        }),
    )
}

impl Features {
    /// Takes every feature the update names, keeping the others.
    fn merge(&mut self, update: Features) {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if update.$field.is_some() {
                    self.$field = update.$field;
                }
            )*};
        }
        take!(
            control_plane_firewall,
            cluster_autoscaler_configuration,
            routing_agent,
            amd_gpu_device_plugin,
            amd_gpu_device_metrics_exporter_plugin,
            nvidia_gpu_device_plugin,
            rdma_shared_dev_plugin,
            coredns_autoscaler,
            p2p_oci_registry_plugin
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Phase {
    Provisioning,
    Upgrading,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Node {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) droplet_id: u64,
    pub(super) created_at: SystemTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodePool {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) size: String,
    pub(super) count: u32,
    pub(super) auto_scale: bool,
    pub(super) min_nodes: u32,
    pub(super) max_nodes: u32,
    pub(super) tags: Vec<String>,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) taints: Vec<Taint>,
    pub(super) nodes: Vec<Node>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Cluster {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) region: String,
    pub(super) version: String,
    pub(super) vpc_uuid: String,
    pub(super) ha: bool,
    pub(super) auto_upgrade: bool,
    pub(super) surge_upgrade: bool,
    pub(super) registry_enabled: bool,
    pub(super) tags: Vec<String>,
    pub(super) maintenance_policy: MaintenancePolicy,
    pub(super) features: Features,
    pub(super) node_pools: Vec<NodePool>,
    pub ipv4: Ipv4Addr,
    pub(super) phase: Phase,
    pub(super) phase_since: SystemTime,
    pub(super) created_at: SystemTime,
    pub(super) updated_at: SystemTime,
    /// The pod and service ranges asked for at creation; DigitalOcean's defaults otherwise.
    #[serde(default = "default_cluster_subnet")]
    pub(super) cluster_subnet: String,
    #[serde(default = "default_service_subnet")]
    pub(super) service_subnet: String,
    /// Whether worker nodes go without public addresses. DigitalOcean asks for a NAT gateway in the VPC
    /// then; the sandbox has none to check, so it takes the flag as given.
    #[serde(default)]
    pub(super) isolated_workers: bool,
    /// The VPC subnet the workers are placed in, when one was asked for.
    #[serde(default)]
    pub(super) worker_subnet_uuid: Option<String>,
    /// The real API server behind the cluster; none when clusters are simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) control_plane: Option<ControlPlane>,
}

fn default_cluster_subnet() -> String {
    CLUSTER_SUBNET.into()
}

fn default_service_subnet() -> String {
    SERVICE_SUBNET.into()
}

/// A node pool as posted with a cluster or on its own.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PoolRequest {
    name: String,
    size: String,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    auto_scale: bool,
    #[serde(default)]
    min_nodes: Option<u32>,
    #[serde(default)]
    max_nodes: Option<u32>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    taints: Vec<Taint>,
}

/// A node pool update: name, count, tags, labels, taints and autoscaling.
#[derive(Debug, Deserialize)]
pub(super) struct PoolUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    taints: Option<Vec<Taint>>,
    #[serde(default)]
    auto_scale: Option<bool>,
    #[serde(default)]
    min_nodes: Option<u32>,
    #[serde(default)]
    max_nodes: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateCluster {
    name: String,
    region: String,
    version: String,
    #[serde(default)]
    vpc_uuid: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    node_pools: Vec<PoolRequest>,
    #[serde(default)]
    maintenance_policy: Option<MaintenancePolicy>,
    #[serde(default)]
    auto_upgrade: bool,
    #[serde(default)]
    surge_upgrade: bool,
    #[serde(default)]
    ha: bool,
    #[serde(default)]
    registry_enabled: bool,
    #[serde(default)]
    cluster_subnet: Option<String>,
    #[serde(default)]
    service_subnet: Option<String>,
    #[serde(default)]
    isolated_workers: bool,
    #[serde(default)]
    worker_subnet_uuid: Option<String>,
    #[serde(flatten)]
    features: Features,
}

#[derive(Debug, Deserialize)]
pub(super) struct UpdateCluster {
    #[serde(default)]
    name: Option<String>,
    /// Taken here rather than with the other features, so that a body naming only the addresses (or only
    /// `enabled`) keeps the other half.
    #[serde(default)]
    control_plane_firewall: Option<FirewallUpdate>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    maintenance_policy: Option<MaintenancePolicy>,
    #[serde(default)]
    auto_upgrade: Option<bool>,
    #[serde(default)]
    surge_upgrade: Option<bool>,
    #[serde(default)]
    ha: Option<bool>,
    #[serde(flatten)]
    features: Features,
}

/// A control plane firewall change: what it names changes, the rest is kept.
#[derive(Debug, Deserialize)]
pub(super) struct FirewallUpdate {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    allowed_addresses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Upgrade {
    version: String,
}

/// Associated resources chosen for deletion with a cluster.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Selection {
    #[serde(default)]
    load_balancers: Vec<String>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    volume_snapshots: Vec<String>,
}

/// The tags DigitalOcean adds to every cluster and to every pool.
fn system_tags(cluster_id: &str) -> [String; 2] {
    ["k8s".into(), format!("k8s:{cluster_id}")]
}

impl Node {
    fn to_json(&self, clock: &Clock) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "status": {"state": if clock.settled(self.created_at) { "running" } else { "provisioning" }},
            "droplet_id": self.droplet_id.to_string(),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.created_at),
        })
    }
}

impl NodePool {
    fn to_json(&self, cluster_id: &str, clock: &Clock) -> Value {
        let mut tags = self.tags.clone();
        tags.extend(system_tags(cluster_id));
        tags.push("k8s:worker".into());
        json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "count": self.count,
            "tags": tags,
            "labels": self.labels,
            "taints": self.taints,
            "auto_scale": self.auto_scale,
            "min_nodes": self.min_nodes,
            "max_nodes": self.max_nodes,
            "nodes": self.nodes.iter().map(|node| node.to_json(clock)).collect::<Vec<_>>(),
        })
    }

    fn is_default(&self) -> bool {
        self.tags.iter().any(|tag| tag == DEFAULT_POOL_TAG)
    }
}

impl Cluster {
    pub(super) fn urn(&self) -> String {
        format!("do:kubernetes:{}", self.id)
    }

    pub(super) fn state(&self, clock: &Clock) -> &'static str {
        let serving = self
            .control_plane
            .as_ref()
            .is_none_or(|control_plane| control_plane.ready);
        if clock.settled(self.phase_since) && serving {
            "running"
        } else {
            match self.phase {
                Phase::Provisioning => "provisioning",
                Phase::Upgrading => "upgrading",
            }
        }
    }

    fn endpoint(&self) -> String {
        match &self.control_plane {
            Some(control_plane) => control_plane.url(),
            None => format!("https://{}.k8s.sandbox.wildside-tofu.invalid", self.id),
        }
    }

    pub(super) fn to_json(&self, clock: &Clock) -> Value {
        let mut tags = self.tags.clone();
        tags.extend(system_tags(&self.id));
        let mut cluster = json!({
            "id": self.id,
            "name": self.name,
            "region": self.region,
            "version": self.version,
            "cluster_subnet": self.cluster_subnet,
            "service_subnet": self.service_subnet,
            "vpc_uuid": self.vpc_uuid,
            "ipv4": self.ipv4.to_string(),
            "endpoint": self.endpoint(),
            "tags": tags,
            "node_pools": self.node_pools.iter().map(|pool| pool.to_json(&self.id, clock)).collect::<Vec<_>>(),
            "maintenance_policy": {
                "start_time": self.maintenance_policy.start_time,
                "duration": "4h0m0s",
                "day": self.maintenance_policy.day,
            },
            "auto_upgrade": self.auto_upgrade,
            "isolated_workers": self.isolated_workers,
            "status": {"state": self.state(clock), "message": ""},
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "surge_upgrade": self.surge_upgrade,
            "ha": self.ha,
            "registry_enabled": self.registry_enabled,
        });
        if let Some(subnet) = &self.worker_subnet_uuid {
            cluster["worker_subnet_uuid"] = json!(subnet);
        }
        if let (Value::Object(cluster), Ok(Value::Object(features))) =
            (&mut cluster, serde_json::to_value(&self.features))
        {
            cluster.extend(features);
        }
        cluster
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.is_empty()
        && name.len() <= 255
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

fn valid_start_time(text: &str) -> bool {
    match text.split_once(':') {
        Some((hour, minute)) => {
            hour.parse::<u8>().is_ok_and(|hour| hour < 24)
                && minute.len() == 2
                && minute.parse::<u8>().is_ok_and(|minute| minute < 60)
        }
        None => false,
    }
}

/// A pool built from a request, with its nodes.
fn build_pool(
    world: &mut World,
    clock: &Clock,
    request: PoolRequest,
) -> Result<NodePool, ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(format!(
            "node pool name {:?} must be lowercase letters, digits, hyphens and periods",
            request.name
        )));
    }
    if catalog::find_size(&request.size).is_none() {
        return Err(ApiError::unprocessable(format!(
            "validation error: invalid size {:?} for node pool {}",
            request.size, request.name
        )));
    }
    let (count, min_nodes, max_nodes) = pool_counts(
        request.auto_scale,
        request.count,
        request.min_nodes,
        request.max_nodes,
    )?;
    let mut pool = NodePool {
        id: new_id(),
        name: request.name,
        size: request.size,
        count,
        auto_scale: request.auto_scale,
        min_nodes,
        max_nodes,
        tags: request.tags,
        labels: request.labels.unwrap_or_default(),
        taints: request.taints,
        nodes: Vec::new(),
    };
    resize_nodes(world, clock, &mut pool);
    Ok(pool)
}

/// The pool's count and bounds, checked: fixed pools need at least one node, autoscaled ones a range.
fn pool_counts(
    auto_scale: bool,
    count: Option<u32>,
    min_nodes: Option<u32>,
    max_nodes: Option<u32>,
) -> Result<(u32, u32, u32), ApiError> {
    if auto_scale {
        let min = min_nodes.unwrap_or(0);
        let max = max_nodes.ok_or_else(|| {
            ApiError::unprocessable("max_nodes is required when auto_scale is on")
        })?;
        if max == 0 || min > max {
            return Err(ApiError::unprocessable(format!(
                "validation error: min_nodes ({min}) must not exceed max_nodes ({max}), and max_nodes must be at least 1"
            )));
        }
        // Nothing runs on sandbox nodes, so the autoscaler keeps an autoscaled pool at its floor.
        Ok((min, min, max))
    } else {
        let count = count.ok_or_else(|| ApiError::unprocessable("count is required"))?;
        if !(1..=512).contains(&count) {
            return Err(ApiError::unprocessable(
                "validation error: count must be between 1 and 512",
            ));
        }
        Ok((count, 0, 0))
    }
}

/// Adds or removes nodes until the pool has `count`.
fn resize_nodes(world: &mut World, clock: &Clock, pool: &mut NodePool) {
    pool.nodes.truncate(pool.count as usize);
    while pool.nodes.len() < pool.count as usize {
        let id = new_id();
        pool.nodes.push(Node {
            name: format!("{}-{}", pool.name, &id[..5]),
            id,
            droplet_id: world.next_droplet_id(),
            created_at: clock.now,
        });
    }
}

pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    request: CreateCluster,
    control_plane: Option<ControlPlane>,
) -> Result<Value, ApiError> {
    if !valid_name(&request.name) {
        return Err(ApiError::unprocessable(
            "name must be lowercase letters, digits, hyphens and periods, starting with a letter or digit",
        ));
    }
    if world
        .clusters
        .values()
        .any(|cluster| cluster.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "a cluster with the name {} already exists",
            request.name
        )));
    }
    if catalog::find_region(&request.region).is_none() {
        return Err(ApiError::unprocessable(format!(
            "validation error: invalid region {:?}",
            request.region
        )));
    }
    if !catalog::is_kubernetes_version(&request.version) {
        return Err(ApiError::unprocessable(format!(
            "validation error: invalid version {:?}; GET /v2/kubernetes/options lists the versions",
            request.version
        )));
    }
    if request.node_pools.is_empty() {
        return Err(ApiError::unprocessable(
            "validation error: a cluster needs at least one node pool",
        ));
    }
    if request
        .node_pools
        .iter()
        .filter(|pool| pool.tags.iter().any(|tag| tag == DEFAULT_POOL_TAG))
        .count()
        > 1
    {
        return Err(ApiError::unprocessable(
            "validation error: a cluster has one default node pool",
        ));
    }
    check_unique_pool_names(request.node_pools.iter().map(|pool| pool.name.as_str()))?;
    if let Some(policy) = &request.maintenance_policy
        && !valid_start_time(&policy.start_time)
    {
        return Err(ApiError::unprocessable(format!(
            "validation error: maintenance start_time {:?} is not HH:MM",
            policy.start_time
        )));
    }
    let [cluster_subnet, service_subnet] = [
        (request.cluster_subnet, CLUSTER_SUBNET, "cluster_subnet"),
        (request.service_subnet, SERVICE_SUBNET, "service_subnet"),
    ]
    .map(
        |(asked, default, field)| match asked.filter(|range| !range.is_empty()) {
            Some(range) if range.parse::<ipnet::Ipv4Net>().is_err() => {
                Err(ApiError::unprocessable(format!(
                    "validation error: {field} {range:?} is not an IPv4 CIDR range"
                )))
            }
            Some(range) => Ok(range),
            None => Ok(default.to_string()),
        },
    );
    let (cluster_subnet, service_subnet) = (cluster_subnet?, service_subnet?);
    // The workers' subnet is one of the cluster's VPC, which must be named with it (the description says
    // `vpc_uuid` must also be set); the VPC's default subnet otherwise, which the response leaves out.
    let worker_subnet_uuid = request.worker_subnet_uuid.filter(|id| !id.is_empty());
    if let Some(subnet) = &worker_subnet_uuid {
        let vpc = request.vpc_uuid.as_deref().ok_or_else(|| {
            ApiError::unprocessable("validation error: worker_subnet_uuid needs vpc_uuid")
        })?;
        super::subnets::find(world, vpc, subnet).map_err(|_| {
            ApiError::unprocessable(format!(
                "validation error: worker_subnet_uuid {subnet} is no subnet of VPC {vpc}"
            ))
        })?;
    }
    let vpc_uuid = super::vpcs::resolve(world, clock, request.vpc_uuid, &request.region)?;
    let mut node_pools = Vec::new();
    for pool in request.node_pools {
        let mut pool = build_pool(world, clock, pool)?;
        // An autoscaled first pool asked for without a count starts with one node even when its floor is
        // zero: DigitalOcean accepts it, and the cluster's system workloads need a node to run on.
        if pool.auto_scale && pool.count == 0 && node_pools.is_empty() {
            pool.count = 1;
            resize_nodes(world, clock, &mut pool);
        }
        if pool.count == 0 && node_pools.is_empty() {
            return Err(ApiError::unprocessable(
                "validation error: the cluster's first node pool needs at least one node",
            ));
        }
        node_pools.push(pool);
    }
    let cluster = Cluster {
        id: new_id(),
        name: request.name,
        region: request.region,
        version: request.version,
        vpc_uuid,
        ha: request.ha,
        auto_upgrade: request.auto_upgrade,
        surge_upgrade: request.surge_upgrade,
        registry_enabled: request.registry_enabled,
        tags: request.tags,
        maintenance_policy: request.maintenance_policy.unwrap_or_default(),
        features: request.features,
        node_pools,
        ipv4: world.next_public_address(),
        phase: Phase::Provisioning,
        phase_since: clock.now,
        created_at: clock.now,
        updated_at: clock.now,
        cluster_subnet,
        service_subnet,
        isolated_workers: request.isolated_workers,
        worker_subnet_uuid,
        control_plane,
    };
    let json = cluster.to_json(clock);
    world.clusters.insert(cluster.id.clone(), cluster);
    Ok(json)
}

fn check_unique_pool_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ApiError::unprocessable(format!(
                "validation error: node pool names must be unique; {name} is used twice"
            )));
        }
    }
    Ok(())
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w Cluster, ApiError> {
    world.clusters.get(id).ok_or_else(ApiError::not_found)
}

fn get_mut<'w>(world: &'w mut World, id: &str) -> Result<&'w mut Cluster, ApiError> {
    world.clusters.get_mut(id).ok_or_else(ApiError::not_found)
}

pub(super) fn update(
    world: &mut World,
    clock: &Clock,
    id: &str,
    request: UpdateCluster,
) -> Result<Value, ApiError> {
    if let Some(name) = &request.name {
        if !valid_name(name) {
            return Err(ApiError::unprocessable(
                "name must be lowercase letters, digits, hyphens and periods",
            ));
        }
        if world
            .clusters
            .values()
            .any(|other| other.id != id && &other.name == name)
        {
            return Err(ApiError::unprocessable(format!(
                "a cluster with the name {name} already exists"
            )));
        }
    }
    if let Some(policy) = &request.maintenance_policy
        && !valid_start_time(&policy.start_time)
    {
        return Err(ApiError::unprocessable(format!(
            "validation error: maintenance start_time {:?} is not HH:MM",
            policy.start_time
        )));
    }
    let cluster = get_mut(world, id)?;
    if request.ha == Some(false) && cluster.ha {
        return Err(ApiError::unprocessable(
            "validation error: a highly available control plane cannot be turned off",
        ));
    }
    // DigitalOcean takes the members an update names and keeps the rest.
    if let Some(name) = request.name {
        cluster.name = name;
    }
    if let Some(change) = request.control_plane_firewall {
        let firewall =
            cluster
                .features
                .control_plane_firewall
                .get_or_insert(ControlPlaneFirewall {
                    enabled: false,
                    allowed_addresses: Vec::new(),
                });
        if let Some(enabled) = change.enabled {
            firewall.enabled = enabled;
        }
        if let Some(addresses) = change.allowed_addresses {
            firewall.allowed_addresses = addresses;
        }
    }
    if let Some(tags) = request.tags {
        cluster.tags = tags
            .into_iter()
            .filter(|tag| tag != "k8s" && !tag.starts_with("k8s:"))
            .collect();
    }
    if let Some(policy) = request.maintenance_policy {
        cluster.maintenance_policy = policy;
    }
    if let Some(auto_upgrade) = request.auto_upgrade {
        cluster.auto_upgrade = auto_upgrade;
    }
    if let Some(surge_upgrade) = request.surge_upgrade {
        cluster.surge_upgrade = surge_upgrade;
    }
    if let Some(ha) = request.ha {
        cluster.ha = ha;
    }
    cluster.features.merge(request.features);
    cluster.updated_at = clock.now;
    Ok(cluster.to_json(clock))
}

pub(super) fn upgrades(world: &World, id: &str) -> Result<Value, ApiError> {
    let cluster = get(world, id)?;
    let newer: Vec<Value> = catalog::KUBERNETES_VERSIONS
        .iter()
        .take_while(|(slug, _)| *slug != cluster.version)
        .map(|(slug, version)| {
            json!({"slug": slug, "kubernetes_version": version, "supported_features": []})
        })
        .collect();
    Ok(json!({ "available_upgrade_versions": newer }))
}

pub(super) fn upgrade(
    world: &mut World,
    clock: &Clock,
    id: &str,
    request: Upgrade,
) -> Result<(), ApiError> {
    let cluster = get(world, id)?;
    let newer = catalog::KUBERNETES_VERSIONS
        .iter()
        .take_while(|(slug, _)| *slug != cluster.version)
        .any(|(slug, _)| *slug == request.version);
    if !newer {
        return Err(ApiError::unprocessable(format!(
            "validation error: {} is not an upgrade of {}",
            request.version, cluster.version
        )));
    }
    let cluster = get_mut(world, id)?;
    cluster.version = request.version;
    cluster.phase = Phase::Upgrading;
    cluster.phase_since = clock.now;
    cluster.updated_at = clock.now;
    Ok(())
}

/// The resources DigitalOcean counts as the cluster's own: volumes and load balancers tagged `k8s:<id>`.
pub(super) fn associated(world: &World, id: &str) -> Result<Value, ApiError> {
    get(world, id)?;
    let tag = format!("k8s:{id}");
    let volumes: Vec<Value> = world
        .volumes
        .values()
        .filter(|volume| volume.tags.contains(&tag))
        .map(|volume| json!({"id": volume.id, "name": volume.name}))
        .collect();
    let balancers: Vec<Value> = world
        .load_balancers
        .values()
        .filter(|balancer| balancer.tag == tag)
        .map(|balancer| json!({"id": balancer.id, "name": balancer.name}))
        .collect();
    Ok(json!({"load_balancers": balancers, "volumes": volumes, "volume_snapshots": []}))
}

/// Deletes the cluster and, as chosen, its associated resources.
pub(super) fn delete(world: &mut World, id: &str, with: Option<Selection>) -> Result<(), ApiError> {
    get(world, id)?;
    if let Some(selection) = with {
        if !selection.volume_snapshots.is_empty() {
            return Err(ApiError::unprocessable(
                "the sandbox holds no volume snapshots",
            ));
        }
        for balancer in &selection.load_balancers {
            super::load_balancers::delete(world, balancer)?;
        }
        for volume in &selection.volumes {
            super::volumes::unlink(world, volume);
            super::volumes::delete(world, volume)?;
        }
    }
    let cluster = world.clusters.remove(id).expect("checked above");
    super::projects::forget(world, &cluster.urn());
    for firewall in world.firewalls.values_mut() {
        for rule in &mut firewall.inbound_rules {
            rule.sources.kubernetes_ids.retain(|other| other != id);
        }
        for rule in &mut firewall.outbound_rules {
            rule.destinations.kubernetes_ids.retain(|other| other != id);
        }
    }
    Ok(())
}

/// Every associated resource, for `destroy_with_associated_resources/dangerous`.
pub(super) fn everything_associated(world: &World, id: &str) -> Result<Selection, ApiError> {
    let associated = associated(world, id)?;
    let ids = |key: &str| {
        associated[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Selection {
        load_balancers: ids("load_balancers"),
        volumes: ids("volumes"),
        volume_snapshots: Vec::new(),
    })
}

/// Issues a bearer token for a cluster, valid until the given time.
pub(super) trait TokenIssuer {
    fn issue(&self, cluster: &str, expires_at: SystemTime) -> String;
}

/// A kubeconfig for the cluster, whose token lasts `expiry`.
pub(super) fn kubeconfig(
    world: &World,
    clock: &Clock,
    id: &str,
    expiry: Duration,
    issuer: &impl TokenIssuer,
) -> Result<String, ApiError> {
    let cluster = get(world, id)?;
    let credentials = credentials(world, clock, id, expiry, issuer)?;
    let context = format!("sandbox-do-{}-{}", cluster.region, cluster.name);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{
            "name": context,
            "cluster": {
                "server": cluster.endpoint(),
                "certificate-authority-data": credentials["certificate_authority_data"],
            },
        }],
        "users": [{
            "name": format!("{context}-admin"),
            "user": {"token": credentials["token"]},
        }],
        "contexts": [{
            "name": context,
            "context": {"cluster": context, "user": format!("{context}-admin")},
        }],
        "current-context": context,
    });
    let body = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
    let what = if cluster.control_plane.is_some() {
        "is a local kube-apiserver with no nodes"
    } else {
        "is simulated and no API server answers"
    };
    Ok(format!(
        "# A kubeconfig from the wildside-tofu sandbox: the cluster {} {what}.\n{body}\n",
        cluster.name
    ))
}

/// The cluster's credentials, whose token lasts `expiry`.
pub(super) fn credentials(
    world: &World,
    clock: &Clock,
    id: &str,
    expiry: Duration,
    issuer: &impl TokenIssuer,
) -> Result<Value, ApiError> {
    let cluster = get(world, id)?;
    let expires_at = clock.now + expiry;
    let (authority, token) = match &cluster.control_plane {
        Some(control_plane) => (
            control_plane.certificate_authority.clone(),
            issuer.issue(&cluster.id, expires_at),
        ),
        None => (
            format!(
                "-----BEGIN CERTIFICATE-----\nwildside-tofu sandbox certificate authority of cluster {}\n-----END CERTIFICATE-----\n",
                cluster.id
            ),
            format!("sandbox-token-{}", cluster.id),
        ),
    };
    Ok(json!({
        "server": cluster.endpoint(),
        "certificate_authority_data": base64_encode(authority.as_bytes()),
        "client_certificate_data": null,
        "client_key_data": null,
        "token": token,
        "expires_at": timestamp(expires_at),
    }))
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn find_pool<'c>(cluster: &'c mut Cluster, pool_id: &str) -> Result<&'c mut NodePool, ApiError> {
    cluster
        .node_pools
        .iter_mut()
        .find(|pool| pool.id == pool_id)
        .ok_or_else(ApiError::not_found)
}

pub(super) fn pools(world: &World, clock: &Clock, id: &str) -> Result<Vec<Value>, ApiError> {
    let cluster = get(world, id)?;
    Ok(cluster
        .node_pools
        .iter()
        .map(|pool| pool.to_json(&cluster.id, clock))
        .collect())
}

pub(super) fn pool(
    world: &World,
    clock: &Clock,
    id: &str,
    pool_id: &str,
) -> Result<Value, ApiError> {
    let cluster = get(world, id)?;
    cluster
        .node_pools
        .iter()
        .find(|pool| pool.id == pool_id)
        .map(|pool| pool.to_json(&cluster.id, clock))
        .ok_or_else(ApiError::not_found)
}

pub(super) fn add_pool(
    world: &mut World,
    clock: &Clock,
    id: &str,
    request: PoolRequest,
) -> Result<Value, ApiError> {
    let cluster = get(world, id)?;
    if cluster
        .node_pools
        .iter()
        .any(|pool| pool.name == request.name)
    {
        return Err(ApiError::unprocessable(format!(
            "validation error: node pool names must be unique; {} is taken",
            request.name
        )));
    }
    if request.tags.iter().any(|tag| tag == DEFAULT_POOL_TAG)
        && cluster.node_pools.iter().any(NodePool::is_default)
    {
        return Err(ApiError::unprocessable(
            "validation error: the cluster already has a default node pool",
        ));
    }
    let pool = build_pool(world, clock, request)?;
    let cluster = get_mut(world, id)?;
    let json = pool.to_json(&cluster.id, clock);
    cluster.node_pools.push(pool);
    cluster.updated_at = clock.now;
    Ok(json)
}

pub(super) fn update_pool(
    world: &mut World,
    clock: &Clock,
    id: &str,
    pool_id: &str,
    request: PoolUpdate,
) -> Result<Value, ApiError> {
    if request
        .name
        .as_deref()
        .is_some_and(|name| !valid_name(name))
    {
        return Err(ApiError::unprocessable(
            "node pool names are lowercase letters, digits, hyphens and periods",
        ));
    }
    let mut cluster = get(world, id)?.clone();
    if let Some(name) = &request.name
        && cluster
            .node_pools
            .iter()
            .any(|pool| pool.id != pool_id && &pool.name == name)
    {
        return Err(ApiError::unprocessable(format!(
            "validation error: node pool names must be unique; {name} is taken"
        )));
    }
    let first = cluster.node_pools.first().map(|pool| pool.id.clone());
    let pool = find_pool(&mut cluster, pool_id)?;
    let auto_scale = request.auto_scale.unwrap_or(pool.auto_scale);
    let (count, min_nodes, max_nodes) = pool_counts(
        auto_scale,
        request.count.or(Some(pool.count)),
        request.min_nodes.or(Some(pool.min_nodes)),
        request.max_nodes.or(Some(pool.max_nodes)),
    )?;
    if count == 0 && first.as_deref() == Some(pool_id) {
        return Err(ApiError::unprocessable(
            "validation error: the cluster's first node pool needs at least one node",
        ));
    }
    // DigitalOcean takes the members an update names and keeps the rest.
    if let Some(name) = request.name {
        pool.name = name;
    }
    pool.auto_scale = auto_scale;
    pool.count = count;
    pool.min_nodes = min_nodes;
    pool.max_nodes = max_nodes;
    if let Some(tags) = request.tags {
        pool.tags = tags
            .into_iter()
            .filter(|tag| tag != "k8s" && tag != "k8s:worker" && !tag.starts_with("k8s:"))
            .collect();
    }
    if let Some(labels) = request.labels {
        pool.labels = labels;
    }
    if let Some(taints) = request.taints {
        pool.taints = taints;
    }
    let mut pool = pool.clone();
    resize_nodes(world, clock, &mut pool);
    let json = pool.to_json(&cluster.id, clock);
    *find_pool(&mut cluster, pool_id)? = pool;
    cluster.updated_at = clock.now;
    world.clusters.insert(cluster.id.clone(), cluster);
    Ok(json)
}

pub(super) fn delete_pool(
    world: &mut World,
    clock: &Clock,
    id: &str,
    pool_id: &str,
) -> Result<(), ApiError> {
    let cluster = get_mut(world, id)?;
    let index = cluster
        .node_pools
        .iter()
        .position(|pool| pool.id == pool_id)
        .ok_or_else(ApiError::not_found)?;
    if cluster.node_pools.len() == 1 {
        return Err(ApiError::unprocessable(
            "validation error: a cluster must keep at least one node pool",
        ));
    }
    cluster.node_pools.remove(index);
    cluster.updated_at = clock.now;
    Ok(())
}

/// Deletes (and, with `replace`, replaces) one node; the pool's count follows unless it is replaced.
pub(super) fn delete_node(
    world: &mut World,
    clock: &Clock,
    id: &str,
    pool_id: &str,
    node_id: &str,
    replace: bool,
) -> Result<(), ApiError> {
    let mut cluster = get(world, id)?.clone();
    let pool = find_pool(&mut cluster, pool_id)?;
    let index = pool
        .nodes
        .iter()
        .position(|node| node.id == node_id)
        .ok_or_else(ApiError::not_found)?;
    pool.nodes.remove(index);
    if !replace {
        pool.count = pool.count.saturating_sub(1);
    }
    let mut pool = pool.clone();
    resize_nodes(world, clock, &mut pool);
    *find_pool(&mut cluster, pool_id)? = pool;
    world.clusters.insert(cluster.id.clone(), cluster);
    Ok(())
}

pub(super) fn recycle(
    world: &mut World,
    clock: &Clock,
    id: &str,
    pool_id: &str,
    nodes: &[String],
) -> Result<(), ApiError> {
    for node in nodes {
        delete_node(world, clock, id, pool_id, node, true)?;
    }
    Ok(())
}
