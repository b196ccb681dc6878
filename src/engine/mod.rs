//! The engine: everything about running the real `tofu` binary.
//!
//! It finds the binary and checks its version (`binary`), runs it as a child in its own process group with
//! signal forwarding and an allow-listed environment (`process`, `signals`, `environment`), decodes the `-json` UI stream (`ui`) and hands it to a progress
//! view (`progress`), and offers typed operations (`tofu`): init with a fingerprint so it runs only when needed
//! (read-only on the dependency lock file when asked), `providers lock`, workspaces, plan, apply, destroy,
//! `show -json` summaries (`plan`) with keyed digests of the planned values (`digest`) and `output -json` (`outputs`). `locks` reads lock files and recognises
//! tofu's refusals over them. `workspace` checks workspace names where they enter.

mod binary;
mod digest;
mod environment;
mod error;
mod fingerprint;
mod locks;
mod outputs;
mod plan;
mod process;
mod progress;
mod provider_installation;
mod redact;
mod signals;
mod tofu;
mod toolchain;
mod transcript;
mod ui;
mod workspace;

pub use binary::{EngineBinary, EngineKind};
pub use digest::{DIGEST_KEY_ENV, DIGEST_KEY_FILE, DigestKey, DigestKeyError};
pub use environment::{BackendCredentials, Inherit};
pub use error::EngineError;
pub use locks::{LockConflict, LockedProvider, locked_providers};
pub use outputs::{OutputValue, Outputs};
pub use plan::{PlanSummary, ResourceAction, ResourceChange};
pub use progress::{ProgressView, ProgressViews};
pub use provider_installation::{
    Mirror, MirrorError, ProviderAddress, cli_config, scan, source_of,
};
pub use signals::{Interrupted, Interrupts, pause};
pub use tofu::{EngineSettings, LOCK_FILE, LockfileMode, PlanOutcome, Tofu};
pub use toolchain::Toolchain;
pub use transcript::Transcript;
pub use ui::{Diagnostic, UiEvent, parse_line};
pub use workspace::{InvalidWorkspace, Workspace};
