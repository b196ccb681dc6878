//! Saved plans of stacks whose state is not encrypted are encrypted all the same.
//!
//! A saved plan holds the prior state (TLS keys, kubeconfigs) and the plan's variables, so it is encrypted
//! with OpenTofu's plan encryption (`TF_ENCRYPTION`, AES-GCM). The key comes from `WILDSIDE_PLAN_PASSPHRASE`
//! through PBKDF2 when a plan must outlive the process (plan in one CI job, apply in another), the passphrase
//! lent to tofu's key provider by this run and never in tofu's environment (see `encryption::lender`);
//! otherwise it is a one-time random key that exists only in this process and tofu's environment, which tofu
//! reads through its `external` key provider (see `encryption::one_time_key`).

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body, Expression};
use secrecy::SecretString;

use crate::encryption::Lender;
use crate::error::Error;
use crate::render::string_literal;

const PASSPHRASE_ENV: &str = "WILDSIDE_PLAN_PASSPHRASE";

/// Entries of tofu's environment that are secret.
type SecretEnv = Vec<(String, SecretString)>;

/// The entries of tofu's environment that encrypt saved plans: `TF_ENCRYPTION`, and for a one-time key the key
/// itself, which tofu's `external` key provider (`wildside-tofu plan-key`) hands back; for a passphrase, what
/// its key provider needs to borrow it from the returned [`Lender`], which must live as long as tofu runs.
pub(crate) fn plan_encryption_env() -> Result<(SecretEnv, Option<Lender>), Error> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if value.len() >= 16 => {
            let lender = Lender::start(SecretString::from(value))
                .map_err(|error| Error::io("lending the plan passphrase", error))?;
            let program = std::env::current_exe()
                .map_err(|error| Error::io("finding the wildside-tofu binary", error))?;
            let mut env = vec![(
                "TF_ENCRYPTION".to_string(),
                SecretString::from(encryption_config(&program.to_string_lossy(), 600_000)),
            )];
            env.extend(lender.env());
            Ok((env, Some(lender)))
        }
        Ok(_) => Err(Error::Usage(format!(
            "${PASSPHRASE_ENV} must be at least 16 characters"
        ))),
        Err(_) => {
            let key = crate::encryption::new_key()
                .map_err(|error| Error::io("reading the system's random source", error))?;
            let program = std::env::current_exe()
                .map_err(|error| Error::io("finding the wildside-tofu binary", error))?;
            Ok((
                vec![
                    (
                        "TF_ENCRYPTION".to_string(),
                        SecretString::from(one_time_config(&program.to_string_lossy())),
                    ),
                    (crate::encryption::ONE_TIME_KEY_ENV.to_string(), key),
                ],
                None,
            ))
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
    config_with(None, provider, "external")
}

/// The HCL of OpenTofu's encryption configuration: plans encrypted with a passphrase that `program state-key`
/// borrows from this run. The path is a string literal, never a template, whatever it holds.
fn encryption_config(program: &str, iterations: u32) -> String {
    let borrowed = Block::builder("key_provider")
        .add_labels(["external", "wildside_passphrase"])
        .add_attribute((
            "command",
            Expression::Array(vec![
                string_literal(program),
                string_literal(crate::encryption::STATE_KEY_COMMAND),
            ]),
        ))
        .build();
    let reference = Expression::from(
        Traversal::builder(Variable::unchecked("key_provider"))
            .attr("external")
            .attr("wildside_passphrase")
            .build(),
    );
    let provider = Block::builder("key_provider")
        .add_labels(["pbkdf2", "wildside"])
        .add_attribute(("chain", reference))
        .add_attribute(("iterations", i64::from(iterations)))
        .build();
    config_with(Some(borrowed), provider, "pbkdf2")
}

/// Plans (and only plans) encrypted with AES-GCM, keyed by `provider` (a `key_provider` block of that type),
/// after the key provider `chained` that it takes its input from, if any.
fn config_with(chained: Option<Block>, provider: Block, provider_type: &str) -> String {
    let reference = |parts: [&str; 3]| {
        let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
        for part in &parts[1..] {
            traversal = traversal.attr(*part);
        }
        Expression::from(traversal.build())
    };
    let body = Body::builder()
        .add_blocks(chained)
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
    fn a_program_path_is_never_a_template() {
        for program in [
            "/plain/wildside-tofu",
            "/with ${var.x} and %{ if true }y%{ endif }/wildside-tofu",
            "/quote \" backslash \\ é 🦀/wildside-tofu",
            "/unbalanced ${ and }} and %%{/wildside-tofu",
        ] {
            let config = encryption_config(program, 600_000);
            let body = hcl::parse(&config).unwrap_or_else(|error| panic!("{error}\n{config}"));
            let provider = body
                .blocks()
                .find(|block| block.identifier() == "key_provider")
                .unwrap();
            let attribute = provider
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "command")
                .unwrap();
            assert_eq!(
                attribute.expr().evaluate(&Context::new()).ok(),
                Some(hcl::Value::Array(vec![
                    hcl::Value::String(program.to_string()),
                    hcl::Value::String("state-key".to_string()),
                ])),
                "{config}"
            );
        }
    }
}
