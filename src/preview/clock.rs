//! The time previews are judged by: the system clock, or `WILDSIDE_NOW` (RFC 3339) so tests can move it.
//! Times are whole seconds, so what the ledger stores reads the same everywhere.

use jiff::{SignedDuration, Timestamp};

/// `WILDSIDE_NOW` is not a time, or a duration reaches past the end of time.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("WILDSIDE_NOW `{text}` is not an RFC 3339 time: {source}")]
    BadNow { text: String, source: jiff::Error },
    #[error("{seconds}s from {now} is past the latest time that can be kept")]
    OutOfRange { now: Timestamp, seconds: u64 },
}

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    now: Timestamp,
}

impl Clock {
    /// The current time, or `WILDSIDE_NOW` when set.
    pub fn from_env() -> Result<Self, ClockError> {
        let now = match std::env::var("WILDSIDE_NOW") {
            Ok(text) => text
                .parse::<Timestamp>()
                .map_err(|source| ClockError::BadNow { text, source })?,
            Err(_) => Timestamp::now(),
        };
        Ok(Self {
            now: whole_seconds(now),
        })
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The time `seconds` from now.
    pub fn after(&self, seconds: u64) -> Result<Timestamp, ClockError> {
        i64::try_from(seconds)
            .ok()
            .and_then(|secs| self.now.checked_add(SignedDuration::from_secs(secs)).ok())
            .ok_or(ClockError::OutOfRange {
                now: self.now,
                seconds,
            })
    }
}

fn whole_seconds(time: Timestamp) -> Timestamp {
    Timestamp::from_second(time.as_second()).unwrap_or(time)
}
