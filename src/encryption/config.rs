//! The `TF_ENCRYPTION` document and the environment that goes with it.
//!
//! Built with hcl-rs: a passphrase, an address or a key name is always a string literal, never a template.
//! State and plans share one method; `enforced` forbids the unencrypted method outside migrations.

use std::path::PathBuf;

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};
use secrecy::{ExposeSecret, SecretString};

use super::error::EncryptionError;
use crate::render::string_literal;

/// The variable holding the passphrase of stacks without `[vault]`.
pub const PASSPHRASE_ENV: &str = "WILDSIDE_STATE_PASSPHRASE";

/// PBKDF2-HMAC-SHA512 iterations: OWASP's recommendation for SHA-512 (210,000), above OpenTofu's minimum.
const PBKDF2_ITERATIONS: i64 = 210_000;

/// Where the data keys come from.
pub enum KeySource {
    /// The stack's Vault transit engine. The token reaches tofu only through its environment (`BAO_TOKEN`).
    Transit {
        address: String,
        mount: String,
        key: String,
        token: SecretString,
        ca_cert: Option<PathBuf>,
        namespace: Option<String>,
    },
    /// A key derived from a passphrase.
    Passphrase(SecretString),
}

impl KeySource {
    /// The passphrase key of a stack without `[vault]`, from [`PASSPHRASE_ENV`].
    pub fn passphrase_from_env(stack: &str) -> Result<Self, EncryptionError> {
        match std::env::var(PASSPHRASE_ENV) {
            Ok(value) if value.chars().count() >= 16 => {
                Ok(Self::Passphrase(SecretString::from(value)))
            }
            Ok(value) if !value.is_empty() => Err(EncryptionError::ShortPassphrase {
                env: PASSPHRASE_ENV,
            }),
            _ => Err(EncryptionError::MissingPassphrase {
                stack: stack.to_string(),
                env: PASSPHRASE_ENV,
            }),
        }
    }
}

/// How state is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Encrypted only; an unencrypted state is refused.
    #[default]
    Enforced,
    /// Written encrypted; an unencrypted state is still read (the `fallback`), once, to migrate it.
    Encrypting,
    /// Written unencrypted; an encrypted state is still read, to leave encryption.
    Decrypting,
    /// Unencrypted only: reading an encrypted state fails, which is how a migration proves what is stored.
    Unencrypted,
}

/// What tofu's environment gets: the configuration and credentials (secret) and settings (not secret).
pub struct EncryptionEnv {
    pub secret: Vec<(String, SecretString)>,
    pub plain: Vec<(String, String)>,
}

/// The environment that makes tofu encrypt state and plans with `source`, in `mode`.
pub fn encryption_env(source: &KeySource, mode: Mode) -> EncryptionEnv {
    let mut secret = vec![(
        "TF_ENCRYPTION".to_string(),
        SecretString::from(encryption_config(source, mode)),
    )];
    let mut plain = Vec::new();
    if let KeySource::Transit {
        token,
        ca_cert,
        namespace,
        ..
    } = source
    {
        secret.push(("BAO_TOKEN".to_string(), token.clone()));
        if let Some(ca_cert) = ca_cert {
            plain.push(("BAO_CACERT".to_string(), ca_cert.display().to_string()));
        }
        if let Some(namespace) = namespace {
            plain.push(("BAO_NAMESPACE".to_string(), namespace.clone()));
        }
    }
    EncryptionEnv { secret, plain }
}

const NAME: &str = "wildside";

fn reference(parts: [&str; 3]) -> Expression {
    let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
    for part in &parts[1..] {
        traversal = traversal.attr(*part);
    }
    Expression::from(traversal.build())
}

/// The HCL body of OpenTofu's encryption configuration (what `TF_ENCRYPTION` holds).
fn encryption_config(source: &KeySource, mode: Mode) -> String {
    let (provider_type, provider) = match source {
        KeySource::Transit {
            address,
            mount,
            key,
            ..
        } => (
            "openbao",
            Block::builder("key_provider")
                .add_labels(["openbao", NAME])
                .add_attribute(("address", string_literal(address)))
                .add_attribute(("transit_engine_path", string_literal(&format!("/{mount}"))))
                .add_attribute(("key_name", string_literal(key)))
                .build(),
        ),
        KeySource::Passphrase(passphrase) => (
            "pbkdf2",
            Block::builder("key_provider")
                .add_labels(["pbkdf2", NAME])
                .add_attribute(("passphrase", string_literal(passphrase.expose_secret())))
                .add_attribute(("iterations", PBKDF2_ITERATIONS))
                .add_attribute(("hash_function", string_literal("sha512")))
                .build(),
        ),
    };
    let encrypted = reference(["method", "aes_gcm", NAME]);
    let plain = reference(["method", "unencrypted", NAME]);
    let state = match mode {
        Mode::Enforced => Block::builder("state")
            .add_attribute(("method", encrypted.clone()))
            .add_attribute(("enforced", true))
            .build(),
        Mode::Encrypting => Block::builder("state")
            .add_attribute(("method", encrypted.clone()))
            .add_block(
                Block::builder("fallback")
                    .add_attribute(("method", plain))
                    .build(),
            )
            .build(),
        Mode::Unencrypted => Block::builder("state")
            .add_attribute(("method", plain))
            .build(),
        Mode::Decrypting => Block::builder("state")
            .add_attribute(("method", plain))
            .add_block(
                Block::builder("fallback")
                    .add_attribute(("method", encrypted.clone()))
                    .build(),
            )
            .build(),
    };
    let body = Body::builder()
        .add_block(provider)
        .add_block(
            Block::builder("method")
                .add_labels(["aes_gcm", NAME])
                .add_attribute(("keys", reference(["key_provider", provider_type, NAME])))
                .build(),
        )
        .add_blocks(
            // tofu warns about an unencrypted method whenever one is declared: only migrations declare it.
            (mode != Mode::Enforced).then(|| {
                Block::builder("method")
                    .add_labels(["unencrypted", NAME])
                    .build()
            }),
        )
        .add_block(state)
        .add_block(
            Block::builder("plan")
                .add_attribute(("method", encrypted))
                .add_attribute(("enforced", true))
                .build(),
        )
        .build();
    hcl::format::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use hcl::eval::{Context, Evaluate};
    use secrecy::SecretString;

    use super::{KeySource, Mode, encryption_config};

    fn attribute(config: &str, block: &str, key: &str) -> Option<hcl::Value> {
        let body = hcl::parse(config).unwrap_or_else(|error| panic!("{error}\n{config}"));
        let block = body
            .blocks()
            .find(|candidate| candidate.identifier() == block)?;
        let attribute = block
            .body()
            .attributes()
            .find(|attribute| attribute.key() == key)?;
        attribute.expr().evaluate(&Context::new()).ok()
    }

    #[test]
    fn a_passphrase_or_an_address_is_never_a_template() {
        for text in [
            "plain passphrase 0123456789",
            "with ${var.x} and %{ if true }y%{ endif }",
            "quote \" backslash \\ newline \n tab \t é 🦀",
            "unbalanced ${ and }} and %%{",
        ] {
            let config = encryption_config(
                &KeySource::Passphrase(SecretString::from(text.to_string())),
                Mode::Enforced,
            );
            assert_eq!(
                attribute(&config, "key_provider", "passphrase"),
                Some(hcl::Value::String(text.to_string())),
                "{config}"
            );
            let config = encryption_config(
                &KeySource::Transit {
                    address: text.to_string(),
                    mount: "transit".into(),
                    key: "wildside-dev".into(),
                    token: SecretString::from("t".to_string()),
                    ca_cert: None,
                    namespace: None,
                },
                Mode::Enforced,
            );
            assert_eq!(
                attribute(&config, "key_provider", "address"),
                Some(hcl::Value::String(text.to_string())),
                "{config}"
            );
        }
    }

    #[test]
    fn the_token_never_reaches_the_configuration() {
        let config = encryption_config(
            &KeySource::Transit {
                address: "http://127.0.0.1:8200".into(),
                mount: "transit".into(),
                key: "wildside-dev".into(),
                token: SecretString::from("token-canary-42".to_string()),
                ca_cert: None,
                namespace: None,
            },
            Mode::Enforced,
        );
        assert!(!config.contains("token-canary-42"), "{config}");
        assert!(config.contains("key_name = \"wildside-dev\""), "{config}");
    }

    #[test]
    fn only_migrations_read_the_other_form() {
        let source = KeySource::Passphrase(SecretString::from("0123456789abcdef".to_string()));
        let enforced = encryption_config(&source, Mode::Enforced);
        assert!(!enforced.contains("fallback"), "{enforced}");
        assert!(!enforced.contains("unencrypted"), "{enforced}");
        assert_eq!(
            attribute(&enforced, "state", "enforced"),
            Some(hcl::Value::Bool(true))
        );
        for mode in [Mode::Encrypting, Mode::Decrypting] {
            let config = encryption_config(&source, mode);
            assert!(config.contains("fallback"), "{config}");
            assert_eq!(attribute(&config, "state", "enforced"), None, "{config}");
        }
        let unencrypted = encryption_config(&source, Mode::Unencrypted);
        assert!(!unencrypted.contains("fallback"), "{unencrypted}");
    }
}
