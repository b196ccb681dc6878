//! State and plan encryption at rest, through OpenTofu's own encryption (`TF_ENCRYPTION`).
//!
//! The configuration goes into tofu's environment, never into the rendered root, so rendered files stay free
//! of secrets and byte-stable. Keys come from the stack's Vault transit engine (`key_provider "openbao"`, with
//! the token passed to the child only, as `BAO_TOKEN`) or from a passphrase in `$WILDSIDE_STATE_PASSPHRASE`
//! (`key_provider "pbkdf2"`). Migrations (`state encrypt`, `state decrypt`, `state rotate-key`) use the same
//! configuration with a `fallback` method, so the old form can be read once and the new one is written.

mod config;
mod error;
mod transit;

pub use config::{EncryptionEnv, KeySource, Mode, PASSPHRASE_ENV, encryption_env};
pub use error::EncryptionError;
pub use transit::{KeyCheck, ensure_key, rotate_key};
