//! The `TF_ENCRYPTION` document and the environment that goes with it.
//!
//! Built with hcl-rs: a passphrase, an address or a key name is always a string literal, never a template.
//! State and plans share one method; `enforced` forbids the unencrypted method outside migrations. A passphrase's
//! key comes from an `external` key provider that this run serves (see `lender`); states written when tofu
//! derived the key itself, with its `pbkdf2` key provider, are read through a `fallback` method, which tofu sets
//! up only when the first method fails to decrypt, and are written back in the new form.

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};
use secrecy::SecretString;

use super::derivation::{ITERATIONS, Salt};
use super::error::EncryptionError;
use super::lender::{DERIVED_FLAG, Lender, STATE_KEY_COMMAND};
use crate::render::string_literal;

/// The variable holding the passphrase of stacks without `[vault]`.
pub const PASSPHRASE_ENV: &str = "WILDSIDE_STATE_PASSPHRASE";

/// Where the data keys come from.
pub enum KeySource {
    /// The stack's Vault transit engine, as the run's endpoint on 127.0.0.1 serves it (see
    /// `vault::local_transit`). The token, one for that endpoint only, reaches tofu only through its
    /// environment (`BAO_TOKEN`).
    Transit {
        address: String,
        mount: String,
        key: String,
        token: SecretString,
    },
    /// Keys derived from a passphrase, which tofu's key provider borrows from this run (see `lender`).
    Passphrase {
        lender: Lender,
        /// This binary, which tofu runs as `state-key`.
        program: String,
    },
}

impl KeySource {
    /// The passphrase key of `workspace` of a stack without `[vault]`, from [`PASSPHRASE_ENV`]. Needs a tokio
    /// runtime, which serves the keys to tofu's key provider.
    pub fn passphrase_from_env(stack: &str, workspace: &str) -> Result<Self, EncryptionError> {
        match std::env::var(PASSPHRASE_ENV) {
            Ok(value) if value.chars().count() >= 16 => Self::passphrase(
                SecretString::from(value),
                Salt::for_workspace(stack, workspace),
            ),
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

impl KeySource {
    /// Lends `passphrase`, and the keys derived from it (new states with `salt`), to tofu's key providers for as
    /// long as this key source lives.
    pub fn passphrase(passphrase: SecretString, salt: Salt) -> Result<Self, EncryptionError> {
        let io = |context: &str, source| EncryptionError::Io {
            context: context.to_string(),
            source,
        };
        let lender = Lender::deriving(passphrase, salt)
            .map_err(|error| io("lending the state passphrase", error))?;
        let program = std::env::current_exe()
            .map_err(|error| io("finding the wildside-tofu binary", error))?;
        Ok(Self::Passphrase {
            lender,
            program: program.to_string_lossy().into_owned(),
        })
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

/// The environment that makes tofu encrypt state and plans with `source`, in `mode`: the configuration and
/// what its key provider needs, all of it secret.
pub fn encryption_env(source: &KeySource, mode: Mode) -> Vec<(String, SecretString)> {
    let mut secret = vec![(
        "TF_ENCRYPTION".to_string(),
        SecretString::from(encryption_config(source, mode)),
    )];
    match source {
        KeySource::Passphrase { lender, .. } => secret.extend(lender.env()),
        KeySource::Transit { token, .. } => secret.push(("BAO_TOKEN".to_string(), token.clone())),
    }
    secret
}

const NAME: &str = "wildside";

/// The `external` key provider that hands tofu the key this run derived.
const DERIVED_PROVIDER: &str = "wildside_key";

/// The `external` key provider that hands `pbkdf2` the passphrase.
const PASSPHRASE_PROVIDER: &str = "wildside_passphrase";

/// The method of states whose key tofu's `pbkdf2` key provider derived.
const PBKDF2_METHOD: &str = "wildside_pbkdf2";

fn reference(parts: [&str; 3]) -> Expression {
    let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
    for part in &parts[1..] {
        traversal = traversal.attr(*part);
    }
    Expression::from(traversal.build())
}

/// An `external` key provider named `name` that runs `program` with `arguments`.
fn external(name: &str, program: &str, arguments: &[&str]) -> Block {
    let command = std::iter::once(program)
        .chain(arguments.iter().copied())
        .map(string_literal)
        .collect();
    Block::builder("key_provider")
        .add_labels(["external", name])
        .add_attribute(("command", Expression::Array(command)))
        .build()
}

/// A `fallback` block reading with `method`, itself falling back to `then`.
fn fallback(method: Expression, then: Option<Block>) -> Block {
    Block::builder("fallback")
        .add_attribute(("method", method))
        .add_blocks(then)
        .build()
}

/// The HCL body of OpenTofu's encryption configuration (what `TF_ENCRYPTION` holds).
fn encryption_config(source: &KeySource, mode: Mode) -> String {
    let mut providers = Vec::new();
    let mut methods = Vec::new();
    // The method that reads states in the form written before this run derived their keys, as a last fallback.
    let mut earlier_form = None;
    let keys = match source {
        KeySource::Transit {
            address,
            mount,
            key,
            ..
        } => {
            providers.push(
                Block::builder("key_provider")
                    .add_labels(["openbao", NAME])
                    .add_attribute(("address", string_literal(address)))
                    .add_attribute(("transit_engine_path", string_literal(&format!("/{mount}"))))
                    .add_attribute(("key_name", string_literal(key)))
                    .build(),
            );
            reference(["key_provider", "openbao", NAME])
        }
        KeySource::Passphrase { program, .. } => {
            // Keys come from this run, through `wildside-tofu state-key` (see `lender`).
            providers.push(external(
                DERIVED_PROVIDER,
                program,
                &[STATE_KEY_COMMAND, DERIVED_FLAG],
            ));
            if matches!(mode, Mode::Enforced | Mode::Decrypting) {
                providers.push(external(PASSPHRASE_PROVIDER, program, &[STATE_KEY_COMMAND]));
                providers.push(
                    Block::builder("key_provider")
                        .add_labels(["pbkdf2", NAME])
                        .add_attribute((
                            "chain",
                            reference(["key_provider", "external", PASSPHRASE_PROVIDER]),
                        ))
                        .add_attribute(("iterations", i64::from(ITERATIONS)))
                        .add_attribute(("hash_function", string_literal("sha512")))
                        .build(),
                );
                methods.push(
                    Block::builder("method")
                        .add_labels(["aes_gcm", PBKDF2_METHOD])
                        .add_attribute(("keys", reference(["key_provider", "pbkdf2", NAME])))
                        .build(),
                );
                earlier_form = Some(fallback(
                    reference(["method", "aes_gcm", PBKDF2_METHOD]),
                    None,
                ));
            }
            reference(["key_provider", "external", DERIVED_PROVIDER])
        }
    };
    methods.insert(
        0,
        Block::builder("method")
            .add_labels(["aes_gcm", NAME])
            .add_attribute(("keys", keys))
            .build(),
    );
    // tofu warns about an unencrypted method whenever one is declared: only migrations declare it.
    if mode != Mode::Enforced {
        methods.push(
            Block::builder("method")
                .add_labels(["unencrypted", NAME])
                .build(),
        );
    }
    let encrypted = reference(["method", "aes_gcm", NAME]);
    let plain = reference(["method", "unencrypted", NAME]);
    let state = match mode {
        Mode::Enforced => Block::builder("state")
            .add_attribute(("method", encrypted.clone()))
            .add_attribute(("enforced", true))
            .add_blocks(earlier_form)
            .build(),
        Mode::Encrypting => Block::builder("state")
            .add_attribute(("method", encrypted.clone()))
            .add_block(fallback(plain, None))
            .build(),
        Mode::Unencrypted => Block::builder("state")
            .add_attribute(("method", plain))
            .build(),
        Mode::Decrypting => Block::builder("state")
            .add_attribute(("method", plain))
            .add_block(fallback(encrypted.clone(), earlier_form))
            .build(),
    };
    let body = Body::builder()
        .add_blocks(providers)
        .add_blocks(methods)
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

    use super::{KeySource, Mode, Salt, encryption_config, encryption_env};

    fn passphrase(text: &str) -> KeySource {
        KeySource::passphrase(
            SecretString::from(text.to_string()),
            Salt::for_workspace("prod", "default"),
        )
        .unwrap()
    }

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

    fn transit(address: &str, token: &str) -> KeySource {
        KeySource::Transit {
            address: address.to_string(),
            mount: "transit".into(),
            key: "wildside-dev".into(),
            token: SecretString::from(token.to_string()),
        }
    }

    #[test]
    fn an_address_is_never_a_template() {
        for text in [
            "plain address 0123456789",
            "with ${var.x} and %{ if true }y%{ endif }",
            "quote \" backslash \\ newline \n tab \t é 🦀",
            "unbalanced ${ and }} and %%{",
        ] {
            let config = encryption_config(&transit(text, "t"), Mode::Enforced);
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
            &transit("http://127.0.0.1:8200", "token-canary-42"),
            Mode::Enforced,
        );
        assert!(!config.contains("token-canary-42"), "{config}");
        assert!(config.contains("key_name = \"wildside-dev\""), "{config}");
    }

    #[tokio::test]
    async fn the_passphrase_never_reaches_tofus_environment() {
        let canary = "passphrase-canary-0123456789";
        let source = passphrase(canary);
        for mode in [Mode::Enforced, Mode::Encrypting, Mode::Decrypting] {
            for (name, value) in &encryption_env(&source, mode) {
                use secrecy::ExposeSecret;
                assert!(!value.expose_secret().contains(canary), "{name}");
            }
        }
        let config = encryption_config(&source, Mode::Enforced);
        assert!(
            config.contains("keys = key_provider.external.wildside_key"),
            "{config}"
        );
    }

    /// The `method` of the `fallback` blocks of `state`, outermost first.
    fn fallbacks(config: &str) -> Vec<String> {
        let body = hcl::parse(config).unwrap();
        let mut block = body
            .blocks()
            .find(|block| block.identifier() == "state")
            .unwrap()
            .clone();
        let mut methods = Vec::new();
        while let Some(inner) = block
            .body()
            .blocks()
            .find(|inner| inner.identifier() == "fallback")
            .cloned()
        {
            let method = inner
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "method")
                .unwrap();
            methods.push(method.expr().to_string());
            block = inner;
        }
        methods
    }

    #[tokio::test]
    async fn a_state_in_the_pbkdf2_form_is_read_only_after_the_derived_key_fails() {
        let source = passphrase("0123456789abcdef");
        let enforced = encryption_config(&source, Mode::Enforced);
        assert_eq!(
            fallbacks(&enforced),
            ["method.aes_gcm.wildside_pbkdf2"],
            "{enforced}"
        );
        assert!(
            enforced.contains("chain = key_provider.external.wildside_passphrase"),
            "{enforced}"
        );
        let decrypting = encryption_config(&source, Mode::Decrypting);
        assert_eq!(
            fallbacks(&decrypting),
            ["method.aes_gcm.wildside", "method.aes_gcm.wildside_pbkdf2"],
            "{decrypting}"
        );
        let encrypting = encryption_config(&source, Mode::Encrypting);
        assert_eq!(fallbacks(&encrypting), ["method.unencrypted.wildside"]);
        assert!(!encrypting.contains("pbkdf2"), "{encrypting}");
        let transit = encryption_config(&transit("http://127.0.0.1:8200", "t"), Mode::Enforced);
        assert!(fallbacks(&transit).is_empty(), "{transit}");
    }

    #[tokio::test]
    async fn only_migrations_read_the_other_form() {
        let source = passphrase("0123456789abcdef");
        let enforced = encryption_config(&source, Mode::Enforced);
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
