//! Saved plans of stacks with secrets are encrypted.
//!
//! tofu stores every input variable in a saved plan, secrets included, so for such stacks the plan is
//! encrypted with OpenTofu's plan encryption (`TF_ENCRYPTION`, PBKDF2 + AES-GCM). The passphrase comes from
//! `WILDSIDE_PLAN_PASSPHRASE` when a plan must outlive the process (plan in one CI job, apply in another); otherwise
//! it is a one-time random key that exists only in this process and tofu's environment.

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::render::string_literal;

const PASSPHRASE_ENV: &str = "WILDSIDE_PLAN_PASSPHRASE";

/// The `TF_ENCRYPTION` entry for tofu's environment.
pub(crate) fn plan_encryption_env() -> Result<(String, SecretString), Error> {
    // A one-time key is 256 random bits: key stretching adds nothing but time, so it gets the minimum.
    let (passphrase, iterations) = match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if value.len() >= 16 => (SecretString::from(value), 600_000),
        Ok(_) => {
            return Err(Error::Usage(format!(
                "${PASSPHRASE_ENV} must be at least 16 characters"
            )));
        }
        Err(_) => (one_time_passphrase()?, 200_000),
    };
    let config = encryption_config(passphrase.expose_secret(), iterations);
    Ok(("TF_ENCRYPTION".to_string(), SecretString::from(config)))
}

/// The HCL of OpenTofu's encryption configuration: plans encrypted with `passphrase`. The passphrase is a
/// string literal, never a template, whatever it holds.
fn encryption_config(passphrase: &str, iterations: u32) -> String {
    let reference = |parts: [&str; 3]| {
        let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
        for part in &parts[1..] {
            traversal = traversal.attr(*part);
        }
        Expression::from(traversal.build())
    };
    let body = Body::builder()
        .add_block(
            Block::builder("key_provider")
                .add_labels(["pbkdf2", "wildside"])
                .add_attribute(("passphrase", string_literal(passphrase)))
                .add_attribute(("iterations", i64::from(iterations)))
                .build(),
        )
        .add_block(
            Block::builder("method")
                .add_labels(["aes_gcm", "wildside"])
                .add_attribute(("keys", reference(["key_provider", "pbkdf2", "wildside"])))
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

fn one_time_passphrase() -> Result<SecretString, Error> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| {
            Error::io(
                "reading the system's random source",
                std::io::Error::other(error),
            )
        })?;
    Ok(SecretString::from(hex::encode(bytes)))
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
