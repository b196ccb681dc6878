//! The preview records and the ledger document they are kept in, decoded strictly: an unknown status, an
//! unreadable time, an unknown field or two records for one pull request is an error, never a default. A
//! document that does not decode must not be rewritten, since whatever it holds would be lost; the ledger
//! refuses to write over it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cost::DailyCost;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewStatus {
    Creating,
    Ready,
    Failed,
    Destroying,
}

impl PreviewStatus {
    /// The status as written in the ledger and shown by `preview list`.
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewStatus::Creating => "creating",
            PreviewStatus::Ready => "ready",
            PreviewStatus::Failed => "failed",
            PreviewStatus::Destroying => "destroying",
        }
    }
}

/// One pull request's preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRecord {
    pub pr: u64,
    pub sha: String,
    pub creator: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub expires: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_until: Option<Timestamp>,
    pub status: PreviewStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What the preview's state cost a day when `preview up` last brought it up; absent in records written
    /// before previews were priced, and after an `up` that failed or could not read the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_day: Option<DailyCost>,
    /// Which part of the previews' VPC range the preview's own VPC has (a stack with `vpc = "per_pr"`);
    /// taken when the preview is admitted, free again once its record is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_slot: Option<u32>,
}

/// The records of one preview stack, by pull request.
pub type Records = BTreeMap<u64, PreviewRecord>;

/// Why a ledger document cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Shape(#[source] serde_json::Error),
    #[error("pull request {0} has more than one record")]
    Duplicate(u64),
    #[error("{0} is not a JSON object")]
    NotAnObject(&'static str),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    records: Vec<PreviewRecord>,
}

/// The records of a ledger document.
pub fn decode(document: Value) -> Result<Records, DecodeError> {
    // serde also reads a struct from a JSON array of its fields; the ledger only ever holds objects.
    if !document.is_object() {
        return Err(DecodeError::NotAnObject("the document"));
    }
    if let Some(records) = document.get("records").and_then(Value::as_array)
        && !records.iter().all(Value::is_object)
    {
        return Err(DecodeError::NotAnObject("a record"));
    }
    let document: Document = serde_json::from_value(document).map_err(DecodeError::Shape)?;
    let mut records = Records::new();
    for record in document.records {
        let pr = record.pr;
        if records.insert(pr, record).is_some() {
            return Err(DecodeError::Duplicate(pr));
        }
    }
    Ok(records)
}

/// The ledger document holding `records`.
pub fn encode(records: &Records) -> Value {
    serde_json::json!({ "records": records.values().collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        (0i64..4_102_444_800).prop_map(|second| Timestamp::from_second(second).unwrap())
    }

    fn status() -> impl Strategy<Value = PreviewStatus> {
        prop_oneof![
            Just(PreviewStatus::Creating),
            Just(PreviewStatus::Ready),
            Just(PreviewStatus::Failed),
            Just(PreviewStatus::Destroying),
        ]
    }

    /// Dollars in cents, as estimates round them (they read back exactly).
    fn usd() -> impl Strategy<Value = f64> {
        (0u32..10_000_000).prop_map(|cents| f64::from(cents) / 100.0)
    }

    fn daily_cost() -> impl Strategy<Value = DailyCost> {
        let line = (".*", prop::option::of(usd()), ".*").prop_map(|(address, usd, source)| {
            crate::cost::DailyLine {
                address,
                usd,
                source,
            }
        });
        (
            usd(),
            0usize..5,
            prop::collection::vec(line, 0..4),
            prop::option::of(".*"),
        )
            .prop_map(|(known_usd, unknown, lines, sizes_read)| DailyCost {
                known_usd,
                unknown,
                lines,
                sizes_read,
            })
    }

    fn record() -> impl Strategy<Value = PreviewRecord> {
        (
            any::<u64>(),
            ".*",
            ".*",
            (timestamp(), timestamp(), timestamp()),
            prop::option::of(timestamp()),
            status(),
            prop::option::of(".*"),
            (
                prop::option::of(daily_cost()),
                prop::option::of(any::<u32>()),
            ),
        )
            .prop_map(
                |(
                    pr,
                    sha,
                    creator,
                    (created, updated, expires),
                    pinned_until,
                    status,
                    url,
                    (cost_per_day, vpc_slot),
                )| {
                    PreviewRecord {
                        pr,
                        sha,
                        creator,
                        created,
                        updated,
                        expires,
                        pinned_until,
                        status,
                        url,
                        cost_per_day,
                        vpc_slot,
                    }
                },
            )
    }

    /// Arbitrary JSON, biased towards the ledger's own keys so that near-misses are common.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("records".to_string()),
            Just("pr".to_string()),
            Just("status".to_string()),
            Just("expires".to_string()),
            Just("pinned_until".to_string()),
            ".{0,6}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".*".prop_map(Value::String),
            Just(json!("2030-01-01T00:00:00Z")),
            Just(json!("ready")),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever is written reads back equal.
        #[test]
        fn records_round_trip(records in prop::collection::vec(record(), 0..6)) {
            let records: Records = records.into_iter().map(|record| (record.pr, record)).collect();
            prop_assert_eq!(decode(encode(&records)).unwrap(), records);
        }

        /// Any JSON either decodes into records that encode back to the same document, or is an error; it
        /// never panics and never yields a default.
        #[test]
        fn arbitrary_documents_decode_exactly_or_fail(document in json_value()) {
            if let Ok(records) = decode(document.clone()) {
                prop_assert_eq!(decode(encode(&records)).unwrap(), records.clone());
                prop_assert_eq!(
                    serde_json::from_value::<Value>(encode(&records)).unwrap()["records"]
                        .as_array()
                        .map(Vec::len),
                    document["records"].as_array().map(Vec::len)
                );
            }
        }

        /// One wrong field anywhere in a valid document makes it undecodable.
        #[test]
        fn a_damaged_record_is_an_error(
            records in prop::collection::vec(record(), 1..4),
            which in any::<prop::sample::Index>(),
            field in prop::sample::select(vec!["created", "updated", "expires", "pinned_until", "status", "pr", "cost_per_day", "vpc_slot"]),
            junk in prop_oneof![Just(json!("hibernating")), Just(json!("next tuesday")), Just(json!(-1)), Just(json!({}))],
        ) {
            let mut document = json!({ "records": records });
            let index = which.index(records.len());
            document["records"][index][field] = junk;
            prop_assert!(decode(document).is_err());
        }
    }

    #[test]
    fn unknown_fields_and_duplicates_are_errors() {
        let record = json!({
            "pr": 1, "sha": "a", "creator": "c", "created": "2030-01-01T00:00:00Z",
            "updated": "2030-01-01T00:00:00Z", "expires": "2030-01-01T01:00:00Z", "status": "ready"
        });
        assert!(decode(json!({ "records": [record.clone()] })).is_ok());
        assert!(decode(json!({ "records": [record.clone()], "extra": 1 })).is_err());
        assert!(decode(json!({ "records": [record.clone(), record.clone()] })).is_err());
        let mut extra = record;
        extra["colour"] = json!("red");
        assert!(decode(json!({ "records": [extra] })).is_err());
        assert!(decode(json!({})).is_err());
    }

    #[test]
    fn a_record_from_before_previews_were_priced_reads_without_a_cost() {
        let record = json!({
            "pr": 7, "sha": "a", "creator": "c", "created": "2030-01-01T00:00:00Z",
            "updated": "2030-01-01T00:00:00Z", "expires": "2030-01-01T01:00:00Z", "status": "ready",
            "url": "https://pr-7.example.com"
        });
        let records = decode(json!({ "records": [record.clone()] })).unwrap();
        assert_eq!(records[&7].cost_per_day, None);
        assert_eq!(
            encode(&records)["records"][0],
            record,
            "and is written back as it was"
        );
        let mut priced = record;
        priced["cost_per_day"] = json!({ "known_usd": 1.5, "unknown": 1, "lines": [
            { "address": "digitalocean_droplet.web", "usd": 1.5, "source": "/v2/sizes `s-4vcpu-8gb` read 2030-01-01" },
            { "address": "digitalocean_database_cluster.pg", "usd": null, "source": "unknown: no price" },
        ]});
        let records = decode(json!({ "records": [priced.clone()] })).unwrap();
        let cost = records[&7].cost_per_day.as_ref().unwrap();
        assert_eq!(
            (cost.known_usd, cost.unknown, cost.lines.len()),
            (1.5, 1, 2)
        );
        priced["cost_per_day"]["currency"] = json!("EUR");
        assert!(
            decode(json!({ "records": [priced] })).is_err(),
            "decoded strictly"
        );
    }
}
