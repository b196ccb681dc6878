//! Keeping one run's progress together: when several stacks run in parallel, each one's progress is collected
//! here and printed in one piece when it finishes, so outputs never interleave.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<String>>);

impl Transcript {
    pub fn push_line(&self, line: &str) {
        if let Ok(mut text) = self.0.lock() {
            text.push_str(line);
            text.push('\n');
        }
    }

    /// Everything collected so far, leaving the transcript empty.
    pub fn take(&self) -> String {
        self.0
            .lock()
            .map(|mut text| std::mem::take(&mut *text))
            .unwrap_or_default()
    }
}
