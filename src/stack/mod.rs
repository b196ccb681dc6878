//! Stack files: the typed, validated description of one environment.
//!
//! A stack file (`stacks/<name>.toml`) names a state backend, the module instances the root module is composed
//! of, and which module outputs become stack outputs. Loading never panics on user input: every problem becomes
//! a [`StackError`] naming the file, line and column, and what would fix it. This module imports nothing else
//! from the crate, so the model can be reasoned about (and tested) on its own.

mod account;
mod choices;
mod encryption;
mod error;
mod gitops;
mod load;
mod model;
mod module_inputs;
mod normal_form;
mod platform;
mod platform_calls;
mod policy;
mod preview;
mod schema;
mod suggest;
pub use suggest::closest;
mod validate;
mod vault;

pub use account::{Account, AccountVpc, check_against_account};
pub use choices::{Distribution, TaintEffect, Weekday};
pub use error::{StackError, StackErrors};
pub use gitops::{
    AppsSettings, CertManager, ChartPin, DnsProvider, ExternalDns, FLUX_VERSION, GitRemote,
    GitopsSettings, GitopsVault, PostgresPlacement, PreviewDatabase, ValueSource, is_dns_label,
};
pub use load::{SourcePlace, load_stack, locate_secret, parse_stack};
pub use model::{
    Backend, Budget, Credential, CredentialRole, IdleAction, InputValue, ModuleInstance,
    ModuleSource, PolicyException, PolicySettings, PreviewKind, PreviewRanges, PreviewSettings,
    PreviewVariable, PreviewVpc, SecretInState, SecretInput, SecretSource, Stack, StackOutput,
    StateEncryption, VaultAuth, VaultOutput, VaultSettings,
};
pub use module_inputs::{ModuleVariables, check_module_inputs};
pub use platform::{
    Cluster, NodePool, OPENBAO_VERSION, Platform, Scaling, Taint, VaultAppliance, Vpc, is_sha256,
};
pub use platform_calls::{CLUSTER, PlatformCall, VAULT_APPLIANCE, VPC};
pub use policy::BUILTIN_RULES;
pub use preview::{LARGEST_PULL_REQUEST, PREVIEW_NAME_SUFFIX};
pub use schema::stack_schema;
