//! Measured fault trials (`make trials`, not part of `make test`): each case is tried `WILDSIDE_TRIALS` times
//! (20 by default) against the real tofu, OpenBao and the DigitalOcean sandbox, and the table says how many
//! trials ended well and what any other lost. A trial ends well when the state is readable, no lock is left
//! behind, and a rerun converges on a clean plan. The cases that need the DigitalOcean provider are reported
//! as skipped, with the reason, where no mirror holds it.

#[path = "../it/support/mod.rs"]
mod support;

mod cases;

use std::time::Instant;

/// What one case gave over its trials.
struct Tally {
    case: &'static str,
    trials: u32,
    passed: u32,
    /// One line per failed trial: what was lost or left behind.
    lost: Vec<String>,
    skipped: Option<String>,
    seconds: f64,
}

fn main() {
    let trials: u32 = std::env::var("WILDSIDE_TRIALS")
        .ok()
        .map(|text| text.parse().expect("WILDSIDE_TRIALS is a number of trials"))
        .unwrap_or(20);
    let only = std::env::var("WILDSIDE_TRIALS_CASE").ok();
    let mut tallies = Vec::new();
    for (case, run) in cases::ALL {
        if only.as_deref().is_some_and(|only| only != case) {
            continue;
        }
        let started = Instant::now();
        let mut tally = Tally {
            case,
            trials: 0,
            passed: 0,
            lost: Vec::new(),
            skipped: None,
            seconds: 0.0,
        };
        if let Some(reason) = cases::skip_reason(case) {
            tally.skipped = Some(reason);
        } else {
            for trial in 0..trials {
                tally.trials += 1;
                match run(trial) {
                    Ok(()) => tally.passed += 1,
                    Err(lost) => tally.lost.push(format!("trial {trial}: {lost}")),
                }
                eprintln!("trials: {case} {}/{} passed", tally.passed, tally.trials);
            }
        }
        tally.seconds = started.elapsed().as_secs_f64();
        tallies.push(tally);
    }
    print_table(&tallies);
    let failed = tallies.iter().any(|tally| tally.passed < tally.trials);
    std::process::exit(i32::from(failed));
}

fn print_table(tallies: &[Tally]) {
    println!("| case | trials | passed | lost | seconds |");
    println!("|---|---|---|---|---|");
    for tally in tallies {
        let lost = match &tally.skipped {
            Some(reason) => format!("skipped: {reason}"),
            None if tally.lost.is_empty() => "nothing".to_string(),
            None => tally.lost.join("; "),
        };
        println!(
            "| {} | {} | {} | {} | {:.0} |",
            tally.case, tally.trials, tally.passed, lost, tally.seconds
        );
    }
}
