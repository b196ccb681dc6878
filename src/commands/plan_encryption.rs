//! Saved plans of stacks with secrets are encrypted.
//!
//! tofu stores every input variable in a saved plan, secrets included, so for such stacks the plan is
//! encrypted with OpenTofu's plan encryption (`TF_ENCRYPTION`, PBKDF2 + AES-GCM). The passphrase comes from
//! `WILDSIDE_PLAN_PASSPHRASE` when a plan must outlive the process (plan in one CI job, apply in another); otherwise
//! it is a one-time random key that exists only in this process and tofu's environment.

use std::io::Read;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

const PASSPHRASE_ENV: &str = "WILDSIDE_PLAN_PASSPHRASE";

/// The `TF_ENCRYPTION` entry for tofu's environment.
pub(super) fn plan_encryption_env() -> Result<(String, SecretString), Error> {
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
    let config = format!(
        "key_provider \"pbkdf2\" \"wildside\" {{\n  passphrase = {}\n  iterations = {iterations}\n}}\nmethod \"aes_gcm\" \"wildside\" {{\n  keys = key_provider.pbkdf2.wildside\n}}\nplan {{\n  method   = method.aes_gcm.wildside\n  enforced = true\n}}\n",
        serde_json::to_string(passphrase.expose_secret()).unwrap_or_default()
    );
    Ok(("TF_ENCRYPTION".to_string(), SecretString::from(config)))
}

/// Whether a saved plan can be applied by a later process (the passphrase is not one-time).
pub(super) fn plans_outlive_the_process() -> bool {
    std::env::var_os(PASSPHRASE_ENV).is_some()
}

fn one_time_passphrase() -> Result<SecretString, Error> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|error| Error::io("reading /dev/urandom", error))?;
    Ok(SecretString::from(
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>(),
    ))
}
