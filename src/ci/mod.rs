//! Continuous integration: plan reports and the pull-request comment built from them, which stacks a change
//! affects, and the sticky comment on GitHub.

mod addresses;
mod changed;
mod github;
mod markdown;
mod preview_comment;
mod report;
mod revision;

pub use addresses::collapse_indexes;
pub use changed::{affected_stacks, module_dependencies};
pub use github::{GitHub, GitHubError, StickyOutcome, marker_of};
pub use markdown::{COMMENT_LIMIT, render_comment};
pub use preview_comment::{PREVIEW_MARKER, preview_comment};
pub use report::{PlanStatus, REPORT_SCHEMA_VERSION, ReportError, StackPlanReport, Totals};
pub use revision::{GitRevision, RevisionError};
