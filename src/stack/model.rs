//! The validated stack model that the rest of the tool consumes.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One environment: a backend, module instances and the outputs it exposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// The stack's name, taken from its file name (`stacks/<name>.toml`).
    pub name: String,
    pub file: PathBuf,
    pub backend: Backend,
    pub modules: Vec<ModuleInstance>,
    pub outputs: Vec<StackOutput>,
    /// The Vault (or OpenBao) server secrets come from and outputs go to.
    pub vault: Option<VaultSettings>,
    /// Tofu variables filled from Vault at run time; declared `sensitive` in the generated root.
    pub secrets: Vec<SecretInput>,
    /// Stack outputs written to Vault after a successful apply.
    pub outputs_to_vault: Vec<VaultOutput>,
    /// Set for preview stacks: instantiated once per pull request, in workspace `pr-<n>`.
    pub preview: Option<PreviewSettings>,
    /// The DigitalOcean platform (VPC, cluster, node pools, Vault appliance), if the stack describes one.
    pub platform: Option<super::platform::Platform>,
    /// How the stack's state and saved plans are encrypted at rest.
    pub encryption: StateEncryption,
    /// Built-in policy rules switched off, their settings, and exceptions.
    pub policy: PolicySettings,
    /// The monthly ceiling a plan may not exceed.
    pub budget: Option<Budget>,
    /// The repositories Flux reconciles the cluster from, and what is rendered into them.
    pub gitops: Option<super::gitops::GitopsSettings>,
}

impl Stack {
    /// Whether pull-request code may plan this stack: as its `[vault] pull_request_plans` says, or, for a
    /// stack without `[vault]`, unless it is marked production.
    pub fn pull_request_may_plan(&self) -> bool {
        match &self.vault {
            Some(vault) => vault.pull_request_plans,
            None => !self.policy.production,
        }
    }

    /// The ranges the previews' own VPCs are carved from, for a platform preview stack with `vpc = "per_pr"`.
    pub fn preview_ranges(&self) -> Option<PreviewRanges> {
        let preview = self.preview.as_ref()?;
        let platform = self.platform.as_ref()?;
        if preview.vpc != PreviewVpc::PerPullRequest {
            return None;
        }
        let cidr = &platform.vpc.cidr;
        let prefix = cidr
            .split_once('/')
            .and_then(|(_, prefix)| prefix.parse::<u32>().ok())
            .unwrap_or(16);
        let target = (prefix + 8).clamp(20, 28).max(prefix);
        Some(PreviewRanges {
            cidr: cidr.clone(),
            bits: target - prefix,
        })
    }

    /// The secrets that module inputs take, as `(secret variable, module, input)`. Only provider
    /// configurations, write-only arguments and variables declared ephemeral may take an ephemeral value
    /// (OpenTofu refuses others with "Variable does not allow ephemeral value"), and a module input may reach
    /// any argument, so these secrets cannot be ephemeral: tofu keeps them in state and saved plans, which are
    /// encrypted. Every other secret is declared ephemeral and kept out of both.
    pub fn secrets_kept_in_state(&self) -> Vec<SecretInState> {
        let mut kept: Vec<SecretInState> = self
            .modules
            .iter()
            .flat_map(|module| {
                module
                    .secret_inputs
                    .iter()
                    .map(|(input, variable)| SecretInState {
                        secret: variable.clone(),
                        module: module.name.clone(),
                        input: input.clone(),
                    })
            })
            .collect();
        kept.sort();
        kept
    }
}

/// A secret that a module input takes, so that its value is kept in state (see
/// [`Stack::secrets_kept_in_state`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SecretInState {
    /// The root variable the secret reaches tofu as.
    pub secret: String,
    pub module: String,
    pub input: String,
}

/// The sentence the human summary and the PR comment say of such a secret: its name, the
/// module input, and that tofu keeps its value in state and saved plans. Never the value.
impl std::fmt::Display for SecretInState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "secret `{}` reaches module input `{}.{}`, which is not write-only: tofu keeps its value in state and saved plans",
            self.secret, self.module, self.input
        )
    }
}

/// The `[policy]` section: how the built-in rules judge this stack.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySettings {
    /// Production stacks need a highly available control plane.
    pub production: bool,
    /// Built-in rules switched off for this stack.
    pub disabled: Vec<String>,
    /// Tags every taggable resource must carry.
    pub required_tags: Vec<String>,
    /// The most nodes a node pool may have (or scale to).
    pub max_node_count: u32,
    /// The most vCPUs a droplet or node size may have.
    pub max_size_vcpus: u32,
    pub exceptions: Vec<PolicyException>,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            production: false,
            disabled: Vec::new(),
            required_tags: Vec::new(),
            max_node_count: 20,
            max_size_vcpus: 16,
            exceptions: Vec::new(),
        }
    }
}

/// A resource allowed to break a rule until a date; after it, the exception fails the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyException {
    /// A built-in rule's name, or the package of a project policy (`main`).
    pub rule: String,
    /// The resource address, as in the plan (`module.vault_appliance.digitalocean_firewall.vault`).
    pub address: String,
    pub reason: String,
    /// The last day the exception holds.
    pub expires: jiff::civil::Date,
}

/// The `[budget]` section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub monthly_usd: f64,
}

/// How OpenTofu encrypts a stack's state and saved plans. The default is always to encrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateEncryption {
    /// A data key per write from the transit engine at `mount` of the stack's Vault, wrapped by the key `key`.
    Transit { mount: String, key: String },
    /// A key derived with PBKDF2 from a passphrase in the environment (stacks without `[vault]`).
    Passphrase,
    /// `[encryption] enabled = false`: state is stored in plain JSON, and every summary says so.
    Disabled,
}

impl StateEncryption {
    /// A short description for summaries and `doctor`.
    pub fn describe(&self) -> String {
        match self {
            Self::Transit { mount, key } => {
                format!("encrypted (transit key `{key}` at `{mount}/`)")
            }
            Self::Passphrase => "encrypted (passphrase, PBKDF2)".to_string(),
            Self::Disabled => "UNENCRYPTED ([encryption] enabled = false)".to_string(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self, Self::Disabled)
    }
}

/// Where a stack keeps its state. Credentials never appear here: they come from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// State files on this machine; `path` overrides the per-stack default directory.
    Local { path: Option<PathBuf> },
    /// An S3-compatible bucket such as DigitalOcean Spaces; one key per stack.
    S3 {
        bucket: String,
        key: String,
        region: String,
        endpoint: Option<String>,
        workspace_key_prefix: String,
        use_lockfile: bool,
        use_path_style: bool,
    },
    /// PostgreSQL; the connection string is read from the environment variable `conn_str_env`.
    Pg {
        conn_str_env: String,
        schema: String,
    },
}

impl Backend {
    /// The backend's name as OpenTofu spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Local { .. } => "local",
            Backend::S3 { .. } => "s3",
            Backend::Pg { .. } => "pg",
        }
    }
}

/// One call of a module in the generated root module.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleInstance {
    pub name: String,
    pub source: ModuleSource,
    pub inputs: BTreeMap<String, InputValue>,
    /// Module inputs wired to secret variables: input name → secret name (a key of `[secrets]`).
    pub secret_inputs: BTreeMap<String, String>,
    /// Module inputs wired to a preview's variables (pull request number, commit, expiry, workspace).
    pub preview_inputs: BTreeMap<String, PreviewVariable>,
}

/// Where a module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// A directory of the project's `modules/`.
    Project(String),
    /// Any other source OpenTofu accepts (registry address, git URL, relative path), passed through as is.
    External(String),
}

/// A literal module input.
#[derive(Debug, Clone, PartialEq)]
pub enum InputValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    List(Vec<InputValue>),
    Map(BTreeMap<String, InputValue>),
}

/// A module output re-exported as a stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    pub name: String,
    pub module: String,
    pub output: String,
    pub sensitive: bool,
}

/// How to reach Vault. Credentials are never here, only where to find them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSettings {
    pub address: String,
    pub ca_cert: Option<PathBuf>,
    pub namespace: Option<String>,
    /// The KV version 2 mount.
    pub mount: String,
    /// Outputs go under `<path_prefix>/<stack>/<workspace>/`.
    pub path_prefix: String,
    pub auth: VaultAuth,
    /// Whether plans of pull requests may plan this stack: the plan role may then decrypt its state. A stack
    /// marked `[policy] production` is planned only from trusted refs, by the apply role, unless it says
    /// otherwise (`[vault] pull_request_plans`).
    pub pull_request_plans: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultAuth {
    /// A token from the environment variable `token_env`.
    Token { token_env: String },
    /// AppRole login at `mount` with a role id and secret id from the environment or files.
    AppRole {
        mount: String,
        role_id: Credential,
        secret_id: Credential,
    },
}

/// Where a credential is read from at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Env(String),
    File(PathBuf),
}

/// A tofu variable whose value is read from a KV v2 secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInput {
    pub variable: String,
    /// The secret's path under the KV mount (the one runs that apply read).
    pub path: String,
    pub key: String,
    /// The secret runs that only plan read instead (a read-scoped token, read-only keys); `None` when plans
    /// read the same one.
    pub plan: Option<SecretSource>,
}

impl SecretInput {
    /// The path and key that a run of `role` reads.
    pub fn source(&self, role: CredentialRole) -> (&str, &str) {
        match (&self.plan, role) {
            (Some(plan), CredentialRole::Plan) => (&plan.path, &plan.key),
            _ => (&self.path, &self.key),
        }
    }
}

/// A KV v2 secret and the key inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSource {
    pub path: String,
    pub key: String,
}

/// Which credentials a run takes: the command decides. `plan`, `drift`, `cost` and the CI plans only plan,
/// with the read credentials; `up`, `apply`, `down` and `preview` change things, with the write ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialRole {
    Plan,
    #[default]
    Apply,
}

/// A stack output written to Vault, at `<path_prefix>/<stack>/<workspace>/<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultOutput {
    pub output: String,
    pub path: String,
}

/// How previews of a stack are kept in check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewSettings {
    /// Previews that may exist at once; a new pull request beyond this is refused.
    pub max_concurrent: u32,
    /// Previews that may be pinned at once.
    pub max_pins: u32,
    /// How long a preview lives after its last update unless pinned.
    pub ttl_seconds: u64,
    /// The longest pin.
    pub max_pin_seconds: u64,
    /// The preview's address, with `{pr}` standing for the pull request number.
    pub url: Option<String>,
    /// Where a platform preview's cluster lives.
    pub vpc: PreviewVpc,
    /// What `preview gc` does with an expired, unpinned preview of an open pull request.
    pub idle: IdleAction,
    /// How long a record without a workspace is left alone before `preview gc` takes it for an orphan:
    /// `preview up` writes the record first and creates the workspace after.
    pub orphan_grace: jiff::SignedDuration,
    /// What a preview is: a platform of its own, or a namespace in a shared cluster.
    pub kind: PreviewKind,
}

/// What each pull request's preview is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewKind {
    /// The stack's modules or platform, applied in workspace `pr-<n>`.
    #[default]
    Platform,
    /// An overlay in the application repository: a namespace `<project>-pr-<n>` in a shared cluster.
    Namespace,
}

/// The part of `[vpc] cidr` each pull request's own VPC gets (a platform preview stack with `vpc = "per_pr"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRanges {
    pub cidr: String,
    /// How many bits longer each preview's range is than `cidr`: eight, kept within /20 to /28.
    pub bits: u32,
}

impl PreviewRanges {
    /// How many previews' ranges fit side by side.
    pub fn slots(&self) -> u32 {
        1 << self.bits
    }
}

/// The VPC of a platform preview's cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreviewVpc {
    /// Each pull request gets its own VPC, its range carved from `[vpc] cidr` by the pull request number.
    #[default]
    PerPullRequest,
    /// Every preview joins the existing VPC named by `[vpc] name` (another stack's, such as the platform's).
    Shared,
}

/// What becomes of an idle preview (expired, unpinned, its pull request still open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdleAction {
    #[default]
    Destroy,
    /// Keep it, hibernated: the cluster stays, its node pools go to their floor.
    Hibernate,
}

/// A per-preview value a module input can be wired to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewVariable {
    PrNumber,
    CommitSha,
    ExpiresAt,
    Workspace,
}

impl PreviewVariable {
    pub const ALL: [(&'static str, PreviewVariable); 4] = [
        ("pr_number", PreviewVariable::PrNumber),
        ("commit_sha", PreviewVariable::CommitSha),
        ("expires_at", PreviewVariable::ExpiresAt),
        ("workspace", PreviewVariable::Workspace),
    ];

    /// The variables' names, as the generated root declares them.
    pub const NAMES: [&'static str; 4] = {
        let mut names = [""; 4];
        let mut index = 0;
        while index < names.len() {
            names[index] = Self::ALL[index].0;
            index += 1;
        }
        names
    };

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, variable)| *variable == self)
            .map_or("", |(name, _)| name)
    }
}
