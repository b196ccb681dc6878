//! The application's error type and the one exit-code policy.

use crate::engine::EngineError;
use crate::stack::StackError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Project(String),
    #[error(
        "state backend {backend} is unreachable: {reason}\n  hint: check that the backend is up and the stack's [backend] settings point at it"
    )]
    BackendUnreachable { backend: String, reason: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error(
        "the outputs of {stack} (workspace {workspace}) were not written to Vault: {source}\n  hint: nothing is lost, they are in the state: run `wildside-tofu outputs push {stack} --workspace {workspace}` once Vault is back"
    )]
    OutputsNotPushed {
        stack: String,
        workspace: String,
        source: Box<VaultError>,
    },
    #[error(
        "the saved plan for {stack} is stale: the state changed after the plan was made, so applying it could undo or repeat changes\n  hint: plan again and review the new plan"
    )]
    StalePlan { stack: String },
    #[error(
        "refusing to apply {stack}: the new plan differs from the reviewed one\n  not reviewed: {unreviewed}\n  reviewed but no longer planned: {gone}\n  hint: plan again and get the new plan reviewed"
    )]
    PlanDiffers {
        stack: String,
        unreviewed: String,
        gone: String,
    },
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error(transparent)]
    Cost(#[from] crate::cost::CostError),
    #[error(
        "refusing to apply {stack}: the plan breaks policy\n{denials}\n  hint: change the stack so the plan passes, or add an exception with a reason and an expiry date under [[policy.exceptions]]"
    )]
    PolicyDenied { stack: String, denials: String },
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit status for this error: 130 after an interrupt (128 + SIGINT), 3 for a plan that
    /// policy refuses, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Engine(EngineError::Interrupted) => 130,
            Error::PolicyDenied { .. } => 3,
            _ => 1,
        }
    }
}
