//! One file per subcommand: resolved settings in, a [`Report`] out. Commands never print results; the views do.
//! What they share (preparing a stack to run, choosing stacks, pushing outputs to Vault) is in `run`.

mod apply;
mod ci_changed;
mod ci_comment;
mod cost;
mod doctor;
mod doctor_lock;
mod doctor_vault;
mod down;
mod gitops;
mod gitops_bootstrap;
mod hibernate;
mod init;
mod kubeconfig;
mod kubeconfig_refresh;
mod output;
mod outputs_push;
mod plan;
mod plan_set;
mod policy_test;
mod preview;
mod preview_cluster_app;
mod preview_gc;
mod preview_ledger;
mod preview_namespace;
mod providers_lock;
mod render;
mod report;
mod state;
mod up;
mod vault_bootstrap;
mod version;

pub use crate::run::context::{Context, Prepared, prepare, write_if_changed};
pub use crate::run::stack_selection::Selection;
pub use apply::apply;
pub use ci_changed::ci_changed;
pub use ci_comment::{CiCommentArgs, ci_comment};
pub use cost::cost;
pub use doctor::doctor;
pub use down::down;
pub use gitops::{gitops_push, gitops_render};
pub use gitops_bootstrap::{BootstrapArgs as GitopsBootstrapArgs, gitops_bootstrap};
pub use hibernate::{check_awake, hibernate, wake};
pub use init::init;
pub use kubeconfig::kubeconfig;
pub use kubeconfig_refresh::{kubeconfig_refresh, kubeconfig_refresh_all};
pub use output::{output, output_raw};
pub use outputs_push::outputs_push;
pub use plan::{PlanArgs, plan};
pub use plan_set::{PlanSetArgs, plan_set};
pub use policy_test::{policy_check, policy_test};
pub use preview::{
    PreviewRow, PreviewUpArgs, preview_down, preview_hibernate, preview_list, preview_pin,
    preview_up,
};
pub use preview_gc::{OpenPrs, preview_gc};
pub use preview_ledger::{ExpirySource, RebuiltRecord, preview_ledger_rebuild};
pub use providers_lock::{DEFAULT_PLATFORMS, providers_lock};
pub use render::{render, render_all};
pub use report::{
    Check, GcFailure, GcHibernation, Hibernation, HibernationAction, OutputEntry, RawOutput,
    Report, SkipReason, SkippedStack, StackRun,
};
pub use state::{StateAction, StateMigration, state_migrate};
pub use up::up;
pub use vault_bootstrap::{appliance_ca, project_vault, vault_bootstrap};
pub use version::{EngineFound, MODULES_VERSION, VersionInfo, version};
