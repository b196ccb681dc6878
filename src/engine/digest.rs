//! Keyed digests of planned values, for reports and artifacts.
//!
//! A plan report names each change with a digest of its values, so that `apply --expect-report` can tell a
//! change with other values apart without the values, which may be sensitive, leaving the plan. A bare
//! SHA-256 of a guessable value (a short password, a port, a size) is reversed by hashing guesses; an
//! HMAC-SHA256 under a key of the project's is not, without the key.
//!
//! The key, in this order:
//! - `$WILDSIDE_DIGEST_KEY`, for CI: the plan job and the apply job each make digests, and must share the key.
//! - Derived from `$WILDSIDE_PLAN_PASSPHRASE` (HMAC-SHA256 under a fixed label, so the digest key reveals
//!   nothing of the passphrase): the jobs that hand saved plans to each other already share it.
//! - `.wildside/digest.key`: 32 random bytes made once for this checkout, mode 0600, so that plans and
//!   applies on one machine agree. A file that is not a key is refused, never replaced.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The environment variable holding the digest key (CI).
pub const DIGEST_KEY_ENV: &str = "WILDSIDE_DIGEST_KEY";

/// The plan passphrase the key is derived from when [`DIGEST_KEY_ENV`] is not set.
const PLAN_PASSPHRASE_ENV: &str = "WILDSIDE_PLAN_PASSPHRASE";

/// The file under the project's work directory holding a generated key.
pub const DIGEST_KEY_FILE: &str = "digest.key";

/// The shortest key accepted from the environment.
const MIN_ENV_KEY: usize = 16;

/// Why no digest key could be had.
#[derive(Debug, thiserror::Error)]
pub enum DigestKeyError {
    #[error(
        "${DIGEST_KEY_ENV} must be at least {MIN_ENV_KEY} characters\n  hint: generate one with `openssl rand -hex 32` and give the same value to every job that plans or applies"
    )]
    Short,
    #[error(
        "`{}` is not a digest key (64 hex digits expected); it is left as it is\n  hint: delete it to have a new key made (reports made with the old key will no longer match), or set ${DIGEST_KEY_ENV}",
        path.display()
    )]
    Malformed { path: PathBuf },
    #[error("{context} `{}`: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The key digests are made with. Its `Debug` never shows it.
#[derive(Clone)]
pub struct DigestKey(Hmac<Sha256>);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey([redacted])")
    }
}

impl DigestKey {
    /// A key from raw key material.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Hmac::<Sha256>::new_from_slice(bytes).expect("HMAC takes keys of any length"))
    }

    /// The key of the project whose work directory is `work_dir` (see the module documentation).
    pub fn resolve(work_dir: &Path) -> Result<Self, DigestKeyError> {
        if let Some(value) = std::env::var_os(DIGEST_KEY_ENV).filter(|value| !value.is_empty()) {
            let value = value.as_encoded_bytes();
            if value.len() < MIN_ENV_KEY {
                return Err(DigestKeyError::Short);
            }
            return Ok(Self::derived(value, b"wildside-tofu digest key"));
        }
        if let Some(value) = std::env::var_os(PLAN_PASSPHRASE_ENV).filter(|value| !value.is_empty())
        {
            return Ok(Self::derived(
                value.as_encoded_bytes(),
                b"wildside-tofu digest key from the plan passphrase",
            ));
        }
        Self::from_file(&work_dir.join(DIGEST_KEY_FILE))
    }

    fn derived(secret: &[u8], label: &[u8]) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(label);
        Self::from_bytes(&mac.finalize().into_bytes())
    }

    /// Reads the key file, or makes it when there is none. Two processes making it at once agree: the file is
    /// created only where none exists, and the loser reads the winner's.
    fn from_file(path: &Path) -> Result<Self, DigestKeyError> {
        let io = |context, source| DigestKeyError::Io {
            context,
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(path, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io("reading the digest key", error)),
        }
        let mut bytes = [0u8; 32];
        {
            use rand::TryRngCore;
            rand::rngs::OsRng
                .try_fill_bytes(&mut bytes)
                .map_err(|error| {
                    io(
                        "reading the system's random source for",
                        std::io::Error::other(error),
                    )
                })?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|error| io("creating the directory of", error))?;
        // NamedTempFile creates its file with mode 0600.
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .map_err(|error| io("creating a temporary file for", error))?;
        std::io::Write::write_all(&mut file, hex::encode(bytes).as_bytes())
            .map_err(|error| io("writing", error))?;
        file.as_file()
            .sync_all()
            .map_err(|error| io("syncing", error))?;
        match file.persist_noclobber(path) {
            Ok(_) => Ok(Self::from_bytes(&bytes)),
            Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path)
                    .map_err(|error| io("reading the digest key", error))?;
                Self::parse(path, &text)
            }
            Err(error) => Err(io("writing the digest key", error.error)),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, DigestKeyError> {
        match hex::decode(text.trim()) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self::from_bytes(&bytes)),
            _ => Err(DigestKeyError::Malformed {
                path: path.to_path_buf(),
            }),
        }
    }

    /// A name for this key that reveals nothing of it (a digest of a fixed text under it), so that a report
    /// made with another key is told apart from one with other values.
    pub fn id(&self) -> String {
        self.digest(b"wildside-tofu digest key id")
    }

    /// The HMAC-SHA256 of `bytes` under this key, in lowercase hex.
    pub fn digest(&self, bytes: &[u8]) -> String {
        let mut mac = self.0.clone();
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    use super::*;

    #[test]
    fn a_digest_is_keyed_and_not_the_bare_sha256() {
        let value = b"hunter2";
        let key = DigestKey::from_bytes(&[7; 32]);
        let digest = key.digest(value);
        assert_ne!(digest, hex::encode(sha2::Sha256::digest(value)));
        assert_eq!(digest, key.clone().digest(value));
        assert_ne!(digest, DigestKey::from_bytes(&[8; 32]).digest(value));
        assert_eq!(format!("{key:?}"), "DigestKey([redacted])");
    }

    #[test]
    fn the_key_file_is_made_once_private_and_never_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DIGEST_KEY_FILE);
        let first = DigestKey::from_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = DigestKey::from_file(&path).unwrap();
        assert_eq!(first.digest(b"x"), again.digest(b"x"));
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            DigestKey::from_file(&path),
            Err(DigestKeyError::Malformed { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }
}
