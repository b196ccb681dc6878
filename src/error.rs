//! The application's error type and the one exit-code policy.

use crate::engine::{EngineError, Interrupted};
use crate::preview::{ClockError, LedgerError};
use crate::stack::StackError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    StackErrors(#[from] crate::stack::StackErrors),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Project(String),
    #[error(
        "module `{module}` at `{}` cannot be read: {reason}\n  hint: fix or remove the project's `modules/{module}/`; the platform modules ship with wildside-tofu",
        dir.display()
    )]
    ModuleUnreadable {
        module: String,
        dir: std::path::PathBuf,
        reason: String,
    },
    #[error(
        "state backend {backend} is unreachable: {reason}\n  hint: check that the backend is up and the stack's [backend] settings point at it"
    )]
    BackendUnreachable { backend: String, reason: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{place}: secret `{variable}`: {source}\n  hint: {hint}")]
    MissingSecret {
        /// `file:line:col` of the secret in the stack's `[secrets]`.
        place: String,
        variable: String,
        hint: String,
        source: Box<VaultError>,
    },
    #[error(transparent)]
    Attestation(#[from] crate::vault::AttestationError),
    #[error(transparent)]
    Encryption(#[from] crate::encryption::EncryptionError),
    #[error(
        "verifying the state of {stack} (workspace {workspace}) after the migration failed: {what}\n  hint: the fallback still reads the previous form; run the command again, and report this if it persists"
    )]
    StateVerification {
        stack: String,
        workspace: String,
        what: &'static str,
    },
    #[error(
        "the state of {stack} (workspace {workspace}) cannot be decrypted {with}; nothing was changed\n  hint: {hint}"
    )]
    Undecryptable {
        stack: String,
        workspace: String,
        with: String,
        hint: String,
        source: Box<EngineError>,
    },
    #[error(transparent)]
    Hibernation(#[from] crate::hibernation::RecordError),
    #[error(
        "{stack} (workspace {workspace}) has been hibernated since {since}\n  hint: run `wildside-tofu wake {stack} -w {workspace}`, or `up --wake`"
    )]
    Hibernated {
        stack: String,
        workspace: String,
        since: jiff::Timestamp,
    },
    #[error(
        "{stack} has no preview for pull request {pr}\n  hint: `wildside-tofu preview list --stack {stack}` shows the previews"
    )]
    NoPreview { stack: String, pr: u64 },
    #[error(
        "{stack} has no platform sections ([cluster], [[node_pools]]): there is nothing to {action}"
    )]
    NotAPlatform {
        stack: String,
        /// What was asked: `hibernate` or `wake`.
        action: &'static str,
    },
    #[error(
        "another run holds {stack} (workspace {workspace}) and did not finish within {waited}: {holder}\n  hint: wait for it and run again, or raise --lock-timeout"
    )]
    WorkspaceBusy {
        stack: String,
        workspace: String,
        holder: String,
        waited: String,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Gitops(#[from] crate::gitops::GitopsError),
    #[error(transparent)]
    Clock(#[from] ClockError),
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
    #[error(
        "{stack} has no committed provider lock file `{}`, and --lockfile readonly may not create one\n  hint: run `wildside-tofu providers lock {stack}` and commit `{}`", lock_file.display(), lock_file.display()
    )]
    LockFileMissing {
        stack: String,
        lock_file: std::path::PathBuf,
    },
    #[error(
        "the providers of {stack} do not match its lock file `{}`: {what}\n  {source}\n  hint: {hint}", lock_file.display()
    )]
    LockFileMismatch {
        stack: String,
        lock_file: std::path::PathBuf,
        what: &'static str,
        hint: String,
        source: Box<EngineError>,
    },
    #[error(
        "refusing to apply {stack}: the saved plan was made with other provider selections than its lock file `{}` holds now\n  hint: plan again with the current lock file and review the new plan (or restore the lock file the plan was made with)", lock_file.display()
    )]
    PlanLockFileDiffers {
        stack: String,
        lock_file: std::path::PathBuf,
        source: Box<EngineError>,
    },
    #[error(
        "cannot read the provider lock file `{}`: {source}\n  hint: fix or delete it, then run `wildside-tofu providers lock {stack}`", lock_file.display()
    )]
    LockFileUnreadable {
        stack: String,
        lock_file: std::path::PathBuf,
        source: hcl::Error,
    },
    #[error("no provider of {stack} can be locked for {platforms}: {reason}\n  hint: {hint}")]
    NoLockablePlatform {
        stack: String,
        platforms: String,
        reason: String,
        hint: String,
    },
    #[error(transparent)]
    Report(#[from] crate::ci::ReportError),
    #[error(transparent)]
    Revision(#[from] crate::ci::RevisionError),
    #[error(
        "the reviewed report `{report}` is for {what} `{reviewed}`, not `{actual}`\n  hint: pass the report made for this stack and workspace"
    )]
    ReportFor {
        report: std::path::PathBuf,
        what: &'static str,
        reviewed: String,
        actual: String,
    },
    #[error("interrupted while {during}; nothing was changed")]
    Interrupted { during: &'static str },
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error(transparent)]
    Cost(#[from] crate::cost::CostError),
    #[error(
        "refusing to apply {stack}: the plan breaks policy\n{denials}\n  hint: change the stack so the plan passes, or add an exception with a reason and an expiry date under [[policy.exceptions]]"
    )]
    PolicyDenied { stack: String, denials: String },
    #[error(
        "refusing to apply {stack}: the plan's estimate of ${estimate_usd:.2} a month exceeds the budget of ${monthly_usd:.2}, driven by\n{drivers}\n  hint: shrink what the plan adds, or raise `monthly_usd` under [budget]"
    )]
    OverBudget {
        stack: String,
        estimate_usd: f64,
        monthly_usd: f64,
        drivers: String,
    },
    #[error(
        "refusing to destroy {stack}: it is marked production ([policy] production = true){}\n  hint: run `wildside-tofu down {stack} --confirm {stack}` if you mean to destroy it",
        given.as_ref().map(|given| format!(", and --confirm `{given}` does not name it")).unwrap_or_default()
    )]
    ProductionDestroy {
        stack: String,
        /// What `--confirm` said, when it said something else.
        given: Option<String>,
    },
    #[error(
        "refusing to {effect} {changes} on {stack} (workspace {workspace}) without approval: there is no terminal to ask on\n  hint: review the plan (`wildside-tofu plan {stack} -w {workspace}`), then pass --yes"
    )]
    ApprovalRequired {
        stack: String,
        workspace: String,
        effect: &'static str,
        changes: String,
    },
    #[error("{stack} (workspace {workspace}): not approved, nothing was {done}")]
    NotApproved {
        stack: String,
        workspace: String,
        done: &'static str,
    },
    #[error("{stack} (workspace {workspace}) has no output `{name}`\n  hint: {hint}")]
    NoSuchOutput {
        stack: String,
        workspace: String,
        name: String,
        hint: String,
    },
    #[error(
        "output `{name}` is a list, a map or null, which has no raw text\n  hint: read it with `wildside-tofu --output json output STACK`"
    )]
    OutputNotRaw { name: String },
    #[error("{0}")]
    Usage(String),
    #[error(
        "git cannot compare `{base}` with HEAD in `{}` ({status}): {stderr}\n  hint: fetch the base branch (actions/checkout with fetch-depth: 0)",
        root.display()
    )]
    GitDiff {
        base: String,
        root: std::path::PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error(
        "the pg backend reads its connection string from ${variable}, which is not set\n  hint: export {variable}=postgres://user:password@host:5432/database"
    )]
    MissingConnection { variable: String },
    #[error("${name} is not set{hint}")]
    MissingEnv {
        name: &'static str,
        /// Where the value usually comes from, as a `\n  hint: ...` line, or empty.
        hint: &'static str,
    },
    #[error("{flag} `{text}` is not a duration such as 24h or 90m: {source}")]
    InvalidDuration {
        flag: &'static str,
        text: String,
        source: jiff::Error,
    },
    #[error("GitHub: {0}")]
    GitHub(#[from] crate::ci::GitHubError),
    #[error(
        "stack `{stack}` is not a preview stack\n  hint: add a [preview] section (and [vault])"
    )]
    NotAPreview { stack: String },
    #[error(transparent)]
    DigitalOcean(#[from] crate::digitalocean::DigitalOceanError),
    #[error(
        "{stack} (workspace {workspace}) has no Kubernetes cluster in its state\n  hint: run `wildside-tofu up {stack} --workspace {workspace}` first"
    )]
    NoCluster { stack: String, workspace: String },
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

    /// Whether the user interrupted the run (Ctrl-C or SIGTERM).
    pub fn is_interrupted(&self) -> bool {
        if matches!(
            self,
            Error::Engine(EngineError::Interrupted) | Error::Interrupted { .. }
        ) {
            return true;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = cause {
            if error.is::<Interrupted>() {
                return true;
            }
            cause = error.source();
        }
        false
    }

    /// Whether the policy and budget gate refused the plan, so nothing was applied.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::PolicyDenied { .. } | Error::OverBudget { .. })
    }

    /// A stable name for the kind of error, for machines (`--output json` prints it as `kind`).
    pub fn kind(&self) -> &'static str {
        if self.is_interrupted() {
            return "interrupted";
        }
        match self {
            Error::Engine(EngineError::Interrupted) | Error::Interrupted { .. } => "interrupted",
            Error::Stack(_) | Error::StackErrors(_) => "stack",
            Error::Engine(_) => "engine",
            Error::Project(_) => "project",
            Error::ModuleUnreadable { .. } => "module_unreadable",
            Error::BackendUnreachable { .. } => "backend_unreachable",
            Error::Vault(_) | Error::MissingSecret { .. } => "vault",
            Error::Attestation(_) => "appliance_attestation",
            Error::Encryption(_) => "encryption",
            Error::StateVerification { .. } => "state_verification",
            Error::Undecryptable { .. } => "undecryptable_state",
            Error::Hibernation(_) => "hibernation_record",
            Error::Hibernated { .. } => "hibernated",
            Error::NoPreview { .. } => "no_preview",
            Error::NotAPlatform { .. } => "not_a_platform",
            Error::WorkspaceBusy { .. } => "workspace_busy",
            Error::Ledger(_) => "preview_ledger",
            Error::Gitops(_) => "gitops",
            Error::Clock(_) => "clock",
            Error::OutputsNotPushed { .. } => "outputs_not_pushed",
            Error::StalePlan { .. } => "stale_plan",
            Error::PlanDiffers { .. } => "plan_differs",
            Error::LockFileMissing { .. } => "lock_file_missing",
            Error::LockFileMismatch { .. } => "lock_file_mismatch",
            Error::PlanLockFileDiffers { .. } => "plan_lock_file_differs",
            Error::LockFileUnreadable { .. } => "lock_file_unreadable",
            Error::NoLockablePlatform { .. } => "no_lockable_platform",
            Error::Report(_) => "report",
            Error::Revision(_) => "revision",
            Error::ReportFor { .. } => "report_differs",
            Error::Policy(_) => "policy",
            Error::Cost(_) => "cost",
            Error::PolicyDenied { .. } => "policy_denied",
            Error::OverBudget { .. } => "over_budget",
            Error::ProductionDestroy { .. } => "confirmation_required",
            Error::ApprovalRequired { .. } => "approval_required",
            Error::NotApproved { .. } => "not_approved",
            Error::NoSuchOutput { .. } => "no_such_output",
            Error::OutputNotRaw { .. } => "output_not_raw",
            Error::Usage(_) => "usage",
            Error::GitDiff { .. } => "git",
            Error::MissingConnection { .. } => "missing_env",
            Error::MissingEnv { .. } => "missing_env",
            Error::InvalidDuration { .. } => "invalid_duration",
            Error::GitHub(_) => "github",
            Error::NotAPreview { .. } => "not_a_preview",
            Error::DigitalOcean(_) => "digitalocean",
            Error::NoCluster { .. } => "no_cluster",
            Error::Io { .. } => "io",
        }
    }

    /// The process exit status for this error: 130 after an interrupt (128 + SIGINT), 3 for a plan that
    /// policy refuses or that exceeds the budget, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.is_interrupted() {
            130
        } else if self.is_refusal() {
            3
        } else if matches!(
            self,
            Error::ApprovalRequired { .. } | Error::NotApproved { .. }
        ) {
            4
        } else {
            1
        }
    }
}
