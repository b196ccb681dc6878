//! Injected faults (`--faults "5xx=0.05,429=0.02,latency=200ms,seed=7"`): errors and latency drawn from a seeded
//! generator, so a reliability test of our retries and of tofu's is repeatable.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to inject, as parsed from the `--faults` specification.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    pub server_error_rate: f64,
    pub rate_limit_rate: f64,
    pub latency: Duration,
    pub seed: u64,
}

/// A `--faults` specification that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fault specification `{item}`: {reason} (expected e.g. `5xx=0.05,429=0.02,latency=200ms,seed=7`)"
)]
pub struct FaultSpecError {
    item: String,
    reason: String,
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = Self::default();
        for item in text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let error = |reason: &str| FaultSpecError {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            let (key, value) = item.split_once('=').ok_or_else(|| error("missing `=`"))?;
            let rate = || -> Result<f64, FaultSpecError> {
                let rate: f64 = value.parse().map_err(|_| error("not a number"))?;
                if (0.0..=1.0).contains(&rate) {
                    Ok(rate)
                } else {
                    Err(error("a rate is between 0 and 1"))
                }
            };
            match key {
                "5xx" => spec.server_error_rate = rate()?,
                "429" => spec.rate_limit_rate = rate()?,
                "latency" => {
                    spec.latency = humantime::parse_duration(value)
                        .map_err(|_| error("not a duration such as 200ms"))?;
                }
                "seed" => spec.seed = value.parse().map_err(|_| error("not an integer"))?,
                _ => return Err(error("unknown key; known: 5xx, 429, latency, seed")),
            }
        }
        if spec.server_error_rate + spec.rate_limit_rate > 1.0 {
            return Err(FaultSpecError {
                item: text.to_string(),
                reason: "the rates add up to more than 1".into(),
            });
        }
        Ok(spec)
    }
}

/// The fault to inject into one request, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    ServerError,
    RateLimited,
}

/// Draws faults for requests, one draw per request, from the seeded generator.
#[derive(Debug)]
pub(super) struct Faults {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
}

impl Faults {
    pub(super) fn new(spec: FaultSpec) -> Self {
        Self {
            spec,
            rng: Mutex::new(StdRng::seed_from_u64(spec.seed)),
        }
    }

    pub(super) fn latency(&self) -> Duration {
        self.spec.latency
    }

    pub(super) fn draw(&self) -> Option<Fault> {
        if self.spec.server_error_rate == 0.0 && self.spec.rate_limit_rate == 0.0 {
            return None;
        }
        let roll: f64 = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .random();
        if roll < self.spec.server_error_rate {
            Some(Fault::ServerError)
        } else if roll < self.spec.server_error_rate + self.spec.rate_limit_rate {
            Some(Fault::RateLimited)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec: FaultSpec = "5xx=0.05,429=0.02,latency=200ms,seed=7".parse().unwrap();
        assert_eq!(spec.server_error_rate, 0.05);
        assert_eq!(spec.rate_limit_rate, 0.02);
        assert_eq!(spec.latency, Duration::from_millis(200));
        assert_eq!(spec.seed, 7);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_rates() {
        assert!("5xx=2".parse::<FaultSpec>().is_err());
        assert!("teapot=0.1".parse::<FaultSpec>().is_err());
        assert!("5xx=0.7,429=0.7".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn draws_repeat_for_a_seed_and_follow_the_rates() {
        let spec: FaultSpec = "5xx=0.3,429=0.2,seed=7".parse().unwrap();
        let draws = |faults: Faults| (0..2000).map(|_| faults.draw()).collect::<Vec<_>>();
        let first = draws(Faults::new(spec));
        assert_eq!(first, draws(Faults::new(spec)));
        let errors = first
            .iter()
            .filter(|f| **f == Some(Fault::ServerError))
            .count();
        let limited = first
            .iter()
            .filter(|f| **f == Some(Fault::RateLimited))
            .count();
        assert!(
            (500..700).contains(&errors),
            "{errors} server errors in 2000"
        );
        assert!(
            (300..500).contains(&limited),
            "{limited} rate limits in 2000"
        );
    }
}
