//! What commands return: plain data that the human and JSON views present.

use std::path::PathBuf;

use serde::Serialize;

use secrecy::SecretString;

use super::preview::PreviewRow;
use super::preview_ledger::RebuiltRecord;
use crate::ci::{PlanStatus, StackPlanReport, StickyOutcome};
use crate::cost::{CostDiff, Estimate};
use crate::engine::{OutputValue, Outputs, PlanSummary};
use crate::hibernation::Summary;
use crate::policy::{PolicyReport, TestResult};
use crate::preview::{GcAction, GcKeep, Presence, PreviewRecord};
use crate::stack::{SecretInState, Stack};
use crate::vault::{BootstrapReport, OutputWrite, OutputsPush};

/// The result of one command.
#[derive(Debug, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Report {
    Plan {
        #[serde(flatten)]
        run: StackRun,
        plan_file: PathBuf,
        /// What the policies found; denials make the exit status 3.
        policy: PolicyReport,
        /// Monthly cost before and after; over the budget, the exit status is 3.
        cost: CostDiff,
        /// Set when `--detailed-exitcode` asks for exit status 2 on changes.
        #[serde(skip)]
        detailed_exitcode: bool,
    },
    Apply {
        #[serde(flatten)]
        run: StackRun,
        outputs: Vec<OutputEntry>,
        vault: Option<OutputsPush>,
    },
    Up {
        #[serde(flatten)]
        run: StackRun,
        outputs: Vec<OutputEntry>,
        vault: Option<OutputsPush>,
    },
    Down {
        #[serde(flatten)]
        run: StackRun,
        workspace_deleted: bool,
        /// Outputs removed from Vault.
        vault_deleted: usize,
    },
    OutputsPush {
        stack: String,
        workspace: String,
        vault: OutputsPush,
    },
    Kubeconfig {
        stack: String,
        workspace: String,
        /// Where it was written; `None` when it went to stdout.
        written_to: Option<PathBuf>,
        #[serde(skip)]
        text: Option<SecretString>,
    },
    KubeconfigRefresh {
        stack: String,
        workspace: String,
        cluster_id: String,
        /// The kubeconfig's Vault entry (its value is never in a report).
        vault: OutputWrite,
    },
    /// `kubeconfig refresh --all`: a [`Report::KubeconfigRefresh`] per stack refreshed, and the stacks passed
    /// over with why.
    KubeconfigRefreshAll {
        refreshed: Vec<Report>,
        skipped: Vec<SkippedStack>,
    },
    VaultBootstrap(BootstrapReport),
    /// `gitops render`, `gitops push`, and a namespace preview's overlay: a tree written or committed.
    Gitops {
        action: String,
        stack: String,
        /// Where the tree was written (`render`).
        directory: Option<PathBuf>,
        /// The repository and branch committed to (`push`).
        remote: Option<String>,
        /// The paths added, changed or removed.
        changed: Vec<String>,
        /// The commit made; `None` when nothing changed.
        commit: Option<String>,
    },
    /// `providers lock`: the stack's committed lock file rewritten.
    ProvidersLock {
        stack: String,
        lock_file: PathBuf,
        /// The filesystem mirror the hashes were read from; `None` for the providers' registries.
        mirror: Option<PathBuf>,
        /// What the lock file records now.
        providers: Vec<LockedEntry>,
        /// The platforms whose hashes were recorded.
        platforms: Vec<String>,
        /// Platforms asked for that the mirror holds no package of: not locked.
        missing: Vec<MissingPlatform>,
    },
    /// `state encrypt`, `state decrypt`, `state rotate-key`.
    State {
        stack: String,
        action: super::state::StateAction,
        /// How the stack file says its state is kept.
        encryption: String,
        /// The transit key's version after a rotation, when the token may read it.
        key_version: Option<u64>,
        workspaces: Vec<super::state::StateMigration>,
    },
    /// A preview changed (`up`, `down`, `pin`, `unpin`); `record` is gone after `down`.
    Preview {
        action: String,
        stack: String,
        pr: u64,
        record: Option<PreviewRecord>,
    },
    PreviewList {
        stack: String,
        previews: Vec<PreviewRow>,
    },
    PreviewGc {
        stack: String,
        dry_run: bool,
        /// Everything gc set out to remove, including what failed.
        actions: Vec<GcAction>,
        /// The removals that failed; their previews are left in place, marked `failed`.
        failures: Vec<GcFailure>,
        /// Expired previews of open pull requests kept hibernated instead (the stack's `idle = "hibernate"`).
        hibernated: Vec<u64>,
        /// What hibernating each of those changed, by pull request.
        hibernations: Vec<GcHibernation>,
        /// Previews gc set out to remove and kept: looked at again, the record no longer called for it.
        kept: Vec<GcKept>,
    },
    /// `preview ledger rebuild`: the records written for workspaces that had none.
    PreviewLedgerRebuild {
        stack: String,
        dry_run: bool,
        /// What the ledger was before the rebuild.
        found: Presence,
        /// Records the ledger already held, kept as they were (`--merge`).
        kept: usize,
        rebuilt: Vec<RebuiltRecord>,
    },
    /// A platform hibernated or woken: its node pools' nodes (fewest, most) and monthly cost before and after.
    Hibernation(Hibernation),
    /// A project scaffolded by `init`: the files written, and those that existed and were kept.
    Init {
        dir: PathBuf,
        written: Vec<PathBuf>,
        kept: Vec<PathBuf>,
    },
    /// The JSON Schema of stack files.
    Schema {
        schema: serde_json::Value,
    },
    /// A shell's completion script.
    Completions {
        script: String,
    },
    PlanSet {
        report_dir: PathBuf,
        summary_file: PathBuf,
        stacks: Vec<StackPlanReport>,
        #[serde(skip)]
        detailed_exitcode: bool,
        #[serde(skip)]
        drift: bool,
    },
    CiComment(StickyOutcome),
    /// `cost`: the monthly estimate of what the stack's state holds.
    Cost {
        stack: String,
        workspace: String,
        estimate: Estimate,
    },
    /// `policy check`: the policies on one plan file.
    PolicyCheck {
        policy: PolicyReport,
    },
    /// `policy test`: every `test_` rule and its outcome.
    PolicyTest {
        passed: usize,
        failed: usize,
        tests: Vec<TestResult>,
    },
    CiChanged {
        stacks: Vec<String>,
        /// Print as a GitHub Actions matrix (`{"stack": [...]}`).
        #[serde(skip)]
        matrix: bool,
        /// Changed stack files left out because they do not load (named on stderr): exit 1.
        #[serde(skip)]
        unloadable: usize,
    },
    Output {
        stack: String,
        workspace: String,
        outputs: Vec<OutputEntry>,
    },
    /// One output's value as text (`output --raw NAME`).
    OutputRaw {
        name: String,
        value: RawOutput,
    },
    Render {
        stack: String,
        dir: PathBuf,
        /// Files written (none with `--check`).
        files: Vec<PathBuf>,
        /// With `--check`: files whose content on disk differs from a fresh render.
        stale: Vec<PathBuf>,
        check: bool,
    },
    RenderAll {
        stacks: Vec<String>,
        stale: Vec<PathBuf>,
        check: bool,
    },
    Doctor {
        healthy: bool,
        checks: Vec<Check>,
    },
}

/// A plan or apply of one stack in one workspace.
#[derive(Debug, Serialize)]
pub struct StackRun {
    pub stack: String,
    pub workspace: String,
    /// `false` only for stacks with `[encryption] enabled = false`; the human view then says so.
    pub state_encrypted: bool,
    pub changed: bool,
    pub summary: PlanSummary,
    /// Secrets that module inputs take, which tofu keeps (encrypted) in state and saved plans: the view says
    /// so, naming them, never their values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets_in_state: Vec<SecretInState>,
}

impl StackRun {
    pub fn new(stack: &Stack, workspace: &str, changed: bool, summary: PlanSummary) -> Self {
        Self {
            stack: stack.name.clone(),
            workspace: workspace.to_string(),
            state_encrypted: stack.encryption.is_enabled(),
            changed,
            summary,
            secrets_in_state: stack.secrets_kept_in_state(),
        }
    }
}

/// One stack output; a sensitive value is never part of a report.
#[derive(Debug, Serialize)]
pub struct OutputEntry {
    pub name: String,
    pub sensitive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl OutputEntry {
    pub fn from_outputs(outputs: &Outputs) -> Vec<Self> {
        outputs
            .0
            .iter()
            .map(|(name, value)| match value {
                OutputValue::Plain(value) => Self {
                    name: name.clone(),
                    sensitive: false,
                    value: Some(value.clone()),
                },
                OutputValue::Sensitive(_) => Self {
                    name: name.clone(),
                    sensitive: true,
                    value: None,
                },
            })
            .collect()
    }
}

/// A preview `gc` could not remove.
#[derive(Debug, Serialize)]
pub struct GcFailure {
    pub pr: u64,
    pub error: String,
}

/// A preview gc set out to remove and kept, and what it found when it looked again.
#[derive(Debug, Serialize)]
pub struct GcKept {
    pub pr: u64,
    pub reason: GcKeep,
}

/// A preview `gc` kept, hibernated: its node pools before and after.
#[derive(Debug, Serialize)]
pub struct GcHibernation {
    pub pr: u64,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A stack `kubeconfig refresh --all` passed over.
#[derive(Debug, Serialize)]
pub struct SkippedStack {
    pub stack: String,
    pub reason: SkipReason,
}

/// Why a stack has no kubeconfig to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// It makes no cluster.
    NoCluster,
    /// It does not write its `kubeconfig` output to Vault.
    NoKubeconfigInVault,
    /// A preview stack: each preview writes its kubeconfig at `preview up`.
    Preview,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoCluster => "it makes no cluster",
            Self::NoKubeconfigInVault => "it does not write its `kubeconfig` output to Vault",
            Self::Preview => {
                "a preview stack: each preview's kubeconfig is written at `preview up`"
            }
        }
    }
}

/// A provider a lock file records.
#[derive(Debug, Serialize)]
pub struct LockedEntry {
    pub address: String,
    pub version: String,
}

/// A platform `providers lock` could not lock, and the provider packages the mirror lacks for it.
#[derive(Debug, Serialize)]
pub struct MissingPlatform {
    pub platform: String,
    pub providers: Vec<String>,
}

/// One output's value as text, asked for by name: shown even when sensitive, as `tofu output -raw` does, and
/// redacted from `Debug`.
#[derive(Debug)]
pub struct RawOutput(pub secrecy::SecretString);

impl Serialize for RawOutput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secrecy::ExposeSecret::expose_secret(&self.0))
    }
}

/// One doctor check.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// A platform hibernated or woken.
#[derive(Debug, Serialize)]
pub struct Hibernation {
    pub action: HibernationAction,
    #[serde(flatten)]
    pub run: StackRun,
    #[serde(flatten)]
    pub summary: Summary,
    /// When the stack went to sleep (absent when waking a stack that was awake).
    pub since: Option<jiff::Timestamp>,
}

/// What `hibernate` and `wake` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HibernationAction {
    Hibernate,
    Wake,
}

impl Report {
    /// The exit status this result asks for: 3 for a plan that policy denies (or that breaks the budget), 2
    /// for a plan with changes under `--detailed-exitcode`, 1 for an unhealthy doctor or a failed stack of a
    /// set, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Report::Plan { policy, cost, .. } if policy.denied() || cost.over_budget.is_some() => 3,
            Report::PolicyTest { failed, .. } if *failed > 0 => 1,
            Report::PolicyCheck { policy } if policy.denied() => 3,
            Report::Plan {
                run,
                detailed_exitcode,
                ..
            } => {
                if *detailed_exitcode && run.changed {
                    2
                } else {
                    0
                }
            }
            Report::Doctor { healthy, .. } => i32::from(!healthy),
            Report::PreviewGc { failures, .. } => i32::from(!failures.is_empty()),
            Report::Render { check, stale, .. } | Report::RenderAll { check, stale, .. } => {
                i32::from(*check && !stale.is_empty())
            }
            Report::PlanSet { stacks, .. }
                if stacks
                    .iter()
                    .any(|stack| stack.denied() || stack.over_budget()) =>
            {
                3
            }
            Report::CiChanged { unloadable, .. } => i32::from(*unloadable > 0),
            Report::PlanSet {
                stacks,
                detailed_exitcode,
                drift,
                ..
            } => {
                let any = |status: PlanStatus| stacks.iter().any(|stack| stack.status == status);
                if any(PlanStatus::Failed) {
                    1
                } else if (*detailed_exitcode || *drift) && any(PlanStatus::Changes) {
                    2
                } else {
                    0
                }
            }
            Report::Apply { .. }
            | Report::Up { .. }
            | Report::Down { .. }
            | Report::OutputsPush { .. }
            | Report::Kubeconfig { .. }
            | Report::KubeconfigRefresh { .. }
            | Report::KubeconfigRefreshAll { .. }
            | Report::VaultBootstrap(_)
            | Report::Gitops { .. }
            | Report::ProvidersLock { .. }
            | Report::State { .. }
            | Report::Preview { .. }
            | Report::PreviewList { .. }
            | Report::PreviewLedgerRebuild { .. }
            | Report::Schema { .. }
            | Report::Init { .. }
            | Report::Completions { .. }
            | Report::CiComment(_)
            | Report::Output { .. }
            | Report::OutputRaw { .. }
            | Report::Hibernation(_)
            | Report::Cost { .. }
            | Report::PolicyCheck { .. }
            | Report::PolicyTest { .. } => 0,
        }
    }
}
