//! One file per subcommand: resolved settings in, a [`Report`] out. Commands never print results; the views do.

mod apply;
mod ci_changed;
mod ci_comment;
mod context;
mod doctor;
mod down;
mod kubeconfig;
mod output;
mod outputs_push;
mod plan;
mod plan_encryption;
mod plan_set;
mod render;
mod report;
mod stack_selection;
mod up;
mod vault_bootstrap;
mod vault_outputs;

pub use apply::apply;
pub use ci_changed::ci_changed;
pub use ci_comment::{CiCommentArgs, ci_comment};
pub use context::{Context, Prepared, prepare, write_if_changed};
pub use doctor::doctor;
pub use down::down;
pub use kubeconfig::kubeconfig;
pub use output::output;
pub use outputs_push::outputs_push;
pub use plan::{PlanArgs, plan};
pub use plan_set::{PlanSetArgs, plan_set};
pub use render::render;
pub use report::{Check, OutputEntry, Report, StackRun};
pub use stack_selection::Selection;
pub use up::up;
pub use vault_bootstrap::vault_bootstrap;
