//! State and plan encryption at rest, through OpenTofu's own encryption (`TF_ENCRYPTION`).
//!
//! The configuration goes into tofu's environment, never into the rendered root, so rendered files stay free
//! of secrets and byte-stable. Keys come from the stack's Vault transit engine (`key_provider "openbao"`, pointed
//! at the run's own endpoint, see `vault::local_transit`, so tofu never gets the Vault token) or from a passphrase in `$WILDSIDE_STATE_PASSPHRASE`
//! (`key_provider "external"`, `wildside-tofu state-key --derived`, which gets a key this run derived from it
//! once: see `lender` and `derivation`). Migrations (`state encrypt`, `state decrypt`, `state rotate-key`) use the same
//! configuration with a `fallback` method, so the old form can be read once and the new one is written. A
//! saved plan of a stack whose state is not encrypted gets a one-time key (`one_time_key`).

mod config;
mod derivation;
mod error;
mod lender;
mod one_time_key;
mod transit;

pub use config::{KeySource, Mode, PASSPHRASE_ENV, encryption_env};
pub use error::EncryptionError;
pub use lender::{
    DERIVED_FLAG, Lender, SOCKET_ENV, STATE_KEY_COMMAND, StateKeyError, TOKEN_ENV, borrow,
    borrow_key, serve_key, serve_passphrase,
};
pub use one_time_key::{KEY_PROVIDER_COMMAND, ONE_TIME_KEY_ENV, OneTimeKeyError, new_key, serve};
pub(crate) use transit::create_backed_up_key;
pub use transit::{KeyCheck, check_key, create_key, rotate_key};
