//! Validating the platform sections: each value against DigitalOcean's and the modules' rules, and the
//! checks between sections (a VPC that overlaps DOKS's ranges, a default pool that scales to zero).

use std::net::Ipv4Addr;

use toml::Spanned;

use super::raw::*;
use super::*;
use crate::stack::error::StackError;
use crate::stack::platform_calls::{CLUSTER, PlatformCall, VAULT_APPLIANCE, VPC};
use crate::stack::validate::{Checker, is_identifier};

/// DigitalOcean regions that run Kubernetes.
const REGIONS: [&str; 13] = [
    "ams3", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1",
    "atl1",
];
/// The ranges DOKS gives pods and services by default; a VPC must not overlap them.
pub(in crate::stack) const DOKS_RANGES: [(&str, Ipv4Addr, u8); 2] = [
    ("the DOKS pod range", Ipv4Addr::new(10, 244, 0, 0), 16),
    ("the DOKS service range", Ipv4Addr::new(10, 245, 0, 0), 16),
];

fn text(value: &Option<Spanned<String>>) -> Option<String> {
    value.as_ref().map(|value| value.get_ref().clone())
}

/// `10.10.0.0/16` as an address and prefix length.
pub(in crate::stack) fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: Ipv4Addr = address.parse().ok()?;
    let prefix: u8 = digits(prefix).filter(|prefix| *prefix <= 32)?;
    Some((address, prefix))
}

/// A small number written with ASCII digits only, as tofu's `regex` and `cidrnetmask` read one (Rust's own
/// parse also takes a leading `+`).
fn digits(text: &str) -> Option<u8> {
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

pub(in crate::stack) fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let prefix = a.1.min(b.1);
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    (u32::from(a.0) & mask) == (u32::from(b.0) & mask)
}

fn is_size_slug(size: &str) -> bool {
    let mut parts = size.split('-');
    parts.next().is_some_and(|family| {
        !family.is_empty()
            && family
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && size.split('-').count() >= 2
        && size
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_version(version: &str) -> bool {
    let (numbers, suffix) = version
        .split_once('-')
        .map_or((version, None), |(numbers, suffix)| (numbers, Some(suffix)));
    let parts: Vec<&str> = numbers.split('.').collect();
    let numeric = parts
        .iter()
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    match (parts.len(), suffix) {
        (2, None) => numeric,
        (3, Some(suffix)) => {
            numeric
                && suffix
                    .strip_prefix("do.")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        }
        _ => false,
    }
}

impl Checker<'_> {
    fn whole<T>(
        &self,
        value: &Spanned<i64>,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
        example: &str,
    ) -> Result<T, StackError>
    where
        T: TryFrom<i64>,
    {
        let number = *value.get_ref();
        if !range.contains(&number) {
            return Err(self
                .error(
                    value,
                    format!(
                        "`{what}` must be between {} and {}",
                        range.start(),
                        range.end()
                    ),
                )
                .with_hint(format!("such as `{example}`")));
        }
        T::try_from(number).map_err(|_| self.error(value, format!("`{what}` is out of range")))
    }

    fn name(
        &self,
        value: &Option<Spanned<String>>,
        default: String,
        what: &str,
    ) -> Result<String, StackError> {
        match value {
            None => Ok(default),
            Some(name) if is_identifier(name.get_ref()) && name.get_ref().len() <= 63 => {
                Ok(name.get_ref().to_lowercase())
            }
            Some(name) => Err(self
                .error(
                    name,
                    format!("`{}` is not a valid {what} name", name.get_ref()),
                )
                .with_hint("use up to 63 letters, digits and `-`, starting with a letter")),
        }
    }

    /// The `name` of a platform module call: as written, or `default` (made from the stack name); either way
    /// one the module's own validation accepts.
    fn module_name(
        &self,
        value: Option<&Spanned<String>>,
        default: String,
        call: PlatformCall,
        what: &str,
    ) -> Result<String, StackError> {
        match value {
            None if call.accepts_name(&default) => Ok(default),
            None => Err(self.stack_name_refused(call)),
            Some(name) if call.accepts_name(name.get_ref()) => Ok(name.get_ref().clone()),
            Some(name) => Err(self
                .error(
                    name,
                    format!("`{}` is not a valid {what} name", name.get_ref()),
                )
                .with_hint(format!(
                    "use up to {} lowercase letters, digits and `-`, starting with a letter",
                    call.longest_name
                ))),
        }
    }

    /// The stack name cannot make the names of `call`'s resources.
    fn stack_name_refused(&self, call: PlatformCall) -> StackError {
        let stack = self
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        StackError::at(
            self.path,
            self.source,
            0,
            format!(
                "the stack name `{stack}` cannot name DigitalOcean resources: module `{}` takes names of up to {} lowercase letters, digits and `-`, starting with a letter",
                call.module, call.longest_name
            ),
        )
        .with_hint(match call.name {
            "vault_appliance" => "rename the stack file (the appliance is named after the stack)".to_string(),
            name => format!("rename the stack file, or set `name` in [{name}]"),
        })
    }

    fn size(&self, value: &Option<Spanned<String>>, default: &str) -> Result<String, StackError> {
        match value {
            None => Ok(default.to_string()),
            Some(size) if is_size_slug(size.get_ref()) => Ok(size.get_ref().clone()),
            Some(size) => Err(self
                .error(
                    size,
                    format!("`{}` is not a DigitalOcean size slug", size.get_ref()),
                )
                .with_hint("sizes look like `s-2vcpu-4gb` (`doctl compute size list` shows them)")),
        }
    }

    pub(in crate::stack) fn platform(
        &self,
        raw: &RawPlatform<'_>,
        stack: &str,
        preview: bool,
    ) -> Result<Option<Platform>, StackError> {
        let Some(digitalocean) = raw.digitalocean else {
            let stray = raw
                .vpc
                .map(|v| v.span().start)
                .or(raw.cluster.map(|c| c.span().start))
                .or(raw.node_pools.first().map(|p| p.span().start))
                .or(raw.vault_appliance.map(|v| v.span().start));
            return match stray {
                Some(offset) => Err(StackError::at(
                    self.path,
                    self.source,
                    offset,
                    "platform sections need a `[digitalocean]` section",
                )
                .with_hint("add [digitalocean] with `region = \"nyc3\"`")),
                None => Ok(None),
            };
        };
        let region = digitalocean.get_ref().region.get_ref();
        if !REGIONS.contains(&region.as_str()) {
            let error = self.error(
                &digitalocean.get_ref().region,
                format!("`{region}` is not a DigitalOcean region with Kubernetes"),
            );
            return Err(error.suggesting(
                region,
                REGIONS,
                format!("regions: {}", REGIONS.join(", ")),
            ));
        }
        let vpc = self.vpc(raw.vpc, stack)?;
        let cluster = self.cluster(raw.cluster, stack, preview)?;
        let node_pools = self.node_pools(raw.node_pools)?;
        let vault_appliance = raw
            .vault_appliance
            .map(|appliance| self.vault_appliance(appliance))
            .transpose()?;
        if vault_appliance.is_some() && !VAULT_APPLIANCE.accepts_name(stack) {
            return Err(self.stack_name_refused(VAULT_APPLIANCE));
        }
        Ok(Some(Platform {
            region: region.clone(),
            project: text(&digitalocean.get_ref().project),
            vpc,
            cluster,
            node_pools,
            vault_appliance,
        }))
    }

    fn vpc(&self, raw: Option<&Spanned<RawVpc>>, stack: &str) -> Result<Vpc, StackError> {
        let name = self.module_name(
            raw.and_then(|vpc| vpc.get_ref().name.as_ref()),
            format!("{stack}-vpc"),
            VPC,
            "VPC",
        )?;
        let Some(cidr) = raw.and_then(|vpc| vpc.get_ref().cidr.as_ref()) else {
            return Ok(Vpc {
                name,
                cidr: "10.10.0.0/16".into(),
            });
        };
        let Some(parsed) = parse_cidr(cidr.get_ref()) else {
            return Err(self
                .error(cidr, format!("`{}` is not an IPv4 CIDR", cidr.get_ref()))
                .with_hint("write it like `10.10.0.0/16`"));
        };
        if !(16..=28).contains(&parsed.1) {
            return Err(self
                .error(cidr, "a DigitalOcean VPC is between /16 and /28")
                .with_hint("such as `10.10.0.0/16`"));
        }
        let private = [
            (Ipv4Addr::new(10, 0, 0, 0), 8),
            (Ipv4Addr::new(172, 16, 0, 0), 12),
            (Ipv4Addr::new(192, 168, 0, 0), 16),
        ];
        if !private
            .iter()
            .any(|range| overlaps(*range, parsed) && parsed.1 >= range.1)
        {
            return Err(self
                .error(cidr, format!("`{}` is not a private range", cidr.get_ref()))
                .with_hint("use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"));
        }
        if let Some((what, address, prefix)) = DOKS_RANGES
            .iter()
            .find(|(_, address, prefix)| overlaps((*address, *prefix), parsed))
        {
            return Err(self
                .error(
                    cidr,
                    format!("`{}` overlaps {what} ({address}/{prefix})", cidr.get_ref()),
                )
                .with_hint(
                    "pick a range outside 10.244.0.0/16 and 10.245.0.0/16, such as `10.10.0.0/16`",
                ));
        }
        Ok(Vpc {
            name,
            cidr: cidr.get_ref().clone(),
        })
    }

    fn cluster(
        &self,
        raw: Option<&Spanned<RawCluster>>,
        stack: &str,
        preview: bool,
    ) -> Result<Cluster, StackError> {
        let raw = raw.map(Spanned::get_ref);
        let name = self.module_name(
            raw.and_then(|cluster| cluster.name.as_ref()),
            stack.to_string(),
            CLUSTER,
            "cluster",
        )?;
        let version = match raw.and_then(|cluster| cluster.version.as_ref()) {
            None => "1.33".to_string(),
            Some(version) if is_version(version.get_ref()) => version.get_ref().clone(),
            Some(version) => {
                return Err(self
                    .error(version, format!("`{}` is not a Kubernetes version", version.get_ref()))
                    .with_hint("write a minor such as `1.33` (newest patch) or an exact DOKS version such as `1.33.1-do.3`"));
            }
        };
        let maintenance = raw
            .and_then(|cluster| cluster.maintenance.as_ref())
            .map(Spanned::get_ref);
        let day = match maintenance.and_then(|window| window.day.as_ref()) {
            None => Weekday::Sunday,
            Some(day) => match Weekday::from_name(&day.get_ref().to_lowercase()) {
                Some(day) => day,
                None => {
                    let error =
                        self.error(day, format!("`{}` is not a maintenance day", day.get_ref()));
                    return Err(error.suggesting(
                        &day.get_ref().to_lowercase(),
                        Weekday::NAMES.iter().copied(),
                        format!("days: {}", Weekday::NAMES.join(", ")),
                    ));
                }
            },
        };
        let start_time = match maintenance.and_then(|window| window.start_time.as_ref()) {
            None => "04:00".to_string(),
            Some(time) => {
                let valid = time
                    .get_ref()
                    .split_once(':')
                    .is_some_and(|(hours, minutes)| {
                        hours.len() == 2
                            && minutes.len() == 2
                            && digits(hours).is_some_and(|h| h < 24)
                            && digits(minutes).is_some_and(|m| m < 60)
                    });
                if !valid {
                    return Err(self
                        .error(time, format!("`{}` is not a time of day", time.get_ref()))
                        .with_hint("write it as HH:MM in UTC, such as `04:00`"));
                }
                time.get_ref().clone()
            }
        };
        Ok(Cluster {
            name,
            version,
            ha: raw.and_then(|cluster| cluster.ha).unwrap_or(false),
            auto_upgrade: raw.and_then(|cluster| cluster.auto_upgrade).unwrap_or(true),
            surge_upgrade: raw
                .and_then(|cluster| cluster.surge_upgrade)
                .unwrap_or(true),
            maintenance_day: day,
            maintenance_start_time: start_time,
            tags: self.tags(raw.map_or(&[][..], |cluster| &cluster.tags))?,
            api_allowed_cidrs: self.api_allowed_cidrs(
                raw.and_then(|cluster| cluster.api_allowed_cidrs.as_deref())
                    .unwrap_or_default(),
            )?,
            destroy_all_associated_resources: raw
                .and_then(|cluster| cluster.destroy_all_associated_resources)
                .unwrap_or(preview),
        })
    }

    /// The control plane's allow-list: IPv4 CIDRs, none of them the whole internet.
    fn api_allowed_cidrs(&self, cidrs: &[Spanned<String>]) -> Result<Vec<String>, StackError> {
        cidrs
            .iter()
            .map(|cidr| match parse_cidr(cidr.get_ref()) {
                None => Err(self
                    .error(cidr, format!("`{}` is not an IPv4 CIDR", cidr.get_ref()))
                    .with_hint("write it like `203.0.113.0/24`")),
                Some((_, 0)) => Err(self
                    .error(cidr, "`0.0.0.0/0` allows everyone: that is no allow-list")
                    .with_hint("leave `api_allowed_cidrs` out to keep the API open, or name the networks that may reach it")),
                Some(_) => Ok(cidr.get_ref().clone()),
            })
            .collect()
    }

    /// The appliance balancer's allow-list: required, IPv4 CIDRs, the whole internet only when asked for.
    fn appliance_api_cidrs(
        &self,
        spanned: &Spanned<RawVaultAppliance>,
    ) -> Result<Vec<String>, StackError> {
        let raw = spanned.get_ref();
        let Some(list) = raw
            .api_cidrs
            .as_ref()
            .filter(|list| !list.get_ref().is_empty())
        else {
            let at = raw
                .api_cidrs
                .as_ref()
                .map_or(spanned.span(), |list| list.span());
            return Err(StackError::at(
                self.path,
                self.source,
                at.start,
                "the appliance's load balancer needs `api_cidrs`: the networks that may reach Vault's API",
            )
            .with_hint("name them like `api_cidrs = [\"203.0.113.0/24\"]` (`0.0.0.0/0` only with `allow_api_from_anywhere = true`)"));
        };
        list.get_ref()
            .iter()
            .map(|cidr| match parse_cidr(cidr.get_ref()) {
                None => Err(self
                    .error(cidr, format!("`{}` is not an IPv4 CIDR", cidr.get_ref()))
                    .with_hint("write it like `203.0.113.0/24`")),
                Some((_, 0)) if !raw.allow_api_from_anywhere => Err(self
                    .error(cidr, "Vault's API open to the whole internet (`0.0.0.0/0`)")
                    .with_hint("name the networks that may connect, or set `allow_api_from_anywhere = true` if you really mean it (a fresh appliance is then bootstrapped at a node's own address)")),
                Some(_) => Ok(cidr.get_ref().clone()),
            })
            .collect()
    }

    fn tags(&self, tags: &[Spanned<String>]) -> Result<Vec<String>, StackError> {
        tags.iter()
            .map(|tag| {
                let valid = !tag.get_ref().is_empty()
                    && tag.get_ref().len() <= 255
                    && tag
                        .get_ref()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c));
                if valid {
                    Ok(tag.get_ref().clone())
                } else {
                    Err(self
                        .error(tag, format!("`{}` is not a valid tag", tag.get_ref()))
                        .with_hint("tags use letters, digits, `-`, `_` and `:`"))
                }
            })
            .collect()
    }

    fn node_pools(&self, raw: &[Spanned<RawNodePool>]) -> Result<Vec<NodePool>, StackError> {
        if raw.is_empty() {
            return Ok(vec![NodePool {
                name: "default".into(),
                size: "s-2vcpu-4gb".into(),
                scaling: Scaling::Fixed(2),
                labels: Default::default(),
                taints: Vec::new(),
                tags: Vec::new(),
            }]);
        }
        let mut pools: Vec<NodePool> = Vec::new();
        for (index, spanned) in raw.iter().enumerate() {
            let pool = spanned.get_ref();
            let name = self.name(&Some(pool.name.clone()), String::new(), "node pool")?;
            if pools.iter().any(|seen| seen.name == name) {
                return Err(self
                    .error(&pool.name, format!("node pool `{name}` is declared twice"))
                    .with_hint("give each [[node_pools]] entry a unique `name`"));
            }
            let scaling = match (&pool.count, &pool.autoscale) {
                (Some(_), Some(autoscale)) => {
                    return Err(self
                        .error(
                            autoscale,
                            "a node pool has either `count` or `autoscale`, not both",
                        )
                        .with_hint("remove one of them"));
                }
                (Some(count), None) => {
                    Scaling::Fixed(self.whole(count, 1..=512, "count", "count = 3")?)
                }
                (None, Some(autoscale)) => {
                    let limits = autoscale.get_ref();
                    let min: u32 = self.whole(&limits.min, 0..=512, "min", "min = 1")?;
                    let max: u32 = self.whole(&limits.max, 1..=512, "max", "max = 5")?;
                    if min > max {
                        return Err(self
                            .error(&limits.min, format!("`min` ({min}) is above `max` ({max})"))
                            .with_hint("make min ≤ max"));
                    }
                    if index == 0 && min == 0 {
                        return Err(self
                            .error(&limits.min, "the first node pool is the cluster's default pool and cannot scale to zero")
                            .with_hint("give it `min = 1`, or add a separate pool that may scale to zero"));
                    }
                    Scaling::Autoscale { min, max }
                }
                (None, None) => Scaling::Fixed(if index == 0 { 2 } else { 1 }),
            };
            let taints = pool
                .taints
                .iter()
                .map(|taint| {
                    let raw = taint.get_ref();
                    let Some(effect) = TaintEffect::from_name(raw.effect.get_ref()) else {
                        let error = self.error(
                            &raw.effect,
                            format!("`{}` is not a taint effect", raw.effect.get_ref()),
                        );
                        let effects = format!("effects: {}", TaintEffect::NAMES.join(", "));
                        return Err(error.suggesting(
                            raw.effect.get_ref(),
                            TaintEffect::NAMES.iter().copied(),
                            effects,
                        ));
                    };
                    Ok(Taint {
                        key: raw.key.clone(),
                        value: raw.value.clone(),
                        effect,
                    })
                })
                .collect::<Result<_, _>>()?;
            pools.push(NodePool {
                name,
                size: self.size(&pool.size, "s-2vcpu-4gb")?,
                scaling,
                labels: pool.labels.clone(),
                taints,
                tags: self.tags(&pool.tags)?,
            });
        }
        Ok(pools)
    }

    fn vault_appliance(
        &self,
        spanned: &Spanned<RawVaultAppliance>,
    ) -> Result<VaultAppliance, StackError> {
        let raw = spanned.get_ref();
        let count = raw
            .count
            .as_ref()
            .map(|count| self.whole(count, 1..=7, "count", "count = 3"))
            .transpose()?
            .unwrap_or(1);
        if count % 2 == 0 {
            let at = raw.count.as_ref().expect("an even count was written");
            return Err(self
                .error(at, "raft needs an odd number of Vault nodes")
                .with_hint("use 1, 3 or 5"));
        }
        let mut ssh_cidrs = Vec::new();
        for cidr in &raw.ssh_cidrs {
            let Some(parsed) = parse_cidr(cidr.get_ref()) else {
                return Err(self
                    .error(cidr, format!("`{}` is not an IPv4 CIDR", cidr.get_ref()))
                    .with_hint("write it like `203.0.113.0/24`"));
            };
            if parsed.1 == 0 && !raw.allow_ssh_from_anywhere {
                return Err(self
                    .error(cidr, "SSH open to the whole internet (`0.0.0.0/0`)")
                    .with_hint("name the networks that may connect, or set `allow_ssh_from_anywhere = true` if you really mean it"));
            }
            ssh_cidrs.push(cidr.get_ref().clone());
        }
        for ip in &raw.tls_ips {
            if ip.get_ref().parse::<std::net::IpAddr>().is_err() {
                return Err(self
                    .error(ip, format!("`{}` is not an IP address", ip.get_ref()))
                    .with_hint("write it like `10.10.0.5`"));
            }
        }
        let api_port: u16 = raw
            .api_port
            .as_ref()
            .map(|port| self.whole(port, 1..=65535, "api_port", "api_port = 8200"))
            .transpose()?
            .unwrap_or(8200);
        let cluster_port: u16 = raw
            .cluster_port
            .as_ref()
            .map(|port| self.whole(port, 1..=65535, "cluster_port", "cluster_port = 8201"))
            .transpose()?
            .unwrap_or(8201);
        if api_port == cluster_port {
            let at = raw
                .cluster_port
                .as_ref()
                .or(raw.api_port.as_ref())
                .expect("a port was written");
            return Err(self
                .error(at, "`api_port` and `cluster_port` are the same")
                .with_hint("Vault needs two ports, such as 8200 and 8201"));
        }
        let distribution = match &raw.distribution {
            None => Distribution::OpenBao,
            Some(name) => match Distribution::from_name(name.get_ref()) {
                Some(distribution) => distribution,
                None => {
                    let error = self.error(
                        name,
                        format!("`{}` is not a Vault distribution", name.get_ref()),
                    );
                    return Err(error.suggesting(
                        name.get_ref(),
                        Distribution::NAMES.iter().copied(),
                        "choose `openbao` or `vault`",
                    ));
                }
            },
        };
        let api_cidrs = self.appliance_api_cidrs(spanned)?;
        let openbao_sha256 = match (&raw.openbao_sha256, distribution) {
            (Some(sum), _) if !is_sha256(sum.get_ref()) => {
                return Err(self
                    .error(sum, format!("`{}` is not a SHA-256", sum.get_ref()))
                    .with_hint("64 lowercase hex digits, as `sha256sum` prints them"));
            }
            (Some(sum), _) => Some(sum.get_ref().clone()),
            (None, Distribution::OpenBao) => {
                return Err(self
                    .error(spanned, "OpenBao's package needs `openbao_sha256`, the checksum it is verified against")
                    .with_hint(format!(
                        "add `openbao_sha256 = \"...\"`: the SHA-256 of bao_{OPENBAO_VERSION}_linux_amd64.deb, from the release's checksums"
                    )));
            }
            (None, _) => None,
        };
        Ok(VaultAppliance {
            size: self.size(&raw.size, "s-1vcpu-2gb")?,
            image: raw
                .image
                .clone()
                .unwrap_or_else(|| "ubuntu-24-04-x64".into()),
            count,
            volume_size_gb: raw
                .volume_size_gb
                .as_ref()
                .map(|size| self.whole(size, 1..=16384, "volume_size_gb", "volume_size_gb = 10"))
                .transpose()?
                .unwrap_or(10),
            ssh_keys: raw.ssh_keys.clone(),
            ssh_cidrs,
            api_cidrs,
            openbao_sha256,
            tls_names: raw
                .tls_names
                .iter()
                .map(|name| name.get_ref().clone())
                .collect(),
            tls_ips: raw.tls_ips.iter().map(|ip| ip.get_ref().clone()).collect(),
            api_port,
            cluster_port,
            distribution,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_versions() {
        assert!(overlaps(
            parse_cidr("10.244.0.0/16").unwrap(),
            parse_cidr("10.0.0.0/8").unwrap()
        ));
        assert!(!overlaps(
            parse_cidr("10.10.0.0/16").unwrap(),
            parse_cidr("10.244.0.0/16").unwrap()
        ));
        assert!(is_version("1.33") && is_version("1.33.1-do.3"));
        assert!(!is_version("1.33.1") && !is_version("latest") && !is_version("1.x"));
        assert!(is_size_slug("s-2vcpu-4gb") && !is_size_slug("huge") && !is_size_slug("S-2VCPU"));
    }

    #[test]
    fn numbers_are_plain_digits_as_the_modules_read_them() {
        assert_eq!(
            parse_cidr("10.0.0.0/16").map(|(_, prefix)| prefix),
            Some(16)
        );
        for refused in [
            "10.0.0.0/+16",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/ 16",
            "10.0.0.0",
        ] {
            assert_eq!(parse_cidr(refused), None, "{refused}");
        }
        assert_eq!(digits("04"), Some(4));
        for refused in ["+4", "-4", " 4", "", "4a", "256"] {
            assert_eq!(digits(refused), None, "{refused}");
        }
    }
}
