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
