//! `preview ledger rebuild`: a preview ledger lost in Vault is written again from what the preview workspaces
//! hold. Each `pr-<n>` workspace names its pull request; its state gives the expiry (the `expires:` tag of a
//! platform preview's cluster) and the VPC range slot (its own VPC's `ip_range`). What the state does not
//! hold is filled in so that nothing is collected early: a preview without an expiry gets the stack's `ttl`
//! from now. A ledger that exists is never written over: `--merge` keeps every record in it and adds records
//! only for workspaces that have none.

use ipnet::Ipv4Net;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::preview::PreviewStack;
use super::report::Report;
use crate::error::Error;
use crate::preview::{Presence, PreviewRecord, PreviewStatus, pr_of, workspace_of};
use crate::run::context::{Context, PrepareOptions, prepare_with};
use crate::stack::PreviewRanges;

/// Where a rebuilt record's expiry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// The `expires:` tag of a resource in the preview's state.
    Tag,
    /// None was found: the stack's `ttl` from now.
    Ttl,
}

/// One record written by a rebuild, and where its expiry came from.
#[derive(Debug, Serialize)]
pub struct RebuiltRecord {
    #[serde(flatten)]
    pub record: PreviewRecord,
    pub expires_from: ExpirySource,
}

pub async fn preview_ledger_rebuild(
    context: &Context,
    stack: &str,
    merge: bool,
    dry_run: bool,
) -> Result<Report, Error> {
    let preview = PreviewStack::open(context, stack).await?;
    let ledger = preview.ledger();
    let snapshot = ledger.read().await?;
    if snapshot.presence == Presence::Written && !merge {
        return Err(ledger.exists(&snapshot).into());
    }
    let options = PrepareOptions {
        shared: true,
        ..PrepareOptions::default()
    };
    let mut prepared = prepare_with(context, &preview.stack.name, "default", options).await?;
    let workspaces = match prepared.tofu.workspaces().await {
        Ok(names) => names,
        Err(error) => return Err(prepared.explain(error).await),
    };
    let now = preview.clock.now();
    let ranges = preview.stack.preview_ranges();
    let mut rebuilt = Vec::new();
    for pr in workspaces.iter().filter_map(|name| pr_of(name)) {
        if snapshot.records.contains_key(&pr) {
            continue;
        }
        let state = match prepared.tofu.show_state_json(&workspace_of(pr)).await {
            Ok(text) => text,
            Err(error) => return Err(prepared.explain(error).await),
        };
        let state: Value = serde_json::from_str(&state).map_err(|error| {
            Error::Usage(format!(
                "the state of workspace `{}` as `show -json` printed it does not decode: {error}",
                workspace_of(pr)
            ))
        })?;
        let found = read_state(&state, pr, ranges.as_ref());
        let (expires, expires_from) = match found.expires {
            Some(expires) => (expires, ExpirySource::Tag),
            None => (
                preview.clock.after(preview.settings.ttl_seconds)?,
                ExpirySource::Ttl,
            ),
        };
        rebuilt.push(RebuiltRecord {
            record: PreviewRecord {
                pr,
                sha: "unknown".into(),
                creator: "wildside-tofu preview ledger rebuild".into(),
                created: now,
                updated: now,
                expires,
                pinned_until: None,
                status: if found.resources > 0 {
                    PreviewStatus::Ready
                } else {
                    PreviewStatus::Failed
                },
                url: preview.url(pr),
                cost_per_day: None,
                vpc_slot: found.vpc_slot,
            },
            expires_from,
        });
    }
    let kept = snapshot.records.len();
    if !dry_run {
        // Only records that are still missing are added: a record written meanwhile (a `preview up`) wins.
        ledger
            .update_or_create(|records| {
                let mut dirty = snapshot.presence.is_missing();
                for rebuilt in &rebuilt {
                    if let std::collections::btree_map::Entry::Vacant(entry) =
                        records.entry(rebuilt.record.pr)
                    {
                        entry.insert(rebuilt.record.clone());
                        dirty = true;
                    }
                }
                Ok::<_, Error>(((), dirty))
            })
            .await?;
    }
    Ok(Report::PreviewLedgerRebuild {
        stack: preview.stack.name,
        dry_run,
        found: snapshot.presence,
        kept,
        rebuilt,
    })
}

/// What a preview's state tells about it.
#[derive(Debug, Default, PartialEq)]
struct Found {
    resources: usize,
    expires: Option<Timestamp>,
    vpc_slot: Option<u32>,
}

/// Reads the resources of a `show -json` state: the `expires:` tag of a resource tagged `pr:<pr>`, and the
/// slot of its own VPC's range among `ranges`.
fn read_state(state: &Value, pr: u64, ranges: Option<&PreviewRanges>) -> Found {
    let mut found = Found::default();
    let mut modules: Vec<&Value> = state.pointer("/values/root_module").into_iter().collect();
    while let Some(module) = modules.pop() {
        if let Some(children) = module["child_modules"].as_array() {
            modules.extend(children);
        }
        for resource in module["resources"].as_array().into_iter().flatten() {
            if resource["mode"] != "managed" {
                continue;
            }
            found.resources += 1;
            let values = &resource["values"];
            let tags: Vec<&str> = values["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if tags.contains(&format!("pr:{pr}").as_str()) {
                let expires = tags
                    .iter()
                    .filter_map(|tag| tag.strip_prefix("expires:"))
                    .find_map(|text| text.parse::<Timestamp>().ok());
                found.expires = found.expires.max(expires);
            }
            if resource["type"] == "digitalocean_vpc"
                && let (Some(ranges), Some(range)) = (ranges, values["ip_range"].as_str())
            {
                found.vpc_slot = found.vpc_slot.or_else(|| slot_of(ranges, range));
            }
        }
    }
    found
}

/// The slot `range` is among `ranges`, if it is one of them.
fn slot_of(ranges: &PreviewRanges, range: &str) -> Option<u32> {
    let base: Ipv4Net = ranges.cidr.parse().ok()?;
    let range: Ipv4Net = range.parse().ok()?;
    let prefix = base.prefix_len() + u8::try_from(ranges.bits).ok()?;
    if range.prefix_len() != prefix || !base.contains(&range) {
        return None;
    }
    let offset = u32::from(range.network()) - u32::from(base.network());
    Some(offset >> (32 - u32::from(prefix)))
}

/// The range of `slot` among `ranges` (what `cidrsubnet` renders), for tests of [`slot_of`].
#[cfg(test)]
fn range_of(ranges: &PreviewRanges, slot: u32) -> Ipv4Net {
    let base: Ipv4Net = ranges.cidr.parse().unwrap();
    let prefix = base.prefix_len() + u8::try_from(ranges.bits).unwrap();
    let network = u32::from(base.network()) + (slot << (32 - u32::from(prefix)));
    Ipv4Net::new(std::net::Ipv4Addr::from(network), prefix).unwrap()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ranges() -> PreviewRanges {
        PreviewRanges {
            cidr: "10.128.0.0/16".into(),
            bits: 8,
        }
    }

    #[test]
    fn a_vpc_range_reads_back_as_its_slot() {
        for slot in [0, 1, 2, 255] {
            let range = range_of(&ranges(), slot);
            assert_eq!(
                slot_of(&ranges(), &range.to_string()),
                Some(slot),
                "{range}"
            );
        }
        assert_eq!(range_of(&ranges(), 1).to_string(), "10.128.1.0/24");
        for foreign in ["10.129.1.0/24", "10.128.1.0/25", "not a range"] {
            assert_eq!(slot_of(&ranges(), foreign), None, "{foreign}");
        }
    }

    #[test]
    fn the_state_gives_the_expiry_tag_and_the_vpc_slot() {
        let state = json!({ "values": { "root_module": { "child_modules": [
            { "resources": [
                { "mode": "managed", "type": "digitalocean_vpc",
                  "values": { "ip_range": "10.128.7.0/24" } },
            ]},
            { "resources": [
                { "mode": "managed", "type": "digitalocean_kubernetes_cluster",
                  "values": { "tags": ["preview", "pr:12", "expires:2030-01-02T00:00:00Z"] } },
                { "mode": "data", "type": "digitalocean_kubernetes_versions", "values": {} },
            ]},
        ]}}});
        assert_eq!(
            read_state(&state, 12, Some(&ranges())),
            Found {
                resources: 2,
                expires: Some("2030-01-02T00:00:00Z".parse().unwrap()),
                vpc_slot: Some(7),
            }
        );
        assert_eq!(
            read_state(&state, 13, None).expires,
            None,
            "another pull request's tag is not this one's"
        );
        assert_eq!(read_state(&json!({}), 12, None), Found::default());
    }
}
