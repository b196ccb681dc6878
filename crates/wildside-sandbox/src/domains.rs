//! DNS domains and their records (`/v2/domains`, `/v2/domains/{name}/records`). A new domain gets the records
//! DigitalOcean gives every zone: an SOA record and NS records for ns1–ns3.digitalocean.com, and an A record
//! for the apex when the create names an `ip_address`. Records are validated by type as DigitalOcean does;
//! names are kept relative to the zone (`@` for the apex), and hostnames in data without their final dot
//! (the provider appends it on read, for CNAME, MX, NS, SRV and CAA).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::paging::PageRequest;
use super::routes::{Reply, Sandbox, Shared, body, no_content, reply};
use super::world::World;

/// The TTL of a zone, and of a record that names none.
const DEFAULT_TTL: u32 = 1800;
/// The least TTL DigitalOcean accepts.
const MIN_TTL: u32 = 30;
const NAME_SERVERS: [&str; 3] = [
    "ns1.digitalocean.com",
    "ns2.digitalocean.com",
    "ns3.digitalocean.com",
];
/// The first record id.
const FIRST_RECORD_ID: u64 = 300_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Domain {
    pub(super) name: String,
    pub(super) records: Vec<Record>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum RecordType {
    A,
    Aaaa,
    Caa,
    Cname,
    Mx,
    Ns,
    Soa,
    Srv,
    Txt,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Record {
    pub(super) id: u64,
    #[serde(rename = "type")]
    pub(super) kind: RecordType,
    pub(super) name: String,
    pub(super) data: String,
    pub(super) priority: Option<u32>,
    pub(super) port: Option<u32>,
    pub(super) ttl: u32,
    pub(super) weight: Option<u32>,
    pub(super) flags: Option<u32>,
    pub(super) tag: Option<String>,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "name": self.name,
            "data": self.data,
            "priority": self.priority,
            "port": self.port,
            "ttl": self.ttl,
            "weight": self.weight,
            "flags": self.flags,
            "tag": self.tag,
        })
    }

    /// The record as a zone file line.
    fn zone_line(&self, domain: &str) -> String {
        let owner = if self.name == "@" {
            format!("{domain}.")
        } else {
            format!("{}.{domain}.", self.name)
        };
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|kind| kind.as_str().map(str::to_string))
            .unwrap_or_default();
        let fqdn = |data: &str| {
            if data == "@" {
                format!("{domain}.")
            } else {
                format!("{data}.")
            }
        };
        let data = match self.kind {
            RecordType::Cname | RecordType::Ns => fqdn(&self.data),
            RecordType::Mx => format!("{} {}", self.priority.unwrap_or(0), fqdn(&self.data)),
            RecordType::Srv => format!(
                "{} {} {} {}",
                self.priority.unwrap_or(0),
                self.weight.unwrap_or(0),
                self.port.unwrap_or(0),
                fqdn(&self.data)
            ),
            RecordType::Caa => format!(
                "{} {} \"{}\"",
                self.flags.unwrap_or(0),
                self.tag.as_deref().unwrap_or("issue"),
                self.data
            ),
            RecordType::Txt => format!("\"{}\"", self.data),
            RecordType::A | RecordType::Aaaa | RecordType::Soa => self.data.clone(),
        };
        format!("{owner} {} IN {kind} {data}", self.ttl)
    }
}

impl Domain {
    pub(super) fn urn(&self) -> String {
        format!("do:domain:{}", self.name)
    }

    fn to_json(&self) -> Value {
        let mut zone = vec![
            format!("$ORIGIN {}.", self.name),
            format!("$TTL {DEFAULT_TTL}"),
            format!(
                "{0}. IN SOA ns1.digitalocean.com. hostmaster.{0}. 1 10800 3600 604800 {DEFAULT_TTL}",
                self.name
            ),
        ];
        zone.extend(
            self.records
                .iter()
                .filter(|record| record.kind != RecordType::Soa)
                .map(|record| record.zone_line(&self.name)),
        );
        json!({
            "name": self.name,
            "ttl": DEFAULT_TTL,
            "zone_file": zone.join("\n") + "\n",
        })
    }
}

/// A domain name: dot-separated labels of letters, digits and dashes, at least two of them.
pub(super) fn valid_domain_name(name: &str) -> bool {
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

/// A hostname in record data: labels of letters, digits, dashes and underscores (or `@`, the apex).
fn valid_hostname(data: &str) -> bool {
    data == "@"
        || (!data.is_empty()
            && data.len() <= 253
            && data.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            }))
}

#[derive(Debug, Deserialize)]
struct CreateDomain {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ip_address: Option<String>,
}

/// A record as posted, put or patched: absent members keep what a record had (or their defaults, new).
#[derive(Debug, Default, Deserialize)]
struct RecordRequest {
    #[serde(rename = "type", default)]
    kind: Option<RecordType>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    priority: Option<u32>,
    #[serde(default)]
    port: Option<u32>,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    flags: Option<u32>,
    #[serde(default)]
    tag: Option<String>,
}

pub(super) fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/v2/domains", get(list).post(create))
        .route("/v2/domains/{domain}", get(read).delete(delete))
        .route(
            "/v2/domains/{domain}/records",
            get(record_list).post(record_create),
        )
        .route(
            "/v2/domains/{domain}/records/{record}",
            get(record_read)
                .put(record_update)
                .patch(record_update)
                .delete(record_delete),
        )
}

fn find<'w>(world: &'w World, name: &str) -> Result<&'w Domain, ApiError> {
    world.domains.get(name).ok_or_else(ApiError::not_found)
}

fn next_record_id(world: &mut World) -> u64 {
    world.sequences.record += 1;
    FIRST_RECORD_ID + world.sequences.record
}

/// The name relative to the zone, as DigitalOcean keeps it: a fully qualified name in the zone loses the zone
/// (and its final dot), the zone itself is `@`.
fn relative_name(name: &str, domain: &str) -> String {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name == domain || name.is_empty() {
        "@".into()
    } else {
        name.strip_suffix(&format!(".{domain}"))
            .unwrap_or(name)
            .to_string()
    }
}

/// Checks a record as it would be stored, by type; DigitalOcean answers 422 with what is wrong.
fn check(record: &Record, domain: &Domain) -> Result<(), ApiError> {
    let refuse = |message: String| Err(ApiError::unprocessable(message));
    let valid_name = record.name == "@"
        || (record.name.len() <= 253
            && record.name.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
            }));
    if !valid_name {
        return refuse(format!("Name {} is not a valid record name", record.name));
    }
    if record.ttl < MIN_TTL {
        return refuse(format!("TTL must be at least {MIN_TTL} seconds"));
    }
    // A CNAME is the only record of its name (RFC 1034), whichever comes second.
    let shared = domain.records.iter().any(|other| {
        other.id != record.id
            && other.name == record.name
            && (other.kind == RecordType::Cname || record.kind == RecordType::Cname)
    });
    if shared {
        return refuse(format!(
            "CNAME records cannot share a name with other records: {} has records already",
            record.name
        ));
    }
    let hostname = |what: &str| {
        if valid_hostname(&record.data) {
            Ok(())
        } else {
            refuse(format!(
                "Data needs to be a valid hostname for {what} records"
            ))
        }
    };
    match record.kind {
        RecordType::A if record.data.parse::<Ipv4Addr>().is_err() => {
            refuse("Data needs to be a valid IPv4 address for A records".into())
        }
        RecordType::Aaaa if record.data.parse::<Ipv6Addr>().is_err() => {
            refuse("Data needs to be a valid IPv6 address for AAAA records".into())
        }
        RecordType::A | RecordType::Aaaa => Ok(()),
        RecordType::Cname => {
            hostname("CNAME")?;
            if record.name == "@" {
                return refuse("CNAME records cannot be set on the apex of a zone".into());
            }
            Ok(())
        }
        RecordType::Ns => hostname("NS"),
        RecordType::Mx => {
            hostname("MX")?;
            match record.priority {
                Some(0..=65535) => Ok(()),
                _ => refuse(
                    "Priority must be set to a number between 0 and 65535 for MX records".into(),
                ),
            }
        }
        RecordType::Srv => {
            hostname("SRV")?;
            if !record.name.starts_with('_') || !record.name.contains("._") {
                return refuse("Name of SRV records must be of the form _service._protocol".into());
            }
            for (what, value) in [
                ("Priority", record.priority),
                ("Port", record.port),
                ("Weight", record.weight),
            ] {
                if !matches!(value, Some(0..=65535)) {
                    return refuse(format!(
                        "{what} must be set to a number between 0 and 65535 for SRV records"
                    ));
                }
            }
            if record.port == Some(0) {
                return refuse("Port must be between 1 and 65535 for SRV records".into());
            }
            Ok(())
        }
        RecordType::Caa => {
            if !matches!(record.flags, Some(0..=255)) {
                return refuse(
                    "Flags must be set to a number between 0 and 255 for CAA records".into(),
                );
            }
            if !matches!(record.tag.as_deref(), Some("issue" | "issuewild" | "iodef")) {
                return refuse(
                    "Tag must be one of issue, issuewild or iodef for CAA records".into(),
                );
            }
            if record.data.is_empty() {
                return refuse("Data is required for CAA records".into());
            }
            Ok(())
        }
        RecordType::Txt if record.data.is_empty() => {
            refuse("Data is required for TXT records".into())
        }
        RecordType::Txt => Ok(()),
        RecordType::Soa => {
            refuse("SOA records are managed by DigitalOcean and cannot be set".into())
        }
    }
}

/// Applies a request to a record (a new one starts empty), normalising name and data as DigitalOcean stores
/// them, and keeping only the members its type has.
fn apply(record: &mut Record, request: RecordRequest, domain: &str) {
    if let Some(kind) = request.kind {
        record.kind = kind;
    }
    if let Some(name) = request.name {
        record.name = relative_name(&name, domain);
    }
    if let Some(data) = request.data {
        record.data = data;
    }
    if let Some(ttl) = request.ttl.filter(|ttl| *ttl != 0) {
        record.ttl = ttl;
    }
    record.priority = request.priority.or(record.priority);
    record.port = request.port.or(record.port);
    record.weight = request.weight.or(record.weight);
    record.flags = request.flags.or(record.flags);
    record.tag = request
        .tag
        .filter(|tag| !tag.is_empty())
        .or(record.tag.take());
    let hostname_data = matches!(
        record.kind,
        RecordType::Cname | RecordType::Mx | RecordType::Ns | RecordType::Srv
    ) || (record.kind == RecordType::Caa
        && record.tag.as_deref() != Some("iodef"));
    if hostname_data && record.data != "@" {
        let trimmed = record.data.strip_suffix('.').unwrap_or(&record.data);
        record.data = if trimmed == domain {
            "@".into()
        } else {
            trimmed.to_string()
        };
    }
    let kind = record.kind;
    let keep = |value: &mut Option<u32>, types: &[RecordType]| {
        if !types.contains(&kind) {
            *value = None;
        }
    };
    keep(&mut record.priority, &[RecordType::Mx, RecordType::Srv]);
    keep(&mut record.port, &[RecordType::Srv]);
    keep(&mut record.weight, &[RecordType::Srv]);
    keep(&mut record.flags, &[RecordType::Caa]);
    if kind != RecordType::Caa {
        record.tag = None;
    }
}

fn blank(id: u64, kind: RecordType, name: &str, data: &str) -> Record {
    Record {
        id,
        kind,
        name: name.into(),
        data: data.into(),
        priority: None,
        port: None,
        ttl: DEFAULT_TTL,
        weight: None,
        flags: None,
        tag: None,
    }
}

async fn list(State(sandbox): Shared, page: PageRequest) -> Reply {
    let items = sandbox
        .store
        .read(|world, _| Ok(world.domains.values().map(Domain::to_json).collect()))?;
    reply(StatusCode::OK, page.respond("domains", items))
}

async fn create(State(sandbox): Shared, bytes: Bytes) -> Reply {
    let request: CreateDomain = body(&bytes)?;
    let domain = sandbox.store.write(|world, _| {
        let name = request.name.trim_end_matches('.').to_ascii_lowercase();
        if !valid_domain_name(&name) {
            return Err(ApiError::unprocessable(format!(
                "Name {} is not a valid domain name",
                request.name
            )));
        }
        if world.domains.contains_key(&name) {
            return Err(ApiError::unprocessable(format!(
                "Name {name} already exists"
            )));
        }
        let apex = request
            .ip_address
            .filter(|address| !address.is_empty())
            .map(|address| {
                address.parse::<Ipv4Addr>().map_err(|_| {
                    ApiError::unprocessable(format!("ip_address {address} is not an IPv4 address"))
                })
            })
            .transpose()?;
        let mut records = vec![blank(
            next_record_id(world),
            RecordType::Soa,
            "@",
            &DEFAULT_TTL.to_string(),
        )];
        for server in NAME_SERVERS {
            records.push(blank(next_record_id(world), RecordType::Ns, "@", server));
        }
        if let Some(address) = apex {
            records.push(blank(
                next_record_id(world),
                RecordType::A,
                "@",
                &address.to_string(),
            ));
        }
        let domain = Domain { name, records };
        let json = domain.to_json();
        world.domains.insert(domain.name.clone(), domain);
        Ok(json)
    })?;
    reply(StatusCode::CREATED, json!({ "domain": domain }))
}

async fn read(State(sandbox): Shared, Path(name): Path<String>) -> Reply {
    let domain = sandbox
        .store
        .read(|world, _| Ok(find(world, &name)?.to_json()))?;
    reply(StatusCode::OK, json!({ "domain": domain }))
}

/// Deletes a domain with its records; projects forget it.
async fn delete(State(sandbox): Shared, Path(name): Path<String>) -> Reply {
    sandbox.store.write(|world, _| {
        let urn = find(world, &name)?.urn();
        world.domains.remove(&name);
        super::projects::forget(world, &urn);
        Ok(())
    })?;
    no_content()
}

/// `type` and `name` filter; the name is fully qualified (`www.example.com`), as godo sends it, or relative.
async fn record_list(State(sandbox): Shared, Path(name): Path<String>, page: PageRequest) -> Reply {
    let kind = page
        .param("type")
        .filter(|kind| !kind.is_empty())
        .map(|kind| {
            serde_json::from_value::<RecordType>(json!(kind.to_ascii_uppercase()))
                .map_err(|_| ApiError::bad_request(format!("type {kind} is not a record type")))
        })
        .transpose()?;
    let wanted = page
        .param("name")
        .map(|wanted| relative_name(wanted, &name));
    let items = sandbox.store.read(|world, _| {
        Ok(find(world, &name)?
            .records
            .iter()
            .filter(|record| kind.is_none_or(|kind| record.kind == kind))
            .filter(|record| wanted.as_deref().is_none_or(|wanted| record.name == wanted))
            .map(Record::to_json)
            .collect())
    })?;
    reply(StatusCode::OK, page.respond("domain_records", items))
}

async fn record_create(State(sandbox): Shared, Path(name): Path<String>, bytes: Bytes) -> Reply {
    let request: RecordRequest = body(&bytes)?;
    let record = sandbox.store.write(|world, _| {
        find(world, &name)?;
        let kind = request
            .kind
            .ok_or_else(|| ApiError::unprocessable("type is required"))?;
        let mut record = blank(next_record_id(world), kind, "@", "");
        apply(&mut record, request, &name);
        let domain = world.domains.get_mut(&name).expect("found above");
        check(&record, domain)?;
        let json = record.to_json();
        domain.records.push(record);
        Ok(json)
    })?;
    reply(StatusCode::CREATED, json!({ "domain_record": record }))
}

fn record_index(domain: &Domain, record: &str) -> Result<usize, ApiError> {
    let id = record.parse::<u64>().map_err(|_| ApiError::not_found())?;
    domain
        .records
        .iter()
        .position(|known| known.id == id)
        .ok_or_else(ApiError::not_found)
}

async fn record_read(
    State(sandbox): Shared,
    Path((name, record)): Path<(String, String)>,
) -> Reply {
    let record = sandbox.store.read(|world, _| {
        let domain = find(world, &name)?;
        Ok(domain.records[record_index(domain, &record)?].to_json())
    })?;
    reply(StatusCode::OK, json!({ "domain_record": record }))
}

async fn record_update(
    State(sandbox): Shared,
    Path((name, record)): Path<(String, String)>,
    bytes: Bytes,
) -> Reply {
    let request: RecordRequest = body(&bytes)?;
    let record = sandbox.store.write(|world, _| {
        let domain = world
            .domains
            .get_mut(&name)
            .ok_or_else(ApiError::not_found)?;
        let index = record_index(domain, &record)?;
        if domain.records[index].kind == RecordType::Soa {
            return Err(ApiError::unprocessable(
                "SOA records are managed by DigitalOcean and cannot be set",
            ));
        }
        let mut updated = domain.records[index].clone();
        apply(&mut updated, request, &name);
        check(&updated, domain)?;
        domain.records[index] = updated;
        Ok(domain.records[index].to_json())
    })?;
    reply(StatusCode::OK, json!({ "domain_record": record }))
}

async fn record_delete(
    State(sandbox): Shared,
    Path((name, record)): Path<(String, String)>,
) -> Reply {
    sandbox.store.write(|world, _| {
        let domain = world
            .domains
            .get_mut(&name)
            .ok_or_else(ApiError::not_found)?;
        let index = record_index(domain, &record)?;
        if domain.records[index].kind == RecordType::Soa {
            return Err(ApiError::unprocessable(
                "SOA records are managed by DigitalOcean and cannot be deleted",
            ));
        }
        domain.records.remove(index);
        Ok(())
    })?;
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_relative_to_the_zone() {
        assert_eq!(relative_name("www.example.com.", "example.com"), "www");
        assert_eq!(relative_name("www.example.com", "example.com"), "www");
        assert_eq!(relative_name("example.com.", "example.com"), "@");
        assert_eq!(relative_name("@", "example.com"), "@");
        assert_eq!(relative_name("a.b", "example.com"), "a.b");
    }
}
