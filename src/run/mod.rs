//! What the subcommands share: the question before a change (`approval`), the context of a run and preparing a stack's root module (`context`), the
//! policy and budget gate every applied plan passes (`gate`), the encryption of saved plans
//! (`plan_encryption`), choosing the stacks of a multi-stack command (`stack_selection`), and pushing a
//! stack's outputs to Vault after an apply (`vault_outputs`).

pub mod approval;
pub(crate) mod context;
pub(crate) mod gate;
pub(crate) mod plan_encryption;
pub(crate) mod stack_selection;
pub(crate) mod vault_outputs;
