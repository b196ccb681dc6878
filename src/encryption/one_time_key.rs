//! A saved plan's one-time key, served to tofu through its `external` key provider.
//!
//! A one-time key is 256 random bits that live only as long as one wildside-tofu run: deriving it with
//! PBKDF2 would add nothing but a few hundred milliseconds to every tofu command that reads or writes the
//! plan. So tofu is configured with `key_provider "external"` running `wildside-tofu plan-key`, which hands
//! back the key it finds in its environment (set for the tofu child only, never written anywhere).

use std::io::{Read, Write};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// The environment variable that carries the key (base64) from the run to its `plan-key` children.
pub const ONE_TIME_KEY_ENV: &str = "WILDSIDE_ONE_TIME_PLAN_KEY";

/// The hidden subcommand tofu runs as the external key provider.
pub const KEY_PROVIDER_COMMAND: &str = "plan-key";

/// Why the key provider could not answer tofu.
#[derive(Debug, thiserror::Error)]
pub enum OneTimeKeyError {
    #[error(
        "${ONE_TIME_KEY_ENV} is not set: `wildside-tofu {KEY_PROVIDER_COMMAND}` is run by tofu during a wildside-tofu run, not by hand"
    )]
    NoKey,
    #[error("tofu's key provider request is not JSON: {0}")]
    Request(#[from] serde_json::Error),
    #[error("talking to tofu: {0}")]
    Io(#[from] std::io::Error),
}

/// A new one-time key, base64-encoded as the external key provider protocol carries keys.
pub fn new_key() -> std::io::Result<SecretString> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(std::io::Error::other)?;
    Ok(SecretString::from(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// Answers one request of tofu's external key provider protocol (version 1): a header line, then the key for
/// encrypting, and for decrypting too when tofu sends the stored metadata (it sends `null` when it only
/// encrypts).
pub fn serve(
    key: Option<SecretString>,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), OneTimeKeyError> {
    let key = key.ok_or(OneTimeKeyError::NoKey)?;
    let header = json!({ "magic": "OpenTofu-External-Key-Provider", "version": 1 });
    writeln!(output, "{header}")?;
    output.flush()?;
    let mut request = String::new();
    input.read_to_string(&mut request)?;
    let stored: serde_json::Value = serde_json::from_str(request.trim())?;
    let key = key.expose_secret();
    let keys = if stored.is_null() {
        json!({ "encryption_key": key })
    } else {
        json!({ "encryption_key": key, "decryption_key": key })
    };
    writeln!(
        output,
        "{}",
        json!({ "keys": keys, "meta": { "external_data": {} } })
    )?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(request: &str) -> Vec<serde_json::Value> {
        let mut output = Vec::new();
        serve(
            Some(SecretString::from("a2V5")),
            &mut request.as_bytes(),
            &mut output,
        )
        .unwrap();
        String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn encrypting_gets_one_key_and_decrypting_both() {
        let encrypt = answer("null\n");
        assert_eq!(
            encrypt[0],
            json!({ "magic": "OpenTofu-External-Key-Provider", "version": 1 })
        );
        assert_eq!(encrypt[1]["keys"], json!({ "encryption_key": "a2V5" }));
        let decrypt = answer(r#"{"external_data":{}}"#);
        assert_eq!(
            decrypt[1]["keys"],
            json!({ "encryption_key": "a2V5", "decryption_key": "a2V5" })
        );
    }

    #[test]
    fn without_a_key_or_with_a_bad_request_nothing_is_answered_but_the_header() {
        let mut output = Vec::new();
        assert!(matches!(
            serve(None, &mut "null".as_bytes(), &mut output),
            Err(OneTimeKeyError::NoKey)
        ));
        assert!(output.is_empty());
        assert!(matches!(
            serve(
                Some(SecretString::from("a2V5")),
                &mut "{".as_bytes(),
                &mut output
            ),
            Err(OneTimeKeyError::Request(_))
        ));
        assert_eq!(String::from_utf8(output).unwrap().lines().count(), 1);
    }
}
