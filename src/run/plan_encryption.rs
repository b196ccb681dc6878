//! Saved plans of stacks whose state is not encrypted are encrypted all the same.
//!
//! A saved plan holds the prior state (TLS keys, kubeconfigs) and the plan's variables, so it is encrypted
//! with OpenTofu's plan encryption (`TF_ENCRYPTION`, AES-GCM). The key comes from `WILDSIDE_PLAN_PASSPHRASE`
//! through PBKDF2 when a plan must outlive the process (plan in one CI job, apply in another); otherwise it is
//! a one-time random key that exists only in this process and tofu's environment, which tofu reads through
//! its `external` key provider (see `encryption::one_time_key`).

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};
use secrecy::SecretString;

use crate::error::Error;
use crate::render::string_literal;

const PASSPHRASE_ENV: &str = "WILDSIDE_PLAN_PASSPHRASE";

/// The entries of tofu's environment that encrypt saved plans: `TF_ENCRYPTION`, and for a one-time key the key
/// itself, which tofu's `external` key provider (`wildside-tofu plan-key`) hands back.
pub(crate) fn plan_encryption_env() -> Result<Vec<(String, SecretString)>, Error> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if value.len() >= 16 => Ok(vec![(
            "TF_ENCRYPTION".to_string(),
            SecretString::from(encryption_config(&value, 600_000)),
        )]),
        Ok(_) => Err(Error::Usage(format!(
            "${PASSPHRASE_ENV} must be at least 16 characters"
        ))),
        Err(_) => {
            let key = crate::encryption::new_key()
                .map_err(|error| Error::io("reading the system's random source", error))?;
            let program = std::env::current_exe()
                .map_err(|error| Error::io("finding the wildside-tofu binary", error))?;
            Ok(vec![
                (
                    "TF_ENCRYPTION".to_string(),
                    SecretString::from(one_time_config(&program.to_string_lossy())),
                ),
                (crate::encryption::ONE_TIME_KEY_ENV.to_string(), key),
            ])
        }
    }
}

/// Plans encrypted with the one-time key that `program plan-key` serves.
fn one_time_config(program: &str) -> String {
    let provider = Block::builder("key_provider")
        .add_labels(["external", "wildside"])
        .add_attribute((
            "command",
            Expression::Array(vec![
                string_literal(program),
                string_literal(crate::encryption::KEY_PROVIDER_COMMAND),
            ]),
        ))
        .build();
    config_with(provider, "external")
}

/// The HCL of OpenTofu's encryption configuration: plans encrypted with `passphrase`. The passphrase is a
/// string literal, never a template, whatever it holds.
fn encryption_config(passphrase: &str, iterations: u32) -> String {
    let provider = Block::builder("key_provider")
        .add_labels(["pbkdf2", "wildside"])
        .add_attribute(("passphrase", string_literal(passphrase)))
        .add_attribute(("iterations", i64::from(iterations)))
        .build();
    config_with(provider, "pbkdf2")
}

/// Plans (and only plans) encrypted with AES-GCM, keyed by `provider` (a `key_provider` block of that type).
fn config_with(provider: Block, provider_type: &str) -> String {
    let reference = |parts: [&str; 3]| {
        let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
        for part in &parts[1..] {
            traversal = traversal.attr(*part);
        }
        Expression::from(traversal.build())
    };
    let body = Body::builder()
        .add_block(provider)
        .add_block(
            Block::builder("method")
                .add_labels(["aes_gcm", "wildside"])
                .add_attribute((
                    "keys",
                    reference(["key_provider", provider_type, "wildside"]),
                ))
                .build(),
        )
        .add_block(
            Block::builder("plan")
                .add_attribute(("method", reference(["method", "aes_gcm", "wildside"])))
                .add_attribute(("enforced", true))
                .build(),
        )
        .build();
    hcl::format::to_string(&body).unwrap_or_default()
}

/// Whether a saved plan can be applied by a later process (the passphrase is not one-time).
pub(crate) fn plans_outlive_the_process() -> bool {
    std::env::var_os(PASSPHRASE_ENV).is_some()
}

#[cfg(test)]
mod tests {
    use hcl::eval::{Context, Evaluate};

    use super::encryption_config;

    #[test]
    fn a_passphrase_is_never_a_template() {
        for passphrase in [
            "plain passphrase 0123456789",
            "with ${var.x} and %{ if true }y%{ endif }",
            "quote \" backslash \\ newline \n tab \t é 🦀",
            "unbalanced ${ and }} and %%{",
            "$${ escaped already",
        ] {
            let config = encryption_config(passphrase, 600_000);
            let body = hcl::parse(&config).unwrap_or_else(|error| panic!("{error}\n{config}"));
            let provider = body
                .blocks()
                .find(|block| block.identifier() == "key_provider")
                .unwrap();
            let attribute = provider
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "passphrase")
                .unwrap();
            assert_eq!(
                attribute.expr().evaluate(&Context::new()).ok(),
                Some(hcl::Value::String(passphrase.to_string())),
                "{config}"
            );
        }
    }
}
