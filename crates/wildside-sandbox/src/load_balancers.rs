//! Load balancers: forwarding rules (HTTPS ones with a certificate unless passed through; a global one
//! forwards by its `glb_settings` instead), a health check, backends by droplet id or tag, a firewall of
//! `ip:`/`cidr:` allow and deny rules, `new` until the sandbox's delay has passed, with an address on loopback
//! (and an IPv6 address when dual-stack).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::world::{Clock, World, new_id, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum EntryProtocol {
    Http,
    Https,
    Http2,
    Http3,
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum TargetProtocol {
    Http,
    Https,
    Http2,
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ForwardingRule {
    pub(super) entry_protocol: EntryProtocol,
    pub(super) entry_port: u16,
    pub(super) target_protocol: TargetProtocol,
    pub(super) target_port: u16,
    #[serde(default)]
    pub(super) certificate_id: String,
    #[serde(default)]
    pub(super) tls_passthrough: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum HealthProtocol {
    Http,
    Https,
    Tcp,
}

/// A health check; each member a request leaves out takes DigitalOcean's documented default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct HealthCheck {
    pub(super) protocol: HealthProtocol,
    pub(super) port: u16,
    pub(super) path: String,
    pub(super) check_interval_seconds: u32,
    pub(super) response_timeout_seconds: u32,
    pub(super) unhealthy_threshold: u32,
    pub(super) healthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            protocol: HealthProtocol::Http,
            port: 80,
            path: "/".into(),
            check_interval_seconds: 10,
            response_timeout_seconds: 5,
            unhealthy_threshold: 5,
            healthy_threshold: 3,
        }
    }
}

/// Sticky sessions; `type` defaults to `none`, as DigitalOcean documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct StickySessions {
    #[serde(rename = "type")]
    pub(super) kind: StickyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cookie_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cookie_ttl_seconds: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum StickyKind {
    None,
    Cookies,
}

impl Default for StickySessions {
    fn default() -> Self {
        Self {
            kind: StickyKind::None,
            cookie_name: None,
            cookie_ttl_seconds: None,
        }
    }
}

/// Which source addresses may reach the load balancer (`ip:1.2.3.4`, `cidr:10.0.0.0/8`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LbFirewall {
    #[serde(default)]
    pub(super) deny: Vec<String>,
    #[serde(default)]
    pub(super) allow: Vec<String>,
}

impl LbFirewall {
    /// The first rule that is neither `ip:<address>` nor `cidr:<address>/<prefix>`.
    fn malformed(&self) -> Option<&str> {
        self.deny
            .iter()
            .chain(&self.allow)
            .find(|rule| parse_rule(rule).is_none())
            .map(String::as_str)
    }

    /// Whether a connection from `source` gets through: not denied, and allowed when there is an allow-list.
    pub(super) fn admits(&self, source: IpAddr) -> bool {
        let matches = |rules: &[String]| {
            rules
                .iter()
                .filter_map(|rule| parse_rule(rule))
                .any(|(network, prefix)| contains(network, prefix, source))
        };
        !matches(&self.deny) && (self.allow.is_empty() || matches(&self.allow))
    }
}

/// `ip:1.2.3.4` as that address alone, `cidr:1.2.0.0/16` as the range.
fn parse_rule(rule: &str) -> Option<(IpAddr, u8)> {
    if let Some(address) = rule.strip_prefix("ip:") {
        let address: IpAddr = address.parse().ok()?;
        let prefix = if address.is_ipv4() { 32 } else { 128 };
        return Some((address, prefix));
    }
    let (address, prefix) = rule.strip_prefix("cidr:")?.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let longest = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= longest).then_some((address, prefix))
}

fn contains(network: IpAddr, prefix: u8, address: IpAddr) -> bool {
    let mask = |bits: u32| -> u128 {
        let prefix = u32::from(prefix);
        if prefix == 0 {
            0
        } else {
            (u128::MAX << (bits - prefix)) & (u128::MAX >> (128 - bits))
        }
    };
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) => {
            let mask = mask(32);
            u128::from(u32::from(network)) & mask == u128::from(u32::from(address)) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(address)) => {
            let mask = mask(128);
            u128::from(network) & mask == u128::from(address) & mask
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum Network {
    External,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum NetworkStack {
    Ipv4,
    Dualstack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum BalancerType {
    Regional,
    RegionalNetwork,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Algorithm {
    RoundRobin,
    LeastConnections,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum CipherPolicy {
    Default,
    Strong,
}

/// The settings a load balancer is created or replaced with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BalancerSpec {
    pub(super) name: String,
    /// Required for regional load balancers; a global one has none.
    #[serde(default)]
    pub(super) region: String,
    #[serde(default)]
    pub(super) size_unit: Option<u32>,
    #[serde(default)]
    pub(super) size: Option<String>,
    #[serde(default = "round_robin")]
    pub(super) algorithm: Algorithm,
    #[serde(default)]
    pub(super) forwarding_rules: Vec<ForwardingRule>,
    #[serde(default)]
    pub(super) health_check: Option<HealthCheck>,
    #[serde(default)]
    pub(super) sticky_sessions: Option<StickySessions>,
    #[serde(default)]
    pub(super) redirect_http_to_https: bool,
    #[serde(default)]
    pub(super) enable_proxy_protocol: bool,
    #[serde(default)]
    pub(super) enable_backend_keepalive: bool,
    #[serde(default)]
    pub(super) http_idle_timeout_seconds: Option<u32>,
    #[serde(default)]
    pub(super) vpc_uuid: Option<String>,
    #[serde(default)]
    pub(super) disable_lets_encrypt_dns_records: bool,
    #[serde(default)]
    pub(super) firewall: Option<LbFirewall>,
    #[serde(default)]
    pub(super) network: Option<Network>,
    #[serde(default)]
    pub(super) network_stack: Option<NetworkStack>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<BalancerType>,
    #[serde(default)]
    pub(super) tls_cipher_policy: Option<CipherPolicy>,
    #[serde(default)]
    pub(super) droplet_ids: Vec<u64>,
    #[serde(default)]
    pub(super) tag: String,
    #[serde(default)]
    pub(super) project_id: Option<String>,
    #[serde(default)]
    pub(super) glb_settings: Option<Value>,
    #[serde(default)]
    pub(super) domains: Option<Value>,
    #[serde(default)]
    pub(super) target_load_balancer_ids: Vec<String>,
}

/// The deprecated `size` slugs and the size units each stands for: `lb-small`, `lb-medium` and `lb-large` are
/// 1, 3 and 6 nodes, as DigitalOcean's API reference says; reads report both.
const SIZES: [(&str, u32); 3] = [("lb-small", 1), ("lb-medium", 3), ("lb-large", 6)];

fn units_of(size: &str) -> Option<u32> {
    SIZES
        .iter()
        .find(|(slug, _)| *slug == size)
        .map(|(_, units)| *units)
}

fn size_of(units: u32) -> Option<&'static str> {
    SIZES
        .iter()
        .find(|(_, n)| *n == units)
        .map(|(slug, _)| *slug)
}

fn round_robin() -> Algorithm {
    Algorithm::RoundRobin
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoadBalancer {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) region: String,
    pub(super) size_unit: u32,
    pub(super) algorithm: Algorithm,
    pub(super) forwarding_rules: Vec<ForwardingRule>,
    pub(super) health_check: HealthCheck,
    pub(super) sticky_sessions: StickySessions,
    pub(super) redirect_http_to_https: bool,
    pub(super) enable_proxy_protocol: bool,
    pub(super) enable_backend_keepalive: bool,
    pub(super) http_idle_timeout_seconds: u32,
    pub(super) vpc_uuid: String,
    pub(super) disable_lets_encrypt_dns_records: bool,
    pub(super) firewall: LbFirewall,
    pub(super) network: Network,
    pub(super) network_stack: NetworkStack,
    pub(super) kind: BalancerType,
    pub(super) tls_cipher_policy: CipherPolicy,
    pub(super) droplet_ids: Vec<u64>,
    pub(super) tag: String,
    pub(super) project_id: String,
    pub(super) ip: Ipv4Addr,
    pub(super) private_address: Option<Ipv4Addr>,
    pub(super) created_at: SystemTime,
    #[serde(default)]
    pub(super) glb_settings: Option<Value>,
    #[serde(default)]
    pub(super) domains: Option<Value>,
    #[serde(default)]
    pub(super) target_load_balancer_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Droplets {
    droplet_ids: Vec<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Rules {
    forwarding_rules: Vec<ForwardingRule>,
}

impl LoadBalancer {
    pub(super) fn urn(&self) -> String {
        format!("do:loadbalancer:{}", self.id)
    }

    /// A dual-stack load balancer's public IPv6 address, as DigitalOcean gives one beside its IPv4 address
    /// (in the /64 of the description's example), derived from that IPv4 address so it stays fixed; an
    /// IPv4-only one has none, which DigitalOcean reads as an empty string.
    fn public_ipv6(&self) -> Option<Ipv6Addr> {
        let [a, b, c, d] = self.ip.octets();
        (self.network_stack == NetworkStack::Dualstack).then(|| {
            Ipv6Addr::new(
                0x2604,
                0xa880,
                0x800,
                0x14,
                0,
                0,
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, d]),
            )
        })
    }

    fn is_global(&self) -> bool {
        self.kind == BalancerType::Global
    }

    /// The load balancer as the API reads it: a tag-selected one lists the droplets carrying its tag, as
    /// DigitalOcean reports them; a global one has no region, VPC or private address.
    pub(super) fn to_json(&self, world: &World, clock: &Clock) -> Value {
        let droplet_ids: Vec<u64> = if self.tag.is_empty() {
            self.droplet_ids.clone()
        } else {
            world
                .droplets
                .values()
                .filter(|droplet| droplet.tags.contains(&self.tag))
                .map(|droplet| droplet.id)
                .collect()
        };
        let mut json = json!({
            "id": self.id,
            "name": self.name,
            "project_id": self.project_id,
            "ip": self.ip.to_string(),
            "ipv6": self.public_ipv6().map(|address| address.to_string()).unwrap_or_default(),
            "size_unit": self.size_unit,
            "algorithm": self.algorithm,
            "status": if clock.settled(self.created_at) { "active" } else { "new" },
            "created_at": timestamp(self.created_at),
            "forwarding_rules": self.forwarding_rules,
            "health_check": self.health_check,
            "sticky_sessions": self.sticky_sessions,
            "redirect_http_to_https": self.redirect_http_to_https,
            "enable_proxy_protocol": self.enable_proxy_protocol,
            "enable_backend_keepalive": self.enable_backend_keepalive,
            "http_idle_timeout_seconds": self.http_idle_timeout_seconds,
            "vpc_uuid": self.vpc_uuid,
            "disable_lets_encrypt_dns_records": self.disable_lets_encrypt_dns_records,
            "firewall": self.firewall,
            "network": self.network,
            "network_stack": self.network_stack,
            "type": self.kind,
            "tls_cipher_policy": self.tls_cipher_policy,
            "region": catalog::region_json(&self.region),
            "droplet_ids": droplet_ids,
            "tag": self.tag,
            "target_load_balancer_ids": self.target_load_balancer_ids,
        });
        let members = json.as_object_mut().expect("a load balancer is an object");
        if let Some(size) = size_of(self.size_unit) {
            members.insert("size".into(), size.into());
        }
        if let Some(settings) = &self.glb_settings {
            members.insert("glb_settings".into(), settings.clone());
        }
        if let Some(domains) = &self.domains {
            members.insert("domains".into(), domains.clone());
        }
        if self.is_global() {
            members.remove("region");
        }
        json
    }
}

fn check_rules(world: &World, rules: &[ForwardingRule]) -> Result<(), ApiError> {
    if rules.is_empty() {
        return Err(ApiError::unprocessable(
            "a load balancer needs at least one forwarding rule",
        ));
    }
    for (index, rule) in rules.iter().enumerate() {
        if rules[..index]
            .iter()
            .any(|other| other.entry_port == rule.entry_port)
        {
            return Err(ApiError::unprocessable(format!(
                "two forwarding rules use entry port {}",
                rule.entry_port
            )));
        }
        let secure = matches!(
            rule.entry_protocol,
            EntryProtocol::Https | EntryProtocol::Http2 | EntryProtocol::Http3
        );
        if secure && !rule.tls_passthrough && rule.certificate_id.is_empty() {
            return Err(ApiError::unprocessable(format!(
                "the {:?} forwarding rule on port {} needs a certificate_id or tls_passthrough",
                rule.entry_protocol, rule.entry_port
            )));
        }
        if !rule.certificate_id.is_empty() && !world.certificates.contains_key(&rule.certificate_id)
        {
            return Err(ApiError::unprocessable(format!(
                "certificate {} could not be found",
                rule.certificate_id
            )));
        }
    }
    Ok(())
}

fn check_droplets(world: &World, region: &str, droplet_ids: &[u64]) -> Result<(), ApiError> {
    for id in droplet_ids {
        let droplet = world
            .droplets
            .get(id)
            .ok_or_else(|| ApiError::unprocessable(format!("droplet {id} could not be found")))?;
        if droplet.region != region {
            return Err(ApiError::unprocessable(format!(
                "droplet {id} is in {}, not {region}",
                droplet.region
            )));
        }
    }
    Ok(())
}

fn check(world: &World, spec: &BalancerSpec) -> Result<(), ApiError> {
    if spec.name.is_empty() || spec.name.len() > 255 {
        return Err(ApiError::unprocessable("name must be 1 to 255 characters"));
    }
    let global = spec.kind == Some(BalancerType::Global);
    if !global && spec.region.is_empty() {
        return Err(ApiError::unprocessable(
            "region is required for a regional load balancer",
        ));
    }
    if !global && catalog::find_region(&spec.region).is_none() {
        return Err(ApiError::unprocessable(format!(
            "region {} is not available",
            spec.region
        )));
    }
    if let Some(size_unit) = spec.size_unit
        && !(1..=100).contains(&size_unit)
    {
        return Err(ApiError::unprocessable(
            "size_unit must be between 1 and 100",
        ));
    }
    if let Some(size) = &spec.size {
        let Some(units) = units_of(size) else {
            return Err(ApiError::unprocessable(format!(
                "size {size} is not one of lb-small, lb-medium, lb-large"
            )));
        };
        if spec.size_unit.is_some_and(|size_unit| size_unit != units) {
            return Err(ApiError::unprocessable(format!(
                "size {size} is {units} size units, not {}",
                spec.size_unit.unwrap_or_default()
            )));
        }
    }
    if !spec.droplet_ids.is_empty() && !spec.tag.is_empty() {
        return Err(ApiError::unprocessable(
            "droplet_ids and tag are mutually exclusive",
        ));
    }
    // A global load balancer forwards by its `glb_settings` instead: the provider sends no forwarding rules
    // for one (they conflict with `glb_settings`), and DigitalOcean reads none back (the provider's
    // acceptance test of a global load balancer plans clean with none configured).
    if !global || !spec.forwarding_rules.is_empty() {
        check_rules(world, &spec.forwarding_rules)?;
    }
    if let Some(rule) = spec.firewall.as_ref().and_then(LbFirewall::malformed) {
        return Err(ApiError::unprocessable(format!(
            "firewall rule `{rule}` is neither `ip:<address>` nor `cidr:<address>/<prefix>`"
        )));
    }
    if global {
        // A global load balancer spans regions: its droplets may be anywhere, and it lives in no VPC.
        return spec.droplet_ids.iter().try_for_each(|id| {
            world
                .droplets
                .get(id)
                .map(|_| ())
                .ok_or_else(|| ApiError::unprocessable(format!("droplet {id} could not be found")))
        });
    }
    check_droplets(world, &spec.region, &spec.droplet_ids)?;
    match spec.vpc_uuid.as_deref().filter(|id| !id.is_empty()) {
        Some(vpc_uuid) => super::vpcs::check_in_region(world, vpc_uuid, &spec.region),
        None => Ok(()),
    }
}

fn apply(balancer: &mut LoadBalancer, spec: BalancerSpec) {
    balancer.name = spec.name;
    balancer.size_unit = spec
        .size_unit
        .or_else(|| spec.size.as_deref().and_then(units_of))
        .unwrap_or(1);
    balancer.algorithm = spec.algorithm;
    balancer.forwarding_rules = spec.forwarding_rules;
    balancer.health_check = spec.health_check.unwrap_or_default();
    balancer.sticky_sessions = spec.sticky_sessions.unwrap_or_default();
    balancer.redirect_http_to_https = spec.redirect_http_to_https;
    balancer.enable_proxy_protocol = spec.enable_proxy_protocol;
    balancer.enable_backend_keepalive = spec.enable_backend_keepalive;
    balancer.http_idle_timeout_seconds = spec.http_idle_timeout_seconds.unwrap_or(60);
    balancer.disable_lets_encrypt_dns_records = spec.disable_lets_encrypt_dns_records;
    balancer.firewall = spec.firewall.unwrap_or_default();
    balancer.tls_cipher_policy = spec.tls_cipher_policy.unwrap_or(CipherPolicy::Default);
    balancer.droplet_ids = spec.droplet_ids;
    balancer.tag = spec.tag;
    balancer.glb_settings = spec.glb_settings;
    balancer.domains = spec.domains;
    balancer.target_load_balancer_ids = spec.target_load_balancer_ids;
}

pub(super) fn create(
    world: &mut World,
    clock: &Clock,
    spec: BalancerSpec,
) -> Result<Value, ApiError> {
    check(world, &spec)?;
    let global = spec.kind == Some(BalancerType::Global);
    let (vpc_uuid, private_address) = if global {
        (String::new(), None)
    } else {
        let vpc_uuid = super::vpcs::resolve(world, clock, spec.vpc_uuid.clone(), &spec.region)?;
        let address = world.next_private_address(&vpc_uuid)?;
        (vpc_uuid, Some(address))
    };
    let project_id = match spec.project_id.clone().filter(|id| !id.is_empty()) {
        Some(id) if world.projects.contains_key(&id) => id,
        Some(id) => {
            return Err(ApiError::unprocessable(format!(
                "project {id} could not be found"
            )));
        }
        None => super::projects::default_id(world),
    };
    let mut balancer = LoadBalancer {
        id: new_id(),
        name: String::new(),
        region: spec.region.clone(),
        size_unit: 1,
        algorithm: Algorithm::RoundRobin,
        forwarding_rules: Vec::new(),
        health_check: HealthCheck::default(),
        sticky_sessions: StickySessions::default(),
        redirect_http_to_https: false,
        enable_proxy_protocol: false,
        enable_backend_keepalive: false,
        http_idle_timeout_seconds: 60,
        private_address,
        vpc_uuid,
        disable_lets_encrypt_dns_records: false,
        firewall: LbFirewall::default(),
        network: spec.network.unwrap_or(Network::External),
        network_stack: spec.network_stack.unwrap_or(NetworkStack::Ipv4),
        kind: spec.kind.unwrap_or(BalancerType::Regional),
        tls_cipher_policy: CipherPolicy::Default,
        droplet_ids: Vec::new(),
        tag: String::new(),
        project_id,
        ip: world.next_public_address(),
        created_at: clock.now,
        glb_settings: None,
        domains: None,
        target_load_balancer_ids: Vec::new(),
    };
    apply(&mut balancer, spec);
    let json = balancer.to_json(world, clock);
    world.load_balancers.insert(balancer.id.clone(), balancer);
    Ok(json)
}

pub(super) fn get<'w>(world: &'w World, id: &str) -> Result<&'w LoadBalancer, ApiError> {
    world.load_balancers.get(id).ok_or_else(ApiError::not_found)
}

pub(super) fn replace(
    world: &mut World,
    clock: &Clock,
    id: &str,
    spec: BalancerSpec,
) -> Result<Value, ApiError> {
    let balancer = get(world, id)?;
    if spec.region != balancer.region {
        return Err(ApiError::unprocessable(
            "a load balancer cannot move to another region",
        ));
    }
    if spec
        .vpc_uuid
        .as_deref()
        .is_some_and(|vpc| !vpc.is_empty() && vpc != balancer.vpc_uuid)
    {
        return Err(ApiError::unprocessable(
            "a load balancer cannot move to another VPC",
        ));
    }
    check(world, &spec)?;
    let balancer = world.load_balancers.get_mut(id).expect("checked above");
    apply(balancer, spec);
    Ok(world.load_balancers[id].to_json(world, clock))
}

pub(super) fn delete(world: &mut World, id: &str) -> Result<(), ApiError> {
    let balancer = world
        .load_balancers
        .remove(id)
        .ok_or_else(ApiError::not_found)?;
    for firewall in world.firewalls.values_mut() {
        for rule in &mut firewall.inbound_rules {
            rule.sources.load_balancer_uids.retain(|uid| uid != id);
        }
    }
    super::projects::forget(world, &balancer.urn());
    Ok(())
}

pub(super) fn droplets(
    world: &mut World,
    id: &str,
    request: Droplets,
    add: bool,
) -> Result<(), ApiError> {
    let balancer = get(world, id)?;
    if add {
        if !balancer.tag.is_empty() {
            return Err(ApiError::unprocessable(
                "this load balancer selects its droplets by tag",
            ));
        }
        check_droplets(world, &balancer.region.clone(), &request.droplet_ids)?;
    }
    let balancer = world.load_balancers.get_mut(id).expect("checked above");
    if add {
        for droplet in request.droplet_ids {
            if !balancer.droplet_ids.contains(&droplet) {
                balancer.droplet_ids.push(droplet);
            }
        }
    } else {
        balancer
            .droplet_ids
            .retain(|droplet| !request.droplet_ids.contains(droplet));
    }
    Ok(())
}

pub(super) fn rules(
    world: &mut World,
    id: &str,
    request: Rules,
    add: bool,
) -> Result<(), ApiError> {
    let mut next = get(world, id)?.forwarding_rules.clone();
    if add {
        next.extend(request.forwarding_rules);
    } else {
        next.retain(|rule| !request.forwarding_rules.contains(rule));
    }
    check_rules(world, &next)?;
    world
        .load_balancers
        .get_mut(id)
        .expect("checked above")
        .forwarding_rules = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firewall(allow: &[&str], deny: &[&str]) -> LbFirewall {
        LbFirewall {
            allow: allow.iter().map(|rule| rule.to_string()).collect(),
            deny: deny.iter().map(|rule| rule.to_string()).collect(),
        }
    }

    #[test]
    fn a_firewall_admits_the_allow_list_minus_the_deny_list() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let open = firewall(&[], &[]);
        assert!(open.admits(ip("198.51.100.7")));
        let listed = firewall(&["cidr:127.0.0.1/32", "ip:203.0.113.9"], &[]);
        assert!(listed.admits(ip("127.0.0.1")));
        assert!(listed.admits(ip("203.0.113.9")));
        assert!(!listed.admits(ip("127.0.0.2")));
        assert!(!listed.admits(ip("::1")));
        let everyone_but = firewall(&["cidr:0.0.0.0/0"], &["cidr:10.0.0.0/8"]);
        assert!(everyone_but.admits(ip("192.0.2.1")));
        assert!(!everyone_but.admits(ip("10.1.2.3")));
        assert!(firewall(&["cidr:2001:db8::/32"], &[]).admits(ip("2001:db8::1")));
    }

    #[test]
    fn malformed_firewall_rules_are_named() {
        assert_eq!(
            firewall(&["ip:1.2.3.4", "cidr:1.2.0.0/16"], &[]).malformed(),
            None
        );
        for rule in [
            "1.2.3.4",
            "cidr:1.2.3.4",
            "cidr:1.2.0.0/33",
            "ip:nowhere",
            "host:a",
        ] {
            assert_eq!(firewall(&[], &[rule]).malformed(), Some(rule), "{rule}");
        }
    }
}
