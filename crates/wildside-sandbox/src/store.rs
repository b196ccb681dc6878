//! The sandbox's shared state: the world behind a lock, saved atomically to the state file after every change,
//! so a restarted sandbox keeps its resources and concurrent requests never interleave.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::error::ApiError;
use super::world::{Clock, World};

/// Why the sandbox's state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading the sandbox state `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the sandbox state `{path}` does not decode: {source}\n  hint: it is left as it is; move it away to start an empty sandbox"
    )]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing the sandbox state `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(super) struct Store {
    world: Mutex<World>,
    state_file: Option<PathBuf>,
    delay: Duration,
}

impl Store {
    /// Opens the state file (a missing file is a new, empty account; one that does not decode is an error), or
    /// an in-memory account without one.
    pub(super) fn open(state_file: Option<PathBuf>, delay: Duration) -> Result<Self, StoreError> {
        let world = match &state_file {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    serde_json::from_slice(&bytes).map_err(|source| StoreError::Decode {
                        path: path.clone(),
                        source,
                    })?
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    let world = World::new(SystemTime::now());
                    save(path, &world)?;
                    world
                }
                Err(source) => {
                    return Err(StoreError::Read {
                        path: path.clone(),
                        source,
                    });
                }
            },
            None => World::new(SystemTime::now()),
        };
        Ok(Self {
            world: Mutex::new(world),
            state_file,
            delay,
        })
    }

    fn clock(&self) -> Clock {
        Clock {
            now: SystemTime::now(),
            delay: self.delay,
        }
    }

    /// Runs a read-only request.
    pub(super) fn read<T>(
        &self,
        request: impl FnOnce(&World, &Clock) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        request(&world, &self.clock())
    }

    /// Runs a changing request on a copy of the world; the copy replaces the world, and is saved, only if the
    /// whole request succeeded.
    pub(super) fn write<T>(
        &self,
        request: impl FnOnce(&mut World, &Clock) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = world.clone();
        let answer = request(&mut next, &self.clock())?;
        super::tags::remember_carried(&mut next);
        if let Some(path) = &self.state_file {
            save(path, &next).map_err(|error| ApiError::server_error(error.to_string()))?;
        }
        *world = next;
        Ok(answer)
    }
}

/// Writes the world to a temporary file beside `path`, syncs it and renames it over `path`.
fn save(path: &Path, world: &World) -> Result<(), StoreError> {
    let error = |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(error)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(error)?;
    serde_json::to_writer(&mut file, world).map_err(|source| error(source.into()))?;
    file.as_file().sync_all().map_err(error)?;
    file.persist(path).map_err(|persist| error(persist.error))?;
    Ok(())
}
