//! The sticky comment of a pull request's preview: its status, address, commit and expiry, and what it costs a
//! day with every resource's price and where that came from.

use std::fmt::Write;

use crate::cost::DAILY_BASIS;
use crate::preview::PreviewRecord;

/// The marker that makes the preview comment sticky.
pub const PREVIEW_MARKER: &str = "<!-- wildside-tofu:preview -->";

/// The comment for `record`; `error` is why the last `preview up` failed.
pub fn preview_comment(record: &PreviewRecord, error: Option<&str>) -> String {
    let mut text = format!("{PREVIEW_MARKER}\n### Preview\n\n");
    let _ = writeln!(
        text,
        "**{}** at {} for `{}`, expires {}",
        record.status.as_str(),
        record.url.as_deref().unwrap_or("(no address)"),
        record.sha,
        record.expires
    );
    if let Some(error) = error {
        let fence = if error.contains("```") { "````" } else { "```" };
        let _ = writeln!(text, "\n{fence}\n{error}\n{fence}");
    }
    let Some(cost) = &record.cost_per_day else {
        let _ = writeln!(
            text,
            "\nCost: unknown (not estimated: the preview did not come up)"
        );
        return text;
    };
    let _ = writeln!(
        text,
        "\nCost: **{}** ({DAILY_BASIS}, prices as `cost` gives them)",
        cost.display()
    );
    if cost.lines.is_empty() {
        let _ = writeln!(text, "\nNo DigitalOcean resources.");
        return text;
    }
    text.push_str("\n<details><summary>cost a day per resource</summary>\n\n| Resource | A day | Price from |\n| --- | ---: | --- |\n");
    for line in &cost.lines {
        let _ = writeln!(
            text,
            "| `{}` | {} | {} |",
            line.address,
            line.shown(),
            line.source.replace('|', "\\|")
        );
    }
    text.push_str("\n</details>\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{DailyCost, DailyLine};
    use crate::preview::PreviewStatus;

    fn record(cost_per_day: Option<DailyCost>) -> PreviewRecord {
        let at = jiff::Timestamp::from_second(1_900_000_000).unwrap();
        PreviewRecord {
            pr: 4,
            sha: "abc123".into(),
            creator: "t".into(),
            created: at,
            updated: at,
            expires: at,
            pinned_until: None,
            status: PreviewStatus::Ready,
            url: Some("https://pr-4.example.com".into()),
            cost_per_day,
            vpc_slot: None,
        }
    }

    #[test]
    fn the_comment_gives_the_cost_a_day_with_every_source_and_unknown_stays_unknown() {
        let cost = DailyCost {
            known_usd: 1.71,
            unknown: 1,
            lines: vec![
                DailyLine {
                    address: "digitalocean_droplet.web".into(),
                    usd: Some(1.71),
                    source: "/v2/sizes `s-4vcpu-8gb` read 2030-03-17".into(),
                },
                DailyLine {
                    address: "digitalocean_database_cluster.pg".into(),
                    usd: None,
                    source: "unknown: no price for `digitalocean_database_cluster`".into(),
                },
            ],
            sizes_read: Some("2030-03-17".into()),
        };
        let comment = preview_comment(&record(Some(cost)), None);
        assert!(comment.starts_with(PREVIEW_MARKER), "{comment}");
        assert!(comment.contains("**ready** at https://pr-4.example.com for `abc123`"));
        assert!(comment.contains("Cost: **$1.71 + 1 unknown a day** (24 hourly prices"));
        assert!(comment.contains(
            "| `digitalocean_droplet.web` | $1.71 | /v2/sizes `s-4vcpu-8gb` read 2030-03-17 |"
        ));
        assert!(
            comment.contains("| `digitalocean_database_cluster.pg` | unknown | unknown: no price")
        );
        let unpriced = preview_comment(&record(None), Some("tofu apply failed"));
        assert!(unpriced.contains("Cost: unknown"), "{unpriced}");
        assert!(!unpriced.contains("$0"), "{unpriced}");
        assert!(unpriced.contains("```\ntofu apply failed\n```"));
    }
}
