//! Keys derived from a passphrase with PBKDF2-HMAC-SHA512, and the record a state keeps of how its key was
//! derived (its salt and iterations, which are not secret).
//!
//! The derivation is deliberately slow, so it is done once per salt per wildside-tofu run, by the run itself
//! (see `lender`), rather than once per key provider call inside every tofu command. New states of a workspace
//! are written with a salt computed from the stack's and the workspace's names, so the key tofu encrypts with and
//! the key it decrypts the stored state with are one derivation. The record travels in the state's key provider
//! metadata, so a state written with other parameters still names the ones that read it.

use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// PBKDF2-HMAC-SHA512 iterations: OWASP's recommendation for SHA-512 (210,000).
pub(crate) const ITERATIONS: u32 = 210_000;

/// The iterations a recorded derivation may ask for: enough for any state this tool wrote, few enough that a
/// tampered record cannot keep a run busy for long.
const ITERATION_RANGE: std::ops::RangeInclusive<u32> = 1_000..=10_000_000;

/// The salt lengths a recorded derivation may have, in bytes.
const SALT_LENGTHS: std::ops::RangeInclusive<usize> = 16..=64;

/// What the salt of a workspace's state hashes before the stack's and the workspace's names.
const SALT_LABEL: &[u8] = b"wildside-tofu state key v1";

/// AES-256: the key length OpenTofu's `aes_gcm` method gets.
pub(crate) const KEY_LENGTH: usize = 32;

/// A derived key.
pub(crate) type DerivedKey = SecretBox<[u8; KEY_LENGTH]>;

/// Why a recorded derivation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DerivationError {
    #[error("the salt is not base64: {0}")]
    SaltEncoding(#[from] base64::DecodeError),
    #[error("the salt is {0} bytes long, not between 16 and 64")]
    SaltLength(usize),
    #[error("{0} iterations is outside 1,000 to 10,000,000")]
    Iterations(u32),
}

/// A PBKDF2 salt, written as base64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Salt(Vec<u8>);

impl Salt {
    /// The salt of new states of `workspace` of `stack`: SHA-256 over a fixed label and the two names, each
    /// preceded by its length.
    pub fn for_workspace(stack: &str, workspace: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(SALT_LABEL);
        for name in [stack, workspace] {
            hasher.update((name.len() as u64).to_be_bytes());
            hasher.update(name.as_bytes());
        }
        Self(hasher.finalize().to_vec())
    }
}

impl TryFrom<String> for Salt {
    type Error = DerivationError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
        if SALT_LENGTHS.contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(DerivationError::SaltLength(bytes.len()))
        }
    }
}

impl From<Salt> for String {
    fn from(salt: Salt) -> Self {
        base64::engine::general_purpose::STANDARD.encode(salt.0)
    }
}

/// A PBKDF2 iteration count within [`ITERATION_RANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Iterations(u32);

impl TryFrom<u32> for Iterations {
    type Error = DerivationError;

    fn try_from(count: u32) -> Result<Self, Self::Error> {
        if ITERATION_RANGE.contains(&count) {
            Ok(Self(count))
        } else {
            Err(DerivationError::Iterations(count))
        }
    }
}

impl From<Iterations> for u32 {
    fn from(iterations: Iterations) -> Self {
        iterations.0
    }
}

/// The PRF of the derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashFunction {
    Sha512,
}

/// How a key was derived from the passphrase: what a state records (as its key provider's `external_data`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derivation {
    pub salt: Salt,
    pub iterations: Iterations,
    pub hash_function: HashFunction,
}

impl Derivation {
    /// The derivation of new states with `salt`.
    pub fn new(salt: Salt) -> Self {
        Self {
            salt,
            iterations: Iterations(ITERATIONS),
            hash_function: HashFunction::Sha512,
        }
    }

    /// Derives the key (slow by design: call it once per derivation and keep the key). ring's PBKDF2, which TLS
    /// already brings into the binary.
    pub fn derive(&self, passphrase: &SecretString) -> DerivedKey {
        let mut key = Box::new([0u8; KEY_LENGTH]);
        let algorithm = match self.hash_function {
            HashFunction::Sha512 => ring::pbkdf2::PBKDF2_HMAC_SHA512,
        };
        // Iterations are at least 1,000 (see `ITERATION_RANGE`).
        let iterations =
            std::num::NonZeroU32::new(self.iterations.0).unwrap_or(std::num::NonZeroU32::MIN);
        ring::pbkdf2::derive(
            algorithm,
            iterations,
            &self.salt.0,
            passphrase.expose_secret().as_bytes(),
            &mut key[..],
        );
        SecretBox::new(key)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::{Derivation, Iterations, Salt};

    #[test]
    fn the_key_is_pbkdf2_hmac_sha512() {
        // RFC 6070's inputs, with SHA-512 (the first 32 bytes of the published SHA-512 vector).
        let derivation = Derivation {
            salt: Salt(b"saltSALTsaltSALTsaltSALTsaltSALTsalt".to_vec()),
            iterations: Iterations(4096),
            hash_function: super::HashFunction::Sha512,
        };
        let key = derivation.derive(&SecretString::from("passwordPASSWORDpassword".to_string()));
        assert_eq!(
            hex::encode(key.expose_secret()),
            "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
        );
    }

    #[test]
    fn each_workspace_has_its_own_salt() {
        let salts = [
            Salt::for_workspace("prod", "default"),
            Salt::for_workspace("prod", "pr-1"),
            Salt::for_workspace("prodp", "r-1"),
            Salt::for_workspace("dev", "default"),
        ];
        for (i, a) in salts.iter().enumerate() {
            for b in &salts[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(salts[0], Salt::for_workspace("prod", "default"));
    }

    #[test]
    fn a_record_round_trips_and_a_bad_one_is_refused() {
        let record = Derivation::new(Salt::for_workspace("prod", "default"));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["iterations"], 210_000);
        assert_eq!(json["hash_function"], "sha512");
        assert_eq!(
            serde_json::from_value::<Derivation>(json.clone()).unwrap(),
            record
        );
        for (field, value) in [
            ("salt", serde_json::json!("c2hvcnQ=")),
            ("salt", serde_json::json!("not base64!")),
            ("iterations", serde_json::json!(10)),
            ("iterations", serde_json::json!(4_000_000_000u32)),
            ("hash_function", serde_json::json!("md5")),
        ] {
            let mut bad = json.clone();
            bad[field] = value;
            assert!(
                serde_json::from_value::<Derivation>(bad).is_err(),
                "{field}"
            );
        }
    }
}
