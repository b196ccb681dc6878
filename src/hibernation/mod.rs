//! Hibernation: a platform stack at its cheapest safe shape, and back.
//!
//! Hibernating brings every node pool to its floor (the default pool to one node, which DigitalOcean requires;
//! the others to zero, autoscaling up to one node if work is scheduled on them) and keeps the cluster, its
//! volumes and everything else. The record of what changed is kept per stack and workspace; while it exists it
//! feeds the run as the root variable `hibernation` (the rendered files never change), so `plan` shows no
//! changes and nothing fights the stack file. Waking deletes the record: the stack file's shapes come back.

mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::stack::{NodePool, Platform, Scaling};

pub use summary::{PoolChange, PoolSide, Summary, summarise};

/// The root variable that carries the hibernated shapes.
pub const VARIABLE: &str = "hibernation";

/// A node pool's shape, as the `doks` module takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolShape {
    pub node_count: u32,
    pub auto_scale: bool,
    pub min_nodes: u32,
    pub max_nodes: u32,
}

impl PoolShape {
    /// The shape the stack file gives a pool.
    pub fn of(pool: &NodePool) -> Self {
        match pool.scaling {
            Scaling::Fixed(count) => Self {
                node_count: count,
                auto_scale: false,
                min_nodes: count,
                max_nodes: count,
            },
            Scaling::Autoscale { min, max } => Self {
                node_count: min.max(1),
                auto_scale: true,
                min_nodes: min,
                max_nodes: max,
            },
        }
    }

    /// The fewest and most nodes the pool runs.
    pub fn nodes(&self) -> (u32, u32) {
        if self.auto_scale {
            (self.min_nodes, self.max_nodes)
        } else {
            (self.node_count, self.node_count)
        }
    }
}

/// A hibernated stack: when, the shapes it runs with, and the shapes it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub stack: String,
    pub workspace: String,
    pub since: Timestamp,
    pub hibernated: BTreeMap<String, PoolShape>,
    pub previous: BTreeMap<String, PoolShape>,
}

/// The cheapest safe shape of every pool: the default (first) pool keeps one node, as DigitalOcean requires;
/// the others go to zero and may autoscale to one.
pub fn floor(platform: &Platform) -> BTreeMap<String, PoolShape> {
    platform
        .node_pools
        .iter()
        .enumerate()
        .map(|(index, pool)| {
            let shape = if index == 0 {
                PoolShape {
                    node_count: 1,
                    auto_scale: false,
                    min_nodes: 1,
                    max_nodes: 1,
                }
            } else {
                PoolShape {
                    node_count: 0,
                    auto_scale: true,
                    min_nodes: 0,
                    max_nodes: 1,
                }
            };
            (pool.name.clone(), shape)
        })
        .collect()
}

/// The stack file's shapes.
pub fn shapes(platform: &Platform) -> BTreeMap<String, PoolShape> {
    platform
        .node_pools
        .iter()
        .map(|pool| (pool.name.clone(), PoolShape::of(pool)))
        .collect()
}

/// The fewest and most nodes, summed over pools.
pub fn node_range(shapes: &BTreeMap<String, PoolShape>) -> (u32, u32) {
    shapes.values().fold((0, 0), |(low, high), shape| {
        let (min, max) = shape.nodes();
        (low + min, high + max)
    })
}

/// Why a hibernation record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("reading the hibernation record `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the hibernation record `{path}` does not decode: {source}\n  hint: it is left as it is; fix it, or delete it to treat the stack as awake"
    )]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing the hibernation record `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a stack's hibernation records live: `<work dir>/hibernation/<stack>/<workspace>.json`.
pub struct Records {
    dir: PathBuf,
}

impl Records {
    pub fn new(work_dir: &Path, stack: &str) -> Self {
        Self {
            dir: work_dir.join("hibernation").join(stack),
        }
    }

    fn path(&self, workspace: &str) -> PathBuf {
        self.dir.join(format!("{workspace}.json"))
    }

    /// The workspace's record, if it is hibernated.
    pub fn read(&self, workspace: &str) -> Result<Option<Record>, RecordError> {
        let path = self.path(workspace);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| RecordError::Decode { path, source }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RecordError::Read { path, source }),
        }
    }

    /// Saves a record (atomically).
    pub fn write(&self, record: &Record) -> Result<(), RecordError> {
        let path = self.path(&record.workspace);
        let error = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(error)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(error)?;
        serde_json::to_writer_pretty(&mut file, record).map_err(|source| error(source.into()))?;
        file.persist(&path)
            .map_err(|persist| error(persist.error))?;
        Ok(())
    }

    /// Forgets the workspace's record (waking); absent is fine.
    pub fn delete(&self, workspace: &str) -> Result<(), RecordError> {
        let path = self.path(workspace);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RecordError::Write { path, source }),
        }
    }
}

/// The value of the `hibernation` variable: the hibernated shapes, as HCL (JSON object syntax) for `TF_VAR_`.
pub fn variable_value(record: &Record) -> String {
    serde_json::to_string(&record.hibernated).expect("shapes serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges_add_up_fixed_and_autoscaled_pools() {
        let shapes = BTreeMap::from([
            (
                "core".to_string(),
                PoolShape {
                    node_count: 3,
                    auto_scale: false,
                    min_nodes: 3,
                    max_nodes: 3,
                },
            ),
            (
                "app".to_string(),
                PoolShape {
                    node_count: 2,
                    auto_scale: true,
                    min_nodes: 2,
                    max_nodes: 10,
                },
            ),
        ]);
        assert_eq!(node_range(&shapes), (5, 13));
    }

    #[test]
    fn records_round_trip_and_damaged_ones_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::new(dir.path(), "prod");
        assert_eq!(records.read("default").unwrap(), None);
        let record = Record {
            stack: "prod".into(),
            workspace: "default".into(),
            since: "2026-11-25T06:00:00Z".parse().unwrap(),
            hibernated: BTreeMap::new(),
            previous: BTreeMap::new(),
        };
        records.write(&record).unwrap();
        assert_eq!(records.read("default").unwrap(), Some(record));
        std::fs::write(dir.path().join("hibernation/prod/default.json"), "{").unwrap();
        assert!(matches!(
            records.read("default"),
            Err(RecordError::Decode { .. })
        ));
        records.delete("default").unwrap();
        records.delete("default").unwrap();
        assert_eq!(records.read("default").unwrap(), None);
    }
}
