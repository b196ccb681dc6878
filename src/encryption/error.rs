//! Encryption errors: each says what is missing and how to provide it; none leaves anything overwritten.

use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    #[error(
        "the state of {stack} is encrypted with a passphrase from ${env}, which is not set\n  hint: export {env}=<at least 16 characters> and keep it with your backups (losing it loses the state), or add [vault] to use a transit key, or opt out with `[encryption] enabled = false` in stacks/{stack}.toml"
    )]
    MissingPassphrase { stack: String, env: &'static str },
    #[error(
        "${env} must be at least 16 characters (OpenTofu's PBKDF2 key provider refuses shorter ones)"
    )]
    ShortPassphrase { env: &'static str },
    #[error(
        "Vault at {address} has no transit engine at `{mount}/`\n  hint: run `wildside-tofu vault bootstrap`, or `bao secrets enable -path={mount} transit`"
    )]
    TransitNotEnabled { address: String, mount: String },
    #[error(
        "Vault at {address} has no transit key `{key}` at `{mount}/`, and this token may not create it\n  hint: run `wildside-tofu vault bootstrap` with an admin token, or `bao write -f {mount}/keys/{key}`; if the state was encrypted with a key that was deleted, restore the key from its backup (`bao write {mount}/restore/{key}`)"
    )]
    MissingKey {
        address: String,
        mount: String,
        key: String,
    },
    #[error(
        "Vault at {address} has no transit key `{key}` at `{mount}/`, and stack `{stack}` has state encrypted with a key of that name: a new key would never decrypt it, so none is made\n  hint: restore the key from its backup with `bao write {mount}/restore/{key} backup=@{key}.backup` (the file `bao read -field=backup {mount}/backup/{key}` wrote), then run the command again"
    )]
    KeyGone {
        address: String,
        mount: String,
        key: String,
        stack: String,
    },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}
