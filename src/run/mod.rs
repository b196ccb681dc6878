//! What the subcommands share: a platform checked against its DigitalOcean account (`account_check`, through
//! `digitalocean_api`), the question before a change (`approval`), the context of a run and preparing a stack's root module (`context`), whether `up` may
//! expect no changes (`convergence`), the
//! policy and budget gate every applied plan passes (`gate`), the encryption of saved plans
//! (`plan_encryption`), choosing the stacks of a multi-stack command (`stack_selection`), and pushing a
//! stack's outputs to Vault after an apply (`vault_outputs`).

pub(crate) mod account_check;
pub mod approval;
pub(crate) mod context;
pub(crate) mod convergence;
pub(crate) mod digitalocean_api;
pub(crate) mod gate;
pub(crate) mod plan_encryption;
pub(crate) mod stack_selection;
pub(crate) mod vault_outputs;
