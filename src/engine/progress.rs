//! Where a run's progress goes: the engine hands every UI event to a [`ProgressView`] made for the run, and
//! the views decide how it looks; the engine prints nothing itself.

use super::transcript::Transcript;
use super::ui::UiEvent;

/// Shows one tofu run's UI events as they arrive.
pub trait ProgressView: Send {
    fn show(&mut self, event: &UiEvent);
    /// The run ended: leave the output ready for whatever is printed next.
    fn finish(&mut self);
}

/// Makes the view of one run: whether planned changes are shown (a plan's are; apply repeats them), and
/// the transcript that keeps the run's lines together, when there is one.
pub type ProgressViews =
    fn(show_planned: bool, transcript: Option<Transcript>) -> Box<dyn ProgressView>;
