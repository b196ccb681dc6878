//! The time previews are judged by: the system clock, or `WILDSIDE_NOW` (RFC 3339) so tests can move it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    now: SystemTime,
}

impl Clock {
    /// The current time, or `WILDSIDE_NOW` when set.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("WILDSIDE_NOW") {
            Ok(text) => humantime::parse_rfc3339(&text)
                .map(|now| Self { now })
                .map_err(|error| format!("WILDSIDE_NOW `{text}` is not an RFC 3339 time: {error}")),
            Err(_) => Ok(Self {
                now: SystemTime::now(),
            }),
        }
    }

    pub fn now(&self) -> SystemTime {
        self.now
    }

    pub fn after(&self, seconds: u64) -> SystemTime {
        self.now + Duration::from_secs(seconds)
    }
}

/// RFC 3339 in UTC, to the second.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Seconds since the epoch of an RFC 3339 time written by [`format_time`]; 0 if unreadable.
pub(crate) fn epoch_seconds(text: &str) -> u64 {
    humantime::parse_rfc3339(text)
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}
