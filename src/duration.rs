//! Durations as people write them on the command line (`90s`, `2m`, `72h`, `2 days`) and as the tool prints
//! them back, through jiff's friendly format, so the tool carries one time crate.

use std::time::Duration;

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// Parses a non-negative duration; a day counts 24 hours. Months and years are refused: their length
/// depends on the date.
pub fn parse(text: &str) -> Result<Duration, jiff::Error> {
    let span: Span = text.trim().parse()?;
    let signed = span.to_duration(SpanRelativeTo::days_are_24_hours())?;
    Duration::try_from(signed)
        .map_err(|_| jiff::Error::from_args(format_args!("`{text}` is a negative duration")))
}

/// A duration in the same friendly format, such as `2m` or `1h 30m`.
pub fn display(duration: Duration) -> String {
    match SignedDuration::try_from(duration) {
        Ok(signed) => format!("{signed:#}"),
        Err(_) => format!("{}s", duration.as_secs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("2 days").unwrap(), Duration::from_secs(2 * 86_400));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5_400));
        assert!(parse("-5m").is_err());
        assert!(parse("1 month").is_err());
        assert!(parse("soon").is_err());
    }

    #[test]
    fn prints_in_the_same_format() {
        assert_eq!(display(Duration::from_secs(120)), "2m");
        assert_eq!(
            parse(&display(Duration::from_secs(5_400))).unwrap(),
            Duration::from_secs(5_400)
        );
    }
}
