//! Vault (or OpenBao): secrets in, outputs out, and bootstrapping a fresh server.
//!
//! Secrets are read from KV version 2 into `SecretString`s and reach tofu only as `TF_VAR_*` in the child's
//! environment. Outputs are written back with check-and-set and custom metadata after a successful apply.
//! Every client setting is explicit (vaultrs would otherwise read `VAULT_*` variables silently), and errors
//! name the address and the path that failed.

mod attestation;
mod bootstrap;
mod capabilities;
mod client;
mod error;
mod local_transit;
mod outputs;
mod seal;
mod secrets;

pub use attestation::{ATTESTATION_PREFIX, AttestationError, attest, fetch_ca};
pub use bootstrap::{BootstrapOptions, BootstrapReport, RoleReport, StackScope, bootstrap};
pub use capabilities::Need;
pub use client::Vault;
pub use error::VaultError;
pub(crate) use error::http_status;
pub use local_transit::{DataKeys, LocalTransit};
pub use outputs::{
    OutputWrite, OutputsPush, PushMetadata, delete_outputs, push_outputs, read_output, write_output,
};
pub use seal::probe;
pub use secrets::read_secrets;
