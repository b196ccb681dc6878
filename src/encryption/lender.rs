//! A passphrase (the state's, or the saved plans'), lent to tofu's key provider for one run and never put in
//! tofu's environment.
//!
//! Every provider and every `local-exec` inherits tofu's environment, so a passphrase there would be as good
//! as public to a module's code and to anything that logs an environment. Instead tofu's `pbkdf2` key
//! provider takes its passphrase from a chained `external` key provider, `wildside-tofu state-key`, which asks
//! this run for it over a Unix socket in a private directory (mode 0700), presenting a random token. tofu's
//! environment holds only the socket's path and the token: both are worthless once the run ends, when the
//! socket is removed. (Code running inside tofu while the run lasts could ask too, as it could read tofu's
//! memory: no configuration keeps a key from the process that uses it.)
//!
//! The passphrase reaches `pbkdf2` byte for byte, so states written with it as a literal read the same.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt, BufReader};

/// The variable holding the socket's path.
pub const SOCKET_ENV: &str = "WILDSIDE_STATE_KEY_SOCKET";

/// The variable holding the token the socket asks for.
pub const TOKEN_ENV: &str = "WILDSIDE_STATE_KEY_TOKEN";

/// The hidden subcommand tofu runs as the external key provider of a lent passphrase.
pub const STATE_KEY_COMMAND: &str = "state-key";

/// How long a connection may take to present its token.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Lends the passphrase for as long as it lives; dropping it closes and removes the socket.
pub struct Lender {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    token: SecretString,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Lender {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Lender {
    /// Starts lending `passphrase`. Needs a tokio runtime.
    pub fn start(passphrase: SecretString) -> std::io::Result<Self> {
        // TempDir makes its directory with mode 0700: only this user reaches the socket.
        let dir = tempfile::Builder::new().prefix("wildside-key-").tempdir()?;
        let socket = dir.path().join("s");
        let listener = tokio::net::UnixListener::bind(&socket)?;
        let token = super::new_key()?;
        let expected = token.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let passphrase = passphrase.clone();
                let expected = expected.clone();
                tokio::spawn(async move {
                    let _ =
                        tokio::time::timeout(READ_TIMEOUT, answer(stream, &expected, &passphrase))
                            .await;
                });
            }
        });
        Ok(Self {
            _dir: dir,
            socket,
            token,
            server,
        })
    }

    /// What the key provider needs in tofu's environment to reach this lender.
    pub fn env(&self) -> Vec<(String, SecretString)> {
        vec![
            (
                SOCKET_ENV.to_string(),
                SecretString::from(self.socket.display().to_string()),
            ),
            (TOKEN_ENV.to_string(), self.token.clone()),
        ]
    }
}

/// Sends the passphrase to a connection that presents the token, and nothing to one that does not.
async fn answer(
    stream: tokio::net::UnixStream,
    expected: &SecretString,
    passphrase: &SecretString,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(256)).read_line(&mut line).await?;
    let presented = line.trim_end().as_bytes();
    let expected = expected.expose_secret().as_bytes();
    // Compared in constant time: how long a refusal takes says nothing about the token.
    let equal = presented.len() == expected.len()
        && presented
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if equal {
        write
            .write_all(passphrase.expose_secret().as_bytes())
            .await?;
    }
    write.shutdown().await
}

/// Why `state-key` could not answer tofu.
#[derive(Debug, thiserror::Error)]
pub enum StateKeyError {
    #[error(
        "${SOCKET_ENV} and ${TOKEN_ENV} are not set: `wildside-tofu {STATE_KEY_COMMAND}` is run by tofu during a wildside-tofu run, not by hand"
    )]
    NotInARun,
    #[error("the wildside-tofu run that lent the passphrase did not give it (has the run ended?)")]
    Refused,
    #[error("tofu's key provider request is not JSON: {0}")]
    Request(#[from] serde_json::Error),
    #[error("talking to tofu or the run: {0}")]
    Io(#[from] std::io::Error),
}

/// Fetches the passphrase from the lender at `socket` with `token`.
pub fn borrow(socket: &Path, token: &str) -> Result<SecretString, StateKeyError> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    writeln!(stream, "{token}")?;
    let mut passphrase = String::new();
    stream.read_to_string(&mut passphrase)?;
    if passphrase.is_empty() {
        return Err(StateKeyError::Refused);
    }
    Ok(SecretString::from(passphrase))
}

/// Answers one request of tofu's external key provider protocol with the passphrase as both keys: `pbkdf2`
/// derives the real keys from it, with the salt it keeps in its own metadata.
pub fn serve_passphrase(
    passphrase: &SecretString,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), StateKeyError> {
    let header = json!({ "magic": "OpenTofu-External-Key-Provider", "version": 1 });
    writeln!(output, "{header}")?;
    output.flush()?;
    let mut request = String::new();
    input.read_to_string(&mut request)?;
    let _: serde_json::Value = serde_json::from_str(request.trim())?;
    let key = base64::engine::general_purpose::STANDARD.encode(passphrase.expose_secret());
    writeln!(
        output,
        "{}",
        json!({
            "keys": { "encryption_key": key, "decryption_key": key },
            "meta": { "external_data": {} },
        })
    )?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_passphrase_goes_only_to_the_token_and_only_while_the_lender_lives() {
        let lender = Lender::start(SecretString::from("a passphrase of some length")).unwrap();
        let env = lender.env();
        let socket = PathBuf::from(env[0].1.expose_secret());
        let token = env[1].1.expose_secret().to_string();
        let borrowed = {
            let (socket, token) = (socket.clone(), token.clone());
            tokio::task::spawn_blocking(move || borrow(&socket, &token))
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(borrowed.expose_secret(), "a passphrase of some length");
        let wrong = {
            let socket = socket.clone();
            tokio::task::spawn_blocking(move || borrow(&socket, "not the token"))
                .await
                .unwrap()
        };
        assert!(matches!(wrong, Err(StateKeyError::Refused)), "{wrong:?}");
        drop(lender);
        let after = tokio::task::spawn_blocking(move || borrow(&socket, &token))
            .await
            .unwrap();
        assert!(after.is_err());
    }

    #[test]
    fn both_keys_are_the_passphrase() {
        let mut output = Vec::new();
        serve_passphrase(
            &SecretString::from("0123456789abcdef"),
            &mut "null".as_bytes(),
            &mut output,
        )
        .unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let key = base64::engine::general_purpose::STANDARD.encode("0123456789abcdef");
        assert_eq!(
            lines[1]["keys"],
            json!({ "encryption_key": key, "decryption_key": key })
        );
    }
}
