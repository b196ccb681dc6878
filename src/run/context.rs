//! What every stack command shares: the project, the engine, and preparing a stack's root module to run.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::plan_encryption::plan_encryption_env;
use crate::backend_probe;
use crate::encryption::{
    EncryptionError, KeyCheck, KeySource, Mode, check_key, create_key, encryption_env,
};
use crate::engine::{
    BackendCredentials, EngineError, EngineSettings, Inherit, Interrupts, LOCK_FILE, LockConflict,
    LockfileMode, Tofu,
};
use crate::error::Error;
use crate::project::Project;
use crate::render::{TOKEN_SECRETS, backend_config, render_root};
use crate::settings::{GlobalSettings, resolve_engine};
use crate::stack::{Backend, CredentialRole, ModuleSource, Stack, StateEncryption};
use crate::vault::{DataKeys, LocalTransit, Vault, VaultError, read_secrets};

/// Resolved once per invocation and handed to the command.
pub struct Context {
    pub project: Project,
    pub engine: EngineSettings,
    pub interrupts: Interrupts,
    /// Whether changes go ahead without asking (`--yes`).
    pub approval: crate::run::approval::Approval,
}

impl Context {
    pub async fn new(global: &GlobalSettings, interrupts: Interrupts) -> Result<Self, Error> {
        let project = Project::locate(global.project.as_deref())?;
        let engine = resolve_engine(global, &project.work_dir()).await?;
        Ok(Self {
            project,
            engine,
            interrupts,
            approval: crate::run::approval::Approval::Ask,
        })
    }
}

/// A stack rendered, initialised and pointed at a workspace, ready for plan and apply.
pub struct Prepared {
    pub stack: Stack,
    pub tofu: Tofu,
    pub build_dir: PathBuf,
    pub workspace: String,
    /// Connected when the stack reads secrets from or writes outputs to Vault.
    pub vault: Option<Vault>,
    backend_label: String,
    conn_str: Option<SecretString>,
    /// Where the state's keys come from; `None` when the stack opted out of encryption.
    pub(crate) key_source: Option<KeySource>,
    /// The stack's committed dependency lock file (beside its stack file).
    pub lock_file: PathBuf,
    /// Held while this run uses the workspace: another run of this project on the same workspace waits.
    _workspace_lock: Option<std::fs::File>,
    /// A shared lock on the build directory, held while this run's tofu commands use it (see
    /// [`settle_build_dir`]).
    _build_lock: Option<std::fs::File>,
    /// Stands in for Vault in tofu's configuration while a transit-encrypted stack runs, so that tofu never
    /// gets the Vault token (see `vault::local_transit`).
    local_transit: Option<LocalTransit>,
    /// Lends `$WILDSIDE_PLAN_PASSPHRASE` to tofu's key provider while tofu runs (a stack without encryption).
    _plan_key_lender: Option<crate::encryption::Lender>,
}

impl Prepared {
    /// Explains an engine failure: a state that cannot be decrypted, or the backend if it turns out to be
    /// unreachable.
    pub async fn explain(&self, error: EngineError) -> Error {
        if matches!(error, EngineError::Interrupted) {
            return error.into();
        }
        if let Some(failure) = DecryptionFailure::of(&error) {
            return self.undecryptable(failure, error);
        }
        if let Some(conflict) = LockConflict::of(&error) {
            return self.lock_conflict(conflict, error);
        }
        match backend_probe::probe(&self.stack.backend, self.conn_str.as_ref()).await {
            Err(reason) => Error::BackendUnreachable {
                backend: self.backend_label.clone(),
                reason,
            },
            Ok(()) => error.into(),
        }
    }
}

/// How tofu said it could not read a state. OpenTofu reports these only in prose (no diagnostic code), so
/// its messages are matched here, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecryptionFailure {
    /// The state is unencrypted and the configuration does not allow that.
    Unencrypted,
    /// No configured method could decrypt it.
    WrongKey,
}

impl DecryptionFailure {
    fn of(error: &EngineError) -> Option<Self> {
        let text = error.to_string();
        if text.contains("unencrypted payload without unencrypted method") {
            Some(Self::Unencrypted)
        } else if text.contains("decryption failed for all provided methods")
            || text.contains("failed to decrypt ciphertext")
        {
            Some(Self::WrongKey)
        } else {
            None
        }
    }
}

/// Whether tofu, run without an encryption configuration, refused a state because it is encrypted. OpenTofu
/// says so only in prose.
fn encrypted_state(error: &EngineError) -> bool {
    error
        .to_string()
        .contains("is encrypted and can not be read without an encryption configuration")
}

impl Prepared {
    fn lock_conflict(&self, conflict: LockConflict, error: EngineError) -> Error {
        let stack = self.stack.name.clone();
        let lock_file = self.lock_file.clone();
        let source = Box::new(error);
        let regenerate = format!(
            "run `wildside-tofu providers lock {stack}` and commit `{}`",
            lock_file.display()
        );
        let relock = format!(
            "install providers from where the lock file was made; if this machine's packages are the right ones, delete `{}`, run `wildside-tofu providers lock {stack}` and commit it",
            lock_file.display()
        );
        match conflict {
            LockConflict::PlanDiffers => Error::PlanLockFileDiffers {
                stack,
                lock_file,
                source,
            },
            LockConflict::Unrecorded => Error::LockFileMismatch {
                what: "it does not record every provider and version the configuration needs",
                hint: format!(
                    "{regenerate} (or plan once without `--lockfile readonly`, which records them)"
                ),
                stack,
                lock_file,
                source,
            },
            LockConflict::HashMismatch => Error::LockFileMismatch {
                what: "a provider package matches none of the hashes it records (a package for another platform, or another build of the provider)",
                hint: relock,
                stack,
                lock_file,
                source,
            },
        }
    }

    fn undecryptable(&self, failure: DecryptionFailure, error: EngineError) -> Error {
        let stack = &self.stack.name;
        let workspace = &self.workspace;
        let (with, hint) = match (failure, &self.stack.encryption) {
            (DecryptionFailure::Unencrypted, _) => (
                "because it is stored unencrypted and this stack encrypts its state".to_string(),
                format!(
                    "encrypt it with `wildside-tofu state encrypt {stack} -w {workspace}`, or keep it unencrypted with `[encryption] enabled = false`"
                ),
            ),
            (DecryptionFailure::WrongKey, StateEncryption::Passphrase) => (
                format!(
                    "with the passphrase in ${}",
                    crate::encryption::PASSPHRASE_ENV
                ),
                format!(
                    "the passphrase is not the one the state was written with: export the right one in ${}",
                    crate::encryption::PASSPHRASE_ENV
                ),
            ),
            (DecryptionFailure::WrongKey, StateEncryption::Transit { mount, key }) => (
                format!("with the transit key `{key}` at `{mount}/`"),
                format!(
                    "the key that encrypted it no longer exists, was replaced, or had the version it needs trimmed: restore it from its backup with `bao write {mount}/restore/{key} backup=@{key}.backup` (with `force=true` when a key of that name was made since)"
                ),
            ),
            (DecryptionFailure::WrongKey, StateEncryption::Disabled) => (
                "because it is encrypted and this stack has `[encryption] enabled = false`"
                    .to_string(),
                format!(
                    "remove `enabled = false` to read it, or decrypt it first with `wildside-tofu state decrypt {stack} -w {workspace}`"
                ),
            ),
        };
        Error::Undecryptable {
            stack: stack.clone(),
            workspace: workspace.clone(),
            with,
            hint,
            source: Box::new(error),
        }
    }
}

/// Renders the stack, runs `tofu init` if anything it depends on changed, and makes sure the workspace exists.
pub async fn prepare(
    context: &Context,
    stack_name: &str,
    workspace: &str,
) -> Result<Prepared, Error> {
    prepare_with(context, stack_name, workspace, PrepareOptions::default()).await
}

/// Whether a run needs the stack's secrets: only runs that plan or apply do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Secrets {
    #[default]
    Read,
    Skip,
}

/// How [`prepare_with`] sets a run up.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrepareOptions {
    pub(crate) secrets: Secrets,
    /// Collect all progress in the engine's transcript (parallel runs).
    pub(crate) keep_together: bool,
    /// Root module variables that are not secret (a preview's pull request number, say).
    pub(crate) variables: Vec<(String, String)>,
    /// Skip making sure the workspace exists (the caller has just seen it).
    pub(crate) workspace_known: bool,
    /// Run without the workspace's run lock (the run only lists workspaces or reads).
    pub(crate) shared: bool,
    /// How state is read and written (a migration reads the other form once).
    pub(crate) encryption: Mode,
    /// Whose credentials the run takes: a run that only plans reads the plan secrets, and a transit key only
    /// to decrypt.
    pub(crate) role: CredentialRole,
    /// Check a platform against its DigitalOcean account before anything runs (a run that plans for an
    /// apply).
    pub(crate) check_account: bool,
}

/// [`prepare`] with options.
pub(crate) async fn prepare_with(
    context: &Context,
    stack_name: &str,
    workspace: &str,
    options: PrepareOptions,
) -> Result<Prepared, Error> {
    let mut stack = context.project.load_stack(stack_name)?;
    if context.engine.sandbox.is_some() {
        sandboxed(&mut stack);
    }
    let build_dir = context.project.build_dir(&stack.name);
    let conn_str = backend_secret(&stack.backend)?;
    let mut secret_env: Vec<(String, SecretString)> = conn_str
        .iter()
        .map(|conn| ("PG_CONN_STR".to_string(), conn.clone()))
        .collect();
    // With `--sandbox`, the provider's token is the sandbox's: the real one is neither read nor sent.
    let (to_read, sandbox_tokens): (Vec<_>, Vec<_>) =
        stack.secrets.iter().cloned().partition(|secret| {
            context.engine.sandbox.is_none() || !TOKEN_SECRETS.contains(&secret.variable.as_str())
        });
    if options.secrets == Secrets::Read {
        secret_env.extend(sandbox_tokens.iter().map(|secret| {
            (
                format!("TF_VAR_{}", secret.variable),
                SecretString::from(crate::settings::SANDBOX_TOKEN),
            )
        }));
    }
    let transit = matches!(stack.encryption, StateEncryption::Transit { .. });
    let vault = match &stack.vault {
        Some(settings) if transit || !to_read.is_empty() || !stack.outputs_to_vault.is_empty() => {
            let vault = Vault::connect(settings, &context.project.root).await?;
            if options.secrets == Secrets::Read {
                match read_secrets(&vault, &to_read, options.role).await {
                    Ok(values) => secret_env.extend(values),
                    Err(VaultError::SecretAbsent { variable, source }) => {
                        return Err(missing_secret(&stack, &variable, source));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            Some(vault)
        }
        _ => None,
    };
    let mut local_transit = None;
    let mut key_missing = false;
    let key_source = match (&stack.encryption, &vault) {
        (StateEncryption::Transit { mount, key }, Some(vault)) => {
            // A plan makes no key: its endpoint's data keys live only in this run.
            key_missing = check_key(vault, mount, key).await? == KeyCheck::Missing;
            let data_keys = match options.role {
                CredentialRole::Plan => DataKeys::RunOnly,
                CredentialRole::Apply => DataKeys::FromVault,
            };
            let endpoint = LocalTransit::start(vault, mount, key, data_keys).await?;
            let source = KeySource::Transit {
                address: endpoint.address.clone(),
                mount: mount.clone(),
                key: key.clone(),
                token: endpoint.token.clone(),
            };
            local_transit = Some(endpoint);
            Some(source)
        }
        (StateEncryption::Passphrase, _) => {
            Some(KeySource::passphrase_from_env(&stack.name, workspace)?)
        }
        _ => None,
    };
    let mut plan_key_lender = None;
    let mut saved_plan_env = Vec::new();
    match &key_source {
        Some(source) => secret_env.extend(encryption_env(source, options.encryption)),
        // State is unencrypted by choice; saved plans, which carry the prior state, still are not.
        None => {
            let (env, lender) = plan_encryption_env()?;
            saved_plan_env = env.iter().map(|(name, _)| name.clone()).collect();
            secret_env.extend(env);
            plan_key_lender = lender;
        }
    }
    let backend_label = backend_probe::describe(&stack.backend, conn_str.as_ref());
    // The account check takes the token this run has just read, not a second read of Vault.
    let account_api = options
        .check_account
        .then(|| {
            super::digitalocean_api::from_read(context.engine.sandbox.as_ref(), &stack, &secret_env)
        })
        .flatten();
    let mut tofu = Tofu::new(
        context.engine.clone(),
        build_dir.clone(),
        secret_env,
        context.interrupts.clone(),
        crate::views::stderr_progress,
    );
    tofu.set_saved_plan_env(saved_plan_env);
    if key_missing {
        // Until the stack is known to have no encrypted state, tofu runs without encryption, so an encrypted
        // state fails to read.
        tofu.remove_secret("TF_ENCRYPTION");
    }
    if options.role == CredentialRole::Plan && matches!(stack.backend, Backend::S3 { .. }) {
        // Plans may run with read-only Spaces keys, which cannot write the lock file.
        tofu.plan_without_lock();
    }
    tofu.set_inherit(Inherit {
        backend: match &stack.backend {
            Backend::Local { .. } => BackendCredentials::None,
            Backend::S3 { .. } => BackendCredentials::Aws,
            Backend::Pg { .. } => BackendCredentials::Postgres,
        },
        provider_credentials: true,
        variables: if stack.preview.is_some() {
            &crate::stack::PreviewVariable::NAMES
        } else {
            &[]
        },
    });
    if options.keep_together {
        tofu.keep_together();
    }
    let mut variables = options.variables;
    if stack.platform.is_some()
        && let Some(record) =
            crate::hibernation::Records::new(&context.project.work_dir(), &stack.name)
                .read(workspace)?
    {
        variables.push((
            crate::hibernation::VARIABLE.to_string(),
            crate::hibernation::variable_value(&record),
        ));
    }
    tofu.set_variables(variables);
    let workspace_lock = if options.shared {
        None
    } else {
        Some(lock_workspace(context, &build_dir, &stack.name, workspace).await?)
    };
    let lock_file = Project::lock_file(&stack);
    let mut prepared = Prepared {
        _workspace_lock: workspace_lock,
        _build_lock: None,
        local_transit,
        _plan_key_lender: plan_key_lender,
        vault,
        stack,
        tofu,
        build_dir,
        workspace: workspace.to_string(),
        backend_label,
        conn_str,
        key_source,
        lock_file,
    };
    if options.check_account {
        super::account_check::check(account_api.as_ref(), &prepared.stack).await?;
    }
    prepared._build_lock =
        Some(settle_build_dir(context, &mut prepared, key_missing, options.encryption).await?);
    if options.workspace_known {
        return Ok(prepared);
    }
    if prepared
        .local_transit
        .as_ref()
        .is_some_and(|endpoint| endpoint.data_keys == DataKeys::RunOnly)
        && workspace != "default"
    {
        // A new workspace's empty state would be written with a key of this run only: a plan does not make one.
        match prepared.tofu.workspaces().await {
            Ok(names) if names.iter().any(|name| name == workspace) => {}
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "workspace `{workspace}` of `{}` does not exist, and a plan does not create it\n  hint: plan it after `up` or `preview up` made it",
                    prepared.stack.name
                )));
            }
            Err(error) => return Err(prepared.explain(error).await),
        }
    } else if let Err(error) = prepared.tofu.ensure_workspace(workspace).await {
        return Err(prepared.explain(error).await);
    }
    Ok(prepared)
}

/// Brings the build directory up to date with this run (rendered root, lock file, `tofu init`, a missing
/// transit key) and returns a shared lock on it, held while the run's tofu commands use it.
///
/// Runs that find the directory current only share it, so concurrent runs of one stack (previews) never wait
/// for each other. A run that must change it takes the lock alone, which waits until no other run's tofu
/// command is using it: `tofu init` rewrites `.terraform`, which a plan running beside it would find half
/// written. It then shares the lock again and looks once more, since another run may have changed the
/// directory in between.
async fn settle_build_dir(
    context: &Context,
    prepared: &mut Prepared,
    mut key_missing: bool,
    mode: Mode,
) -> Result<std::fs::File, Error> {
    let backend_file = prepared.build_dir.join("backend.tfbackend");
    loop {
        let shared = lock_build_dir(&prepared.build_dir, LockKind::Shared, context).await?;
        let root = rendered_root(context, prepared)?;
        if !key_missing
            && root.is_written()
            && lock_file_is_in(prepared, context.engine.lockfile)
            && !prepared.tofu.init_needed(&backend_file, &root.module_dirs)
        {
            return Ok(shared);
        }
        drop(shared);
        let exclusive = lock_build_dir(&prepared.build_dir, LockKind::Exclusive, context).await?;
        root.write()?;
        lock_file_in(prepared, context.engine.lockfile)?;
        if prepared.tofu.init_needed(&backend_file, &root.module_dirs) {
            if let Err(reason) =
                backend_probe::probe(&prepared.stack.backend, prepared.conn_str.as_ref()).await
            {
                return Err(Error::BackendUnreachable {
                    backend: prepared.backend_label.clone(),
                    reason,
                });
            }
            prepared.tofu.note(&format!(
                "initialising {} ({} backend)",
                prepared.stack.name,
                prepared.stack.backend.kind()
            ));
            if let Err(error) = prepared.tofu.init(&backend_file, &root.module_dirs).await {
                return Err(prepared.explain(error).await);
            }
        }
        if key_missing {
            missing_key(prepared, mode).await?;
            key_missing = false;
        }
        if context.engine.lockfile == LockfileMode::Update {
            lock_file_out(prepared)?;
        }
        drop(exclusive);
    }
}

/// Creates the missing transit key of a stack that has no encrypted state in any workspace, then gives tofu
/// the stack's encryption again. A stack with encrypted state gets no new key: one made in place of a deleted
/// key would never decrypt it, and the state written with it would hide the loss. A run that only plans makes
/// no key (its data keys are its own) but refuses a state whose key is gone all the same.
async fn missing_key(prepared: &mut Prepared, mode: Mode) -> Result<(), Error> {
    let (Some(vault), StateEncryption::Transit { mount, key }, Some(source)) = (
        &prepared.vault,
        &prepared.stack.encryption,
        &prepared.key_source,
    ) else {
        return Ok(());
    };
    let env = encryption_env(source, mode);
    // Another run of the stack may have made the key since this one looked (a new stack's first runs race).
    if check_key(vault, mount, key).await? != KeyCheck::Missing {
        restore_encryption(prepared, env);
        return Ok(());
    }
    let workspaces = match prepared.tofu.workspaces().await {
        Ok(workspaces) => workspaces,
        Err(error) => return Err(prepared.explain(error).await),
    };
    for workspace in &workspaces {
        // Read without encryption: an encrypted state fails to read, a missing or unencrypted one does not.
        match prepared.tofu.state_pull(workspace).await {
            Ok(_) => {}
            Err(error) if encrypted_state(&error) => {
                // A racing run may have made the key and written with it while this one probed.
                if check_key(vault, mount, key).await? != KeyCheck::Missing {
                    restore_encryption(prepared, env);
                    return Ok(());
                }
                return Err(EncryptionError::KeyGone {
                    address: vault.address.clone(),
                    mount: mount.clone(),
                    key: key.clone(),
                    stack: prepared.stack.name.clone(),
                }
                .into());
            }
            Err(error) => return Err(prepared.explain(error).await),
        }
    }
    let plans_only = prepared
        .local_transit
        .as_ref()
        .is_some_and(|endpoint| endpoint.data_keys == DataKeys::RunOnly);
    if !plans_only {
        create_key(vault, mount, key).await?;
    }
    restore_encryption(prepared, env);
    Ok(())
}

/// Gives tofu the stack's encryption again after a run without it.
fn restore_encryption(prepared: &mut Prepared, env: Vec<(String, SecretString)>) {
    for (name, value) in env {
        prepared.tofu.replace_secret(&name, value);
    }
}

/// Where `--sandbox` runs keep a stack's state, relative to the project: never the stack's own state, so
/// sandbox resources never enter a real one.
fn sandbox_state_dir(stack: &str) -> PathBuf {
    Path::new(".wildside")
        .join("sandbox")
        .join("state")
        .join(stack)
}

/// Keeps a `--sandbox` run's state apart from the stack's real one, saying so: it goes to a local backend of its
/// own, whatever the stack's backend.
fn sandboxed(stack: &mut Stack) {
    let dir = sandbox_state_dir(&stack.name);
    match &stack.backend {
        Backend::Local { .. } => tracing::info!(
            "--sandbox: the state of {} is kept in `{}`, apart from its real state",
            stack.name,
            dir.display()
        ),
        other => tracing::warn!(
            "--sandbox: the {} backend of {} is not used; its sandbox state is kept in `{}`",
            other.kind(),
            stack.name,
            dir.display()
        ),
    }
    stack.backend = Backend::Local { path: Some(dir) };
}

/// A secret Vault does not hold, located at its line in the stack's `[secrets]`.
pub(crate) fn missing_secret(stack: &Stack, variable: &str, source: Box<VaultError>) -> Error {
    let hint = match stack
        .secrets
        .iter()
        .find(|secret| secret.variable == variable)
    {
        Some(secret) => format!(
            "write it into Vault (`bao kv put -mount=secret {} {}=...`), or point this line at where it is",
            secret.path, secret.key
        ),
        None => "point this line at where the secret is".to_string(),
    };
    let place = std::fs::read_to_string(&stack.file)
        .ok()
        .and_then(|text| crate::stack::locate_secret(&stack.file, &text, variable));
    Error::MissingSecret {
        place: place.map_or_else(
            || stack.file.display().to_string(),
            |place| place.to_string(),
        ),
        variable: variable.to_string(),
        hint,
        source,
    }
}

/// Puts the stack's committed lock file into the build directory for init. Without one, `update` lets init
/// select providers afresh (as deleting a root's lock file does) and `readonly` refuses to run.
fn lock_file_in(prepared: &Prepared, mode: LockfileMode) -> Result<(), Error> {
    let in_build = prepared.build_dir.join(LOCK_FILE);
    match std::fs::read_to_string(&prepared.lock_file) {
        Ok(text) => write_if_changed(&in_build, &text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => match mode {
            LockfileMode::Readonly => Err(Error::LockFileMissing {
                stack: prepared.stack.name.clone(),
                lock_file: prepared.lock_file.clone(),
            }),
            LockfileMode::Update => match std::fs::remove_file(&in_build) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(Error::io(
                    format!("removing `{}`", in_build.display()),
                    error,
                )),
                _ => Ok(()),
            },
        },
        Err(error) => Err(Error::io(
            format!("reading `{}`", prepared.lock_file.display()),
            error,
        )),
    }
}

/// Whether the build directory's lock file is the stack's, and (when it updates lock files) the stack's is the
/// build directory's: [`lock_file_in`] and [`lock_file_out`] would change nothing.
fn lock_file_is_in(prepared: &Prepared, mode: LockfileMode) -> bool {
    let committed = std::fs::read_to_string(&prepared.lock_file).ok();
    let in_build = std::fs::read_to_string(prepared.build_dir.join(LOCK_FILE)).ok();
    match (committed, mode) {
        (Some(committed), _) => in_build.as_deref() == Some(committed.as_str()),
        (None, LockfileMode::Readonly) => false,
        (None, LockfileMode::Update) => in_build.is_none(),
    }
}

/// Copies the lock file init created or updated back beside the stack file, to be committed.
pub(crate) fn lock_file_out(prepared: &Prepared) -> Result<(), Error> {
    let in_build = prepared.build_dir.join(LOCK_FILE);
    match std::fs::read_to_string(&in_build) {
        Ok(text) => write_if_changed(&prepared.lock_file, &text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Error::io(
            format!("reading `{}`", in_build.display()),
            error,
        )),
    }
}

/// The rendered root and backend configuration of a run, and the project module directories the root calls.
struct RenderedRoot {
    files: Vec<(PathBuf, String)>,
    module_dirs: Vec<PathBuf>,
}

impl RenderedRoot {
    /// Whether every file is on disk as rendered.
    fn is_written(&self) -> bool {
        self.files
            .iter()
            .all(|(path, text)| std::fs::read_to_string(path).ok().as_deref() == Some(text))
    }

    /// Writes the files whose content changed.
    fn write(&self) -> Result<(), Error> {
        self.files
            .iter()
            .try_for_each(|(path, text)| write_if_changed(path, text))
    }
}

fn rendered_root(context: &Context, prepared: &Prepared) -> Result<RenderedRoot, Error> {
    let stack = &prepared.stack;
    let modules = context.project.prepare_modules(stack)?;
    let root = render_root(stack, &prepared.build_dir, &modules);
    let mut files: Vec<(PathBuf, String)> = root
        .files
        .into_iter()
        .map(|(name, text)| (prepared.build_dir.join(name), text))
        .collect();
    files.push((
        prepared.build_dir.join("backend.tfbackend"),
        backend_config(
            &stack.backend,
            &prepared.build_dir,
            &context.project.state_dir(stack),
        ),
    ));
    let module_dirs = stack
        .modules
        .iter()
        .filter_map(|module| match &module.source {
            ModuleSource::Project(name) => Some(modules.dir(name)),
            ModuleSource::External(_) => None,
        })
        .chain(
            stack
                .platform
                .iter()
                .flat_map(|platform| platform.calls())
                .map(|call| modules.dir(call.module)),
        )
        .collect();
    Ok(RenderedRoot { files, module_dirs })
}

/// Writes through a temporary file and a rename, so a concurrent reader never sees half a file.
pub fn write_if_changed(path: &Path, text: &str) -> Result<(), Error> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|error| Error::io(format!("creating `{}`", dir.display()), error))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|error| Error::io("creating a temporary file", error))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|error| Error::io(format!("writing `{}`", path.display()), error))?;
    file.persist(path)
        .map_err(|error| Error::io(format!("writing `{}`", path.display()), error.error))?;
    Ok(())
}

/// How a run holds the build directory: shared while its tofu commands use it, alone while it changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockKind {
    Shared,
    Exclusive,
}

/// Locks the stack's build directory, which concurrent runs of the stack share (see [`settle_build_dir`]).
/// The wait never blocks the runtime, so Ctrl-C ends it (exit 130) like any other wait.
async fn lock_build_dir(
    build_dir: &Path,
    kind: LockKind,
    context: &Context,
) -> Result<std::fs::File, Error> {
    let path = build_dir.join(".wildside.lock");
    match wait_for_lock(
        &path,
        kind,
        None,
        context.interrupts.clone(),
        "waiting for another run on the same stack",
    )
    .await?
    {
        Some(file) => Ok(file),
        None => unreachable!("a wait without a deadline ends with the lock"),
    }
}

/// Serialises runs of this project on one workspace of a stack, for as long as the run lasts. tofu's own state
/// lock does the same across machines; here, the loser of a race waits for the winner (up to the lock
/// timeout) and then plans against its result, instead of failing on a half-written lock of the local backend.
async fn lock_workspace(
    context: &Context,
    build_dir: &Path,
    stack: &str,
    workspace: &str,
) -> Result<std::fs::File, Error> {
    let path = build_dir.join(format!(".workspace-{workspace}.lock"));
    let timeout = crate::duration::parse(&context.engine.lock_timeout)
        .unwrap_or(std::time::Duration::from_secs(60));
    let deadline = std::time::Instant::now() + timeout;
    match wait_for_lock(
        &path,
        LockKind::Exclusive,
        Some(deadline),
        context.interrupts.clone(),
        "waiting for another run on the same workspace",
    )
    .await?
    {
        Some(file) => {
            use std::os::unix::fs::FileExt;
            let holder = format!(
                "pid {} since {}",
                std::process::id(),
                jiff::Timestamp::now()
                    .round(jiff::Unit::Second)
                    .unwrap_or_else(|_| jiff::Timestamp::now())
            );
            // Written over the last holder at a fixed width, so the file never shrinks: truncating it would cost
            // every run a journalled size change.
            let _ = file.write_all_at(format!("{holder:<HOLDER_WIDTH$}\n").as_bytes(), 0);
            Ok(file)
        }
        None => Err(Error::WorkspaceBusy {
            stack: stack.to_string(),
            workspace: workspace.to_string(),
            holder: std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string(),
            waited: context.engine.lock_timeout.clone(),
        }),
    }
}

/// The width of the record a workspace lock file holds: wider than any `pid … since …` line.
const HOLDER_WIDTH: usize = 63;

/// Takes a lock of `kind` on `path`, waiting until `deadline` (`None` when the deadline passed first), or
/// forever without one. Ctrl-C ends the wait.
async fn wait_for_lock(
    path: &Path,
    kind: LockKind,
    deadline: Option<std::time::Instant>,
    mut interrupts: Interrupts,
    during: &'static str,
) -> Result<Option<std::fs::File>, Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| Error::io(format!("creating `{}`", dir.display()), error))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|error| Error::io(format!("opening the lock `{}`", path.display()), error))?;
    let mut told = false;
    loop {
        if interrupts.received() > 0 {
            return Err(Error::Interrupted { during });
        }
        let locked = match kind {
            LockKind::Shared => file.try_lock_shared(),
            LockKind::Exclusive => file.try_lock(),
        };
        match locked {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(Error::io(format!("locking `{}`", path.display()), error));
            }
        }
        if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
            return Ok(None);
        }
        if !told {
            tracing::info!("{during} (`{}`)", path.display());
            told = true;
        }
        tokio::select! {
            _ = interrupts.next() => {}
            () = tokio::time::sleep(LOCK_POLL) => {}
        }
    }
}

/// How often a run waiting for the build-directory lock tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// The PostgreSQL connection string, read from the variable the stack names; never written anywhere.
fn backend_secret(backend: &Backend) -> Result<Option<SecretString>, Error> {
    let Backend::Pg { conn_str_env, .. } = backend else {
        return Ok(None);
    };
    match std::env::var(conn_str_env) {
        Ok(value) if !value.is_empty() => Ok(Some(SecretString::from(value))),
        _ => Err(Error::MissingConnection {
            variable: conn_str_env.clone(),
        }),
    }
}

/// Where this run reads droplet and node prices: the sandbox it points tofu at, or DigitalOcean's API.
pub(crate) fn size_source(context: &Context) -> Result<crate::cost::SizeSource, Error> {
    let now = crate::preview::Clock::from_env()?;
    let today = crate::policy::utc_date(now.now()).to_string();
    Ok(crate::cost::SizeSource::for_run(
        context.engine.sandbox.as_ref(),
        context.project.work_dir().join("cache"),
        today,
    ))
}

/// A fresh plan file path under the build directory for this run; its directory exists.
pub(crate) fn run_plan_file(build_dir: &Path, workspace: &str) -> Result<PathBuf, Error> {
    let dir = build_dir.join("plans");
    std::fs::create_dir_all(&dir)
        .map_err(|error| Error::io(format!("creating `{}`", dir.display()), error))?;
    Ok(dir.join(format!("{workspace}.{}.tfplan", std::process::id())))
}
