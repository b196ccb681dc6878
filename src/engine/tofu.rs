//! Typed tofu operations on one root module directory.

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::SecretString;

use super::binary::EngineBinary;
use super::digest::DigestKey;
use super::environment::Inherit;
use super::error::EngineError;
use super::fingerprint::Fingerprint;
use super::outputs::Outputs;
use super::plan::{PlanSummary, ResourceAction, ResourceChange};
use super::process::{Completed, Invocation, run};
use super::progress::ProgressViews;
use super::redact::Redactor;
use super::signals::Interrupts;
use super::transcript::Transcript;
use super::ui::{Diagnostic, UiEvent, parse_line};

/// How the engine runs tofu, resolved once per command.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub binary: EngineBinary,
    /// A CLI configuration file (provider mirror, plugin cache); `None` leaves the user's own.
    pub cli_config: Option<PathBuf>,
    pub plugin_cache: Option<PathBuf>,
    /// How long to wait for a state lock, in tofu's duration syntax (`30s`, `5m`).
    pub lock_timeout: String,
    /// A local DigitalOcean API the provider is pointed at (`DIGITALOCEAN_API_URL`, with a sandbox token).
    pub sandbox: Option<url::Url>,
    /// The filesystem mirror providers install from, when one is configured (`providers lock` reads it).
    pub provider_mirror: Option<PathBuf>,
    /// Every filesystem mirror the CLI configuration names, in order of preference, with what each holds.
    pub mirrors: Vec<super::provider_installation::Mirror>,
    /// Whether `tofu init` may change the dependency lock file.
    pub lockfile: LockfileMode,
    /// The key of the digests of planned values in summaries and reports.
    pub digest_key: DigestKey,
}

/// Whether `tofu init` may change the dependency lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockfileMode {
    /// init creates or updates it, and the stack's committed copy follows (a developer's machine).
    #[default]
    Update,
    /// init uses it as it is and fails when the providers do not match it (`-lockfile=readonly`, for CI).
    Readonly,
}

/// Whether a plan has changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanOutcome {
    NoChanges,
    Changes,
}

/// tofu bound to one root module directory and its secret environment.
pub struct Tofu {
    settings: EngineSettings,
    dir: PathBuf,
    secret_env: Vec<(String, SecretString)>,
    interrupts: Interrupts,
    progress: ProgressViews,
    transcript: Option<Transcript>,
    /// Root module variables that are not secret, passed as `TF_VAR_<name>`.
    variables: Vec<(String, String)>,
    /// What tofu inherits of wildside-tofu's own environment.
    inherit: Inherit,
    /// The resource changes the last plan announced in its UI stream.
    planned: Vec<ResourceChange>,
    /// A plugin cache for the running command in place of the shared one (see [`Tofu::init`]).
    plugin_cache_override: Option<PathBuf>,
    /// Whether a plan takes the state lock (see [`Tofu::plan_without_lock`]).
    plan_locks: bool,
    /// Names of the secret environment's entries that only saved plans need.
    saved_plan_env: Vec<String>,
}

/// Serialises `tofu init` within this process until the plugin cache is filled (see [`Tofu::init`]).
static INIT_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static CACHE_FILLED: AtomicBool = AtomicBool::new(false);

const INIT_FINGERPRINT: &str = ".terraform/wildside-init.sha256";

/// The dependency lock file of a root module, as tofu names it.
pub const LOCK_FILE: &str = ".terraform.lock.hcl";

/// Where an init without a lock file to verify the shared plugin cache against keeps the providers it installs.
const PRIVATE_PLUGIN_CACHE: &str = ".terraform/first-init-plugin-cache";

impl Tofu {
    pub fn new(
        settings: EngineSettings,
        dir: PathBuf,
        secret_env: Vec<(String, SecretString)>,
        interrupts: Interrupts,
        progress: ProgressViews,
    ) -> Self {
        let inherit = Inherit {
            provider_credentials: settings_sandbox_free(&settings),
            ..Inherit::default()
        };
        Self {
            settings,
            dir,
            secret_env,
            interrupts,
            progress,
            transcript: None,
            variables: Vec::new(),
            inherit,
            planned: Vec::new(),
            plugin_cache_override: None,
            plan_locks: true,
            saved_plan_env: Vec::new(),
        }
    }

    /// The resource changes of the last plan, from its UI stream: the summary without a `show -json` run
    /// (which `show_plan_json` gives, with output changes too).
    pub fn planned_summary(&self) -> PlanSummary {
        let mut changes = self.planned.clone();
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        PlanSummary {
            changes,
            ..PlanSummary::default()
        }
    }

    /// Sets root module variables (not secrets: they may show in logs) for every later command.
    pub fn set_variables(&mut self, variables: Vec<(String, String)>) {
        self.variables = variables;
    }

    /// Sets what tofu inherits of wildside-tofu's own environment (the backend's credentials, say). The
    /// DigitalOcean provider's credentials are never inherited with `--sandbox`, whatever `inherit` says.
    pub fn set_inherit(&mut self, inherit: Inherit) {
        self.inherit = Inherit {
            provider_credentials: inherit.provider_credentials
                && settings_sandbox_free(&self.settings),
            ..inherit
        };
    }

    /// Removes `name` from the secret environment.
    pub fn remove_secret(&mut self, name: &str) {
        self.secret_env.retain(|(existing, _)| existing != name);
    }

    /// Replaces the secret environment (another encryption configuration for a migration, say).
    pub fn replace_secret(&mut self, name: &str, value: SecretString) {
        self.secret_env.retain(|(existing, _)| existing != name);
        self.secret_env.push((name.to_string(), value));
    }

    /// Collects this run's progress in a transcript instead of printing it as it comes.
    pub fn keep_together(&mut self) -> Transcript {
        self.transcript
            .get_or_insert_with(Transcript::default)
            .clone()
    }

    /// A progress note: into the transcript when output is kept together, else to the log.
    pub fn note(&self, text: &str) {
        match &self.transcript {
            Some(transcript) => transcript.push_line(text),
            None => tracing::info!("{text}"),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Whether anything `tofu init` depends on changed since the last successful init.
    /// `module_dirs` are the local module directories the root calls.
    pub fn init_needed(&self, backend_config: &Path, module_dirs: &[PathBuf]) -> bool {
        let stored = std::fs::read_to_string(self.dir.join(INIT_FINGERPRINT)).unwrap_or_default();
        stored.trim() != self.init_fingerprint(backend_config, module_dirs)
    }

    /// The fingerprint of a plan's inputs as this run knows them: what the last init depended on (the rendered
    /// root, its modules, the lock file, the backend configuration and the engine) and the root's variables.
    /// Secret values are never part of it: a plan finds what they change.
    pub fn plan_inputs_fingerprint(&self) -> String {
        let mut fingerprint = Fingerprint::default();
        fingerprint.add_file(&self.dir.join(INIT_FINGERPRINT));
        for (name, value) in &self.variables {
            fingerprint.add(name, value.as_bytes());
        }
        fingerprint.finish()
    }

    /// Runs `tofu init` and records the fingerprint of what it depended on. Inits in one process take turns:
    /// the first one fills the shared plugin cache, the others then only link to it.
    ///
    /// tofu uses a cached provider only when the lock file has a hash it matches; without a lock file it would
    /// install into the shared cache again, replacing the entry under runs of other stacks that link to it. So an
    /// init without a lock file installs into a cache of the root's own, and later inits (the lock file now
    /// written) link to the shared one.
    pub async fn init(
        &mut self,
        backend_config: &Path,
        module_dirs: &[PathBuf],
    ) -> Result<(), EngineError> {
        let private_cache = (self.settings.plugin_cache.is_some()
            && !self.dir.join(LOCK_FILE).is_file())
        .then(|| self.dir.join(PRIVATE_PLUGIN_CACHE));
        // Until one init has filled the shared plugin cache, inits that use it take turns; after that they only
        // link. An init with a cache of its own shares nothing and never waits.
        let _turn = if private_cache.is_some() || CACHE_FILLED.load(Ordering::Acquire) {
            None
        } else {
            Some(INIT_TURN.lock().await)
        };
        let mut args = vec![
            "init".to_string(),
            "-input=false".into(),
            "-reconfigure".into(),
            "-json".into(),
        ];
        if self.settings.lockfile == LockfileMode::Readonly {
            args.push("-lockfile=readonly".into());
        }
        args.push(format!("-backend-config={}", backend_config.display()));
        args.push(format!("-lock-timeout={}", self.settings.lock_timeout));
        if let Some(cache) = &private_cache {
            std::fs::create_dir_all(cache).map_err(|error| {
                EngineError::io(format!("creating `{}`", cache.display()), error)
            })?;
        }
        let shared_cache = private_cache.is_none();
        self.plugin_cache_override = private_cache;
        let result = self.streamed_checked("init", args, None).await;
        self.plugin_cache_override = None;
        result?;
        if shared_cache {
            CACHE_FILLED.store(true, Ordering::Release);
        }
        let fingerprint = self.init_fingerprint(backend_config, module_dirs);
        std::fs::write(self.dir.join(INIT_FINGERPRINT), fingerprint)
            .map_err(|error| EngineError::io("saving the init fingerprint", error))
    }

    /// Records in the root's lock file the hashes of its providers' packages for `platforms`, read from
    /// `fs_mirror` when given, else from the providers' registries. Versions already locked stay.
    pub async fn providers_lock(
        &mut self,
        platforms: &[String],
        fs_mirror: Option<&Path>,
    ) -> Result<(), EngineError> {
        let mut args = vec!["providers".to_string(), "lock".into()];
        if let Some(mirror) = fs_mirror {
            args.push(format!("-fs-mirror={}", mirror.display()));
        }
        args.extend(
            platforms
                .iter()
                .map(|platform| format!("-platform={platform}")),
        );
        self.collect("providers lock", args, None).await.map(drop)
    }
    fn init_fingerprint(&self, backend_config: &Path, module_dirs: &[PathBuf]) -> String {
        let mut fingerprint = Fingerprint::default();
        fingerprint.add("engine", self.settings.binary.identity.as_bytes());
        if let Some(config) = &self.settings.cli_config {
            fingerprint.add_file(config);
        }
        fingerprint.add_module_dir(&self.dir);
        fingerprint.add_file(&self.dir.join(LOCK_FILE));
        fingerprint.add_file(backend_config);
        for dir in module_dirs {
            fingerprint.add_module_dir(dir);
        }
        fingerprint.finish()
    }

    /// Workspaces that exist in the backend, in tofu's order.
    pub async fn workspaces(&mut self) -> Result<Vec<String>, EngineError> {
        let text = self
            .collect(
                "workspace list",
                vec!["workspace".into(), "list".into()],
                None,
            )
            .await?;
        Ok(text
            .lines()
            .map(|line| line.trim_start_matches('*').trim().to_string())
            .filter(|name| !name.is_empty())
            .collect())
    }

    /// Makes sure `workspace` exists (`default` always does).
    pub async fn ensure_workspace(&mut self, workspace: &str) -> Result<(), EngineError> {
        if workspace == "default" {
            return Ok(());
        }
        // One run when it is new; when the create fails, the workspace list tells whether it already existed
        // (tofu reports that only in prose).
        let args = vec![
            "workspace".into(),
            "new".into(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            workspace.into(),
        ];
        if let Err(error) = self.collect("workspace new", args, None).await
            && (matches!(error, EngineError::Interrupted)
                || !self
                    .workspaces()
                    .await?
                    .iter()
                    .any(|name| name == workspace))
        {
            return Err(error);
        }
        // `workspace new` also selects the new workspace; runs pick theirs through TF_WORKSPACE, so the
        // selection is only in the way (a selected workspace cannot be deleted).
        let _ = std::fs::remove_file(self.dir.join(".terraform/environment"));
        Ok(())
    }

    /// Deletes `workspace`, which must hold no resources.
    pub async fn delete_workspace(&mut self, workspace: &str) -> Result<(), EngineError> {
        let args = vec![
            "workspace".into(),
            "delete".into(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            workspace.into(),
        ];
        // The active workspace cannot be deleted: make `default` the active one for this command.
        self.collect("workspace delete", args, Some("default"))
            .await
            .map(drop)
    }

    /// Makes plans read the state without taking its lock, for credentials that can read the backend but not
    /// write to it (read-only Spaces keys cannot write an S3 lock file). A plan writes no state; one that reads
    /// the state while an apply writes it sees the state before or after that write, and the saved plan is
    /// then refused as stale when applied.
    pub fn plan_without_lock(&mut self) {
        self.plan_locks = false;
    }

    /// Plans into `plan_file`; `destroy` plans the removal of everything.
    pub async fn plan(
        &mut self,
        workspace: &str,
        plan_file: &Path,
        destroy: bool,
    ) -> Result<PlanOutcome, EngineError> {
        let mut args = self.plan_args();
        args.push(format!("-out={}", plan_file.display()));
        if destroy {
            args.push("-destroy".into());
        }
        self.run_plan(args, workspace).await
    }

    /// Plans without saving the plan: whether there are changes, for a workspace expected to have none. The
    /// environment that only saved plans need (their encryption, see [`Tofu::set_saved_plan_env`]) is left out,
    /// so tofu neither writes a plan file nor asks a key provider for its key.
    pub async fn plan_unsaved(&mut self, workspace: &str) -> Result<PlanOutcome, EngineError> {
        let args = self.plan_args();
        let (kept, withheld): (Vec<_>, Vec<_>) = std::mem::take(&mut self.secret_env)
            .into_iter()
            .partition(|(name, _)| !self.saved_plan_env.contains(name));
        self.secret_env = kept;
        let outcome = self.run_plan(args, workspace).await;
        self.secret_env.extend(withheld);
        outcome
    }

    /// Names the entries of the secret environment that serve saved plans only (their encryption when the state
    /// is not encrypted): [`Tofu::plan_unsaved`] leaves them out.
    pub fn set_saved_plan_env(&mut self, names: Vec<String>) {
        self.saved_plan_env = names;
    }

    fn plan_args(&self) -> Vec<String> {
        let mut args = vec![
            "plan".to_string(),
            "-input=false".into(),
            "-json".into(),
            "-detailed-exitcode".into(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        if !self.plan_locks {
            args.push("-lock=false".into());
        }
        args
    }

    async fn run_plan(
        &mut self,
        args: Vec<String>,
        workspace: &str,
    ) -> Result<PlanOutcome, EngineError> {
        self.planned.clear();
        let (completed, diagnostics) = self.streamed(args, Some(workspace)).await?;
        match completed.code {
            0 => Ok(PlanOutcome::NoChanges),
            2 => Ok(PlanOutcome::Changes),
            _ => Err(EngineError::Failed {
                command: "plan".into(),
                diagnostics,
                stderr: completed.stderr,
            }),
        }
    }

    /// Applies a saved plan exactly as it was made; tofu refuses a plan whose state has moved on.
    pub async fn apply(&mut self, workspace: &str, plan_file: &Path) -> Result<(), EngineError> {
        let args = vec![
            "apply".to_string(),
            "-input=false".into(),
            "-json".into(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            plan_file.display().to_string(),
        ];
        self.streamed_checked("apply", args, Some(workspace)).await
    }

    /// Plans into `plan_file` and, when the plan has changes, reads it back for review: its summary and its
    /// `show -json` document (what the gate judges before an apply). `None` when there is nothing to change.
    pub async fn plan_for_review(
        &mut self,
        workspace: &str,
        plan_file: &Path,
        destroy: bool,
    ) -> Result<Option<(PlanSummary, String)>, EngineError> {
        match self.plan(workspace, plan_file, destroy).await? {
            PlanOutcome::NoChanges => Ok(None),
            PlanOutcome::Changes => self.show_plan_json(workspace, plan_file).await.map(Some),
        }
    }

    /// The typed summary of a saved plan and the `show -json` document it was read from (policies and cost
    /// estimates read the whole document).
    pub async fn show_plan_json(
        &mut self,
        workspace: &str,
        plan_file: &Path,
    ) -> Result<(PlanSummary, String), EngineError> {
        let args = vec![
            "show".into(),
            "-json".into(),
            plan_file.display().to_string(),
        ];
        let json = self.collect("show", args, Some(workspace)).await?;
        let summary =
            PlanSummary::from_show_json(&json, &self.settings.digest_key).map_err(|source| {
                EngineError::Decode {
                    command: "show -json".into(),
                    source,
                }
            })?;
        Ok((summary, json))
    }

    /// The workspace's state as `show -json` prints it (for cost estimates).
    pub async fn show_state_json(&mut self, workspace: &str) -> Result<String, EngineError> {
        let args = vec!["show".into(), "-json".into()];
        self.collect("show", args, Some(workspace)).await
    }

    /// The workspace's outputs.
    pub async fn outputs(&mut self, workspace: &str) -> Result<Outputs, EngineError> {
        let json = self
            .collect(
                "output",
                vec!["output".into(), "-json".into()],
                Some(workspace),
            )
            .await?;
        Outputs::from_json(&json).map_err(|source| EngineError::Decode {
            command: "output -json".into(),
            source,
        })
    }

    async fn streamed_checked(
        &mut self,
        command: &str,
        args: Vec<String>,
        workspace: Option<&str>,
    ) -> Result<(), EngineError> {
        let (completed, diagnostics) = self.streamed(args, workspace).await?;
        if completed.code == 0 {
            Ok(())
        } else {
            Err(EngineError::Failed {
                command: command.into(),
                diagnostics,
                stderr: completed.stderr,
            })
        }
    }

    /// Runs a `-json` command, showing progress and collecting diagnostics.
    async fn streamed(
        &mut self,
        args: Vec<String>,
        workspace: Option<&str>,
    ) -> Result<(Completed, Vec<Diagnostic>), EngineError> {
        let mut progress = (self.progress)(
            args.first().is_some_and(|command| command == "plan"),
            self.transcript.clone(),
        );
        let mut diagnostics = Vec::new();
        let invocation = self.invocation(args, workspace);
        let redactor = Redactor::new(self.secret_env.iter().map(|(_, value)| value));
        let mut interrupts = self.interrupts.clone();
        let mut planned = Vec::new();
        let result = run(invocation, &mut interrupts, |line| {
            let event = parse_line(&redactor.redact(line))?;
            progress.show(&event);
            match event {
                UiEvent::Diagnostic(diagnostic) => diagnostics.push(diagnostic),
                UiEvent::PlannedChange { address, action } => {
                    if let Some(action) = ResourceAction::from_ui(&action) {
                        planned.push(ResourceChange {
                            address,
                            action,
                            digest: None,
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .await;
        if !planned.is_empty() {
            self.planned = planned;
        }
        progress.finish();
        let mut completed = result?;
        completed.stderr = redactor.redact(&completed.stderr);
        Ok((completed, diagnostics))
    }

    /// Runs a command whose stdout is a document (not a stream) and returns it.
    async fn collect(
        &mut self,
        command: &str,
        args: Vec<String>,
        workspace: Option<&str>,
    ) -> Result<String, EngineError> {
        let mut text = String::new();
        let invocation = self.invocation(args, workspace);
        let mut interrupts = self.interrupts.clone();
        let completed = run(invocation, &mut interrupts, |line| {
            text.push_str(line);
            text.push('\n');
            Ok(())
        })
        .await?;
        if completed.code == 0 {
            Ok(text)
        } else {
            let stderr = if completed.stderr.trim().is_empty() {
                text
            } else {
                completed.stderr
            };
            let redactor = Redactor::new(self.secret_env.iter().map(|(_, value)| value));
            Err(EngineError::Failed {
                command: command.into(),
                diagnostics: Vec::new(),
                stderr: redactor.redact(&stderr),
            })
        }
    }

    fn invocation(&self, args: Vec<String>, workspace: Option<&str>) -> Invocation<'_> {
        Invocation {
            program: &self.settings.binary.path,
            args,
            cwd: &self.dir,
            inherit: self.inherit,
            env: self.env(workspace),
            secret_env: &self.secret_env,
            stdin: None,
        }
    }

    /// The workspace's state as tofu reads it (decrypted), or `None` when the workspace has none yet. It stays in
    /// memory.
    pub async fn state_pull(
        &mut self,
        workspace: &str,
    ) -> Result<Option<SecretString>, EngineError> {
        let text = self
            .collect(
                "state pull",
                vec!["state".into(), "pull".into()],
                Some(workspace),
            )
            .await?;
        Ok((!text.trim().is_empty()).then(|| SecretString::from(text)))
    }

    /// Writes `state` as the workspace's state (through stdin, never a file), encrypted as the current
    /// configuration says. Its serial must be above the stored one.
    pub async fn state_push(
        &mut self,
        workspace: &str,
        state: SecretString,
    ) -> Result<(), EngineError> {
        let args = vec![
            "state".into(),
            "push".into(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            "-".into(),
        ];
        let mut invocation = self.invocation(args, Some(workspace));
        invocation.stdin = Some(state);
        let mut interrupts = self.interrupts.clone();
        let completed = run(invocation, &mut interrupts, |_| Ok(())).await?;
        if completed.code == 0 {
            Ok(())
        } else {
            let redactor = Redactor::new(self.secret_env.iter().map(|(_, value)| value));
            Err(EngineError::Failed {
                command: "state push".into(),
                diagnostics: Vec::new(),
                stderr: redactor.redact(&completed.stderr),
            })
        }
    }

    fn env(&self, workspace: Option<&str>) -> Vec<(String, String)> {
        let mut env = vec![
            ("TF_IN_AUTOMATION".to_string(), "1".to_string()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            // An empty TF_WORKSPACE means "the selected one", which is always `default` for a generated root.
            ("TF_WORKSPACE".into(), workspace.unwrap_or_default().into()),
        ];
        env.extend(
            self.variables
                .iter()
                .map(|(name, value)| (format!("TF_VAR_{name}"), value.clone())),
        );
        if let Some(sandbox) = &self.settings.sandbox {
            env.push(("DIGITALOCEAN_API_URL".into(), sandbox.to_string()));
            env.push((
                "DIGITALOCEAN_TOKEN".into(),
                crate::settings::SANDBOX_TOKEN.into(),
            ));
        }
        if let Some(config) = &self.settings.cli_config {
            env.push(("TF_CLI_CONFIG_FILE".into(), config.display().to_string()));
        }
        if let Some(cache) = self
            .plugin_cache_override
            .as_ref()
            .or(self.settings.plugin_cache.as_ref())
        {
            env.push(("TF_PLUGIN_CACHE_DIR".into(), cache.display().to_string()));
        }
        env
    }
}

/// Whether tofu talks to the real DigitalOcean (no `--sandbox`).
fn settings_sandbox_free(settings: &EngineSettings) -> bool {
    settings.sandbox.is_none()
}
