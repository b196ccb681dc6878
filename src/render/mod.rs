//! Stack → OpenTofu root module.
//!
//! Rendering is deterministic: the same stack gives byte-identical files, so the engine can fingerprint them
//! to skip `tofu init`, and diffs of rendered files in review mean real changes. Values are emitted as HCL
//! literals (template sequences escaped), never as expressions a stack author did not intend.

mod backend;
mod format;
mod paths;
mod platform;
mod root;
mod value;

pub use backend::backend_config;
pub use paths::relative_path;
pub use platform::{PROVIDER_PINS, TOKEN_SECRETS, VPC_SLOT};
pub use root::{REQUIRED_VERSION, RenderedRoot, render_root};
pub use value::{cli_config_text, text as string_literal};
