//! Showing tofu's progress on stderr as it happens: the engine hands each UI event of a run to the
//! [`ProgressView`] this module makes, and prints nothing itself.
//!
//! On a terminal one live status line shows what is in flight, rewritten in place, and finished resources
//! scroll above it; elsewhere (CI logs, pipes) every event is one plain line.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use crate::engine::{Diagnostic, ProgressView, Transcript, UiEvent};

/// The progress view of one tofu run: `show_planned` for a plan (apply repeats its planned changes), and
/// the transcript that keeps the run's lines together when stacks run side by side.
pub fn stderr_progress(
    show_planned: bool,
    transcript: Option<Transcript>,
) -> Box<dyn ProgressView> {
    Box::new(Progress::new(show_planned, transcript))
}

struct Progress {
    terminal: bool,
    /// Where lines go instead of stderr when this run's output is kept together.
    transcript: Option<Transcript>,
    /// Apply repeats the plan's `planned_change` messages; they are shown once, while planning.
    show_planned: bool,
    in_flight: BTreeMap<String, (String, u64)>,
    status_shown: bool,
}

impl Progress {
    fn new(show_planned: bool, transcript: Option<Transcript>) -> Self {
        Self {
            terminal: transcript.is_none() && std::io::stderr().is_terminal(),
            transcript,
            show_planned,
            in_flight: BTreeMap::new(),
            status_shown: false,
        }
    }

    fn event(&mut self, event: &UiEvent) {
        match event {
            UiEvent::Diagnostic(diagnostic) if is_noise(diagnostic) => {
                tracing::debug!("{}", diagnostic_text(diagnostic));
            }
            // Errors end the command, whose error message gives them: shown here too, they would appear twice.
            UiEvent::Diagnostic(diagnostic) if diagnostic.severity == "error" => {
                tracing::debug!("{}", diagnostic_text(diagnostic));
            }
            UiEvent::Diagnostic(diagnostic) => self.line(&diagnostic_text(diagnostic)),
            UiEvent::PlannedChange { address, action } if self.show_planned && action != "noop" => {
                self.line(&format!("  plan: {action} {address}"));
            }
            UiEvent::ApplyStart { address, action } => {
                self.in_flight.insert(address.clone(), (action.clone(), 0));
                if self.terminal {
                    self.status()
                } else {
                    self.line(&format!("  {} {address}", present(action)))
                }
            }
            UiEvent::ApplyProgress {
                address,
                elapsed_seconds,
            } => {
                if let Some(entry) = self.in_flight.get_mut(address) {
                    entry.1 = *elapsed_seconds;
                }
                if self.terminal {
                    self.status();
                } else if elapsed_seconds % 30 == 0 {
                    self.line(&format!(
                        "  still working on {address} ({elapsed_seconds}s)"
                    ));
                }
            }
            UiEvent::ApplyComplete {
                address,
                action,
                elapsed_seconds,
            } => {
                self.in_flight.remove(address);
                self.line(&format!(
                    "  {} {address} ({elapsed_seconds}s)",
                    past(action)
                ));
            }
            UiEvent::ApplyErrored {
                address,
                elapsed_seconds,
            } => {
                self.in_flight.remove(address);
                self.line(&format!("  failed {address} ({elapsed_seconds}s)"));
            }
            _ => {}
        }
    }

    /// Clears the live line so whatever is printed next starts on a clean line.
    fn clear(&mut self) {
        if self.status_shown {
            eprint!("\r\x1b[2K");
            self.status_shown = false;
        }
    }

    fn line(&mut self, text: &str) {
        if let Some(transcript) = &self.transcript {
            transcript.push_line(text);
            return;
        }
        self.clear();
        eprintln!("{text}");
        if self.terminal && !self.in_flight.is_empty() {
            self.status();
        }
    }

    fn status(&mut self) {
        let Some((address, (action, elapsed))) = self
            .in_flight
            .iter()
            .max_by_key(|(_, (_, elapsed))| *elapsed)
        else {
            return self.clear();
        };
        let text = format!(
            "  [{} in progress] {} {address} ({elapsed}s)",
            self.in_flight.len(),
            present(action)
        );
        eprint!("\r\x1b[2K{text}");
        let _ = std::io::stderr().flush();
        self.status_shown = true;
    }
}

impl ProgressView for Progress {
    fn show(&mut self, event: &UiEvent) {
        self.event(event);
    }

    fn finish(&mut self) {
        self.clear();
    }
}

fn diagnostic_text(diagnostic: &Diagnostic) -> String {
    let mut text = format!("{}: {}", diagnostic.severity, diagnostic.summary);
    if let Some(address) = &diagnostic.address {
        text.push_str(&format!(" ({address})"));
    }
    if !diagnostic.detail.trim().is_empty() {
        text.push_str(&format!(
            "\n  {}",
            diagnostic.detail.trim().replace('\n', "\n  ")
        ));
    }
    text
}

/// Warnings that are expected for a generated root installing from a mirror, and say nothing actionable.
fn is_noise(diagnostic: &Diagnostic) -> bool {
    diagnostic.severity == "warning"
        && diagnostic.summary == "Incomplete lock file information for providers"
}

fn present(action: &str) -> &'static str {
    match action {
        "create" => "creating",
        "update" => "updating",
        "delete" => "destroying",
        "replace" => "replacing",
        "read" => "reading",
        _ => "working on",
    }
}

fn past(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "update" => "updated",
        "delete" => "destroyed",
        "replace" => "replaced",
        "read" => "read",
        _ => "finished",
    }
}
