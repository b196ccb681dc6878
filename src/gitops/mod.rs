//! GitOps: what Flux reconciles the cluster from. The platform repository's tree (`clusters/<env>/`,
//! `platform/*`) and each pull request's overlay in the application repository are built from serde types,
//! written byte-stably, and committed with the `git` command only when they changed.

mod error;
mod objects;
mod overlay;
mod platform;
mod repo;
mod tree;

pub use error::GitopsError;
pub use objects::{Mebibytes, Millicores, Quantities};
pub use overlay::{
    BASE_QUOTA, EPHEMERAL, PreviewOverlay, QUOTA, database_name, database_share, label_time,
    namespace_of, overlay_directory, quota_of, render_base, render_base_in, render_index,
    render_overlay, render_overlay_in,
};
pub use platform::{
    APPS_CREDENTIALS, APPS_SOURCE, FLUX_NAMESPACE, PLATFORM_SOURCE, PlatformInputs, SECRET_STORE,
    needs_credential, preview_cluster_path, render_platform, render_preview_cluster,
};
pub use repo::{Branch, Pushed, commit_and_push, git};
pub use tree::{Documents, Tree};
