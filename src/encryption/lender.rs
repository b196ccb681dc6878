//! A passphrase (the state's, or the saved plans'), and the keys derived from it, lent to tofu's key providers
//! for one run and never put in tofu's environment, its arguments or a file.
//!
//! Every provider and every `local-exec` inherits tofu's environment, so a passphrase there would be as good
//! as public to a module's code and to anything that logs an environment. Instead tofu's `external` key
//! provider, `wildside-tofu state-key --derived`, asks this run for the key over a Unix socket in a private
//! directory (mode 0700), presenting a random token. tofu's environment holds only the socket's path and the
//! token: both are worthless once the run ends, when the socket is removed. (Code running inside tofu while the
//! run lasts could ask too, as it could read tofu's memory: no configuration keeps a key from the process that
//! uses it.)
//!
//! The run derives each key once (see `derivation`) and keeps it in memory: tofu sets its key providers up in
//! every command and again for every state it reads, and each would otherwise pay for PBKDF2. States written
//! before keys were derived here are read by tofu's own `pbkdf2` key provider, chained to `state-key`
//! without `--derived`, which gets the passphrase itself, byte for byte.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt, BufReader};

use super::derivation::{Derivation, DerivedKey, Salt};

/// The variable holding the socket's path.
pub const SOCKET_ENV: &str = "WILDSIDE_STATE_KEY_SOCKET";

/// The variable holding the token the socket asks for.
pub const TOKEN_ENV: &str = "WILDSIDE_STATE_KEY_TOKEN";

/// The hidden subcommand tofu runs as the external key provider of a lent passphrase.
pub const STATE_KEY_COMMAND: &str = "state-key";

/// The flag of [`STATE_KEY_COMMAND`] that asks for a derived key rather than the passphrase.
pub const DERIVED_FLAG: &str = "--derived";

/// How long a connection may take to present its token and request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `state-key` waits for its answer: a derivation, perhaps behind another one, under tofu's own limit
/// of one minute for an external key provider.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(50);

/// What a connection asks for, on the line after the token.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
enum Ask {
    /// The passphrase itself, for tofu's `pbkdf2` key provider.
    Passphrase,
    /// A derived key: with the derivation a stored state records, or with the run's own when tofu encrypts.
    Key { recorded: Option<Derivation> },
}

/// The passphrase and the keys this run derived from it.
struct Keys {
    passphrase: SecretString,
    /// The derivation of what this run writes; `None` for a lender of plans, which asks for no key.
    own: Option<Derivation>,
    /// Locked while a key is derived, so that two requests for one key derive it once.
    derived: tokio::sync::Mutex<HashMap<Derivation, DerivedKey>>,
}

impl Keys {
    /// The answer to tofu's external key provider: the key of `derivation` as both keys (tofu encrypts only
    /// with the key it got when it had no record to pass), and the record to store with what it encrypts.
    async fn answer(&self, derivation: Derivation) -> Option<SecretString> {
        let mut derived = self.derived.lock().await;
        if !derived.contains_key(&derivation) {
            let (passphrase, slow) = (self.passphrase.clone(), derivation.clone());
            let key = tokio::task::spawn_blocking(move || slow.derive(&passphrase))
                .await
                .ok()?;
            derived.insert(derivation.clone(), key);
        }
        let key = base64::engine::general_purpose::STANDARD
            .encode(derived.get(&derivation)?.expose_secret());
        let answer = json!({
            "keys": { "encryption_key": key, "decryption_key": key },
            "meta": { "external_data": derivation },
        });
        Some(SecretString::from(answer.to_string()))
    }
}

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
    /// Starts lending `passphrase` (for a `pbkdf2` key provider only). Needs a tokio runtime.
    pub fn start(passphrase: SecretString) -> std::io::Result<Self> {
        Self::serve(passphrase, None)
    }

    /// Starts lending `passphrase` and the keys derived from it; what tofu encrypts gets the key with `salt`.
    /// Needs a tokio runtime.
    pub fn deriving(passphrase: SecretString, salt: Salt) -> std::io::Result<Self> {
        Self::serve(passphrase, Some(Derivation::new(salt)))
    }

    fn serve(passphrase: SecretString, own: Option<Derivation>) -> std::io::Result<Self> {
        // TempDir makes its directory with mode 0700: only this user reaches the socket.
        let dir = tempfile::Builder::new().prefix("wildside-key-").tempdir()?;
        let socket = dir.path().join("s");
        let listener = tokio::net::UnixListener::bind(&socket)?;
        let token = super::new_key()?;
        let expected = token.clone();
        let keys = Arc::new(Keys {
            passphrase,
            own,
            derived: tokio::sync::Mutex::new(HashMap::new()),
        });
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (keys, expected) = (keys.clone(), expected.clone());
                tokio::spawn(async move {
                    let _ = answer(stream, &expected, &keys).await;
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

/// Answers a connection that presents the token, and sends nothing to one that does not.
async fn answer(
    stream: tokio::net::UnixStream,
    expected: &SecretString,
    keys: &Keys,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(4096));
    let (mut token, mut request) = (String::new(), String::new());
    let read_both = async {
        reader.read_line(&mut token).await?;
        reader.read_line(&mut request).await
    };
    tokio::time::timeout(READ_TIMEOUT, read_both)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let presented = token.trim_end().as_bytes();
    let expected = expected.expose_secret().as_bytes();
    // Compared in constant time: how long a refusal takes says nothing about the token.
    let equal = presented.len() == expected.len()
        && presented
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    let reply = match serde_json::from_str::<Ask>(request.trim_end()) {
        Ok(_) if !equal => None,
        Ok(Ask::Passphrase) => Some(keys.passphrase.clone()),
        Ok(Ask::Key { recorded }) => match recorded.or_else(|| keys.own.clone()) {
            Some(derivation) => keys.answer(derivation).await,
            None => None,
        },
        Err(_) => None,
    };
    if let Some(reply) = reply {
        write.write_all(reply.expose_secret().as_bytes()).await?;
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
    #[error(
        "the key metadata stored with this state or plan is not one wildside-tofu writes ({0}); was it edited?"
    )]
    Record(#[source] serde_json::Error),
    #[error("talking to tofu or the run: {0}")]
    Io(#[from] std::io::Error),
}

/// Fetches the passphrase from the lender at `socket` with `token`.
pub fn borrow(socket: &Path, token: &str) -> Result<SecretString, StateKeyError> {
    ask(socket, token, &Ask::Passphrase)
}

/// Fetches the external key provider's answer for `recorded` (the derivation a stored state records, `None`
/// when tofu encrypts) from the lender at `socket` with `token`.
pub fn borrow_key(
    socket: &Path,
    token: &str,
    recorded: Option<Derivation>,
) -> Result<SecretString, StateKeyError> {
    ask(socket, token, &Ask::Key { recorded })
}

fn ask(socket: &Path, token: &str, ask: &Ask) -> Result<SecretString, StateKeyError> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    writeln!(stream, "{token}")?;
    writeln!(stream, "{}", serde_json::to_string(ask)?)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer.is_empty() {
        return Err(StateKeyError::Refused);
    }
    Ok(SecretString::from(answer))
}

/// Writes the external key provider protocol's header line.
fn header(output: &mut impl Write) -> Result<(), StateKeyError> {
    let header = json!({ "magic": "OpenTofu-External-Key-Provider", "version": 1 });
    writeln!(output, "{header}")?;
    output.flush()?;
    Ok(())
}

/// Answers one request of tofu's external key provider protocol with the passphrase as both keys: `pbkdf2`
/// derives the real keys from it, with the salt it keeps in its own metadata.
pub fn serve_passphrase(
    passphrase: &SecretString,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), StateKeyError> {
    header(output)?;
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

/// What tofu sends an external key provider: `null` when it encrypts (or the state holds no record of this
/// provider), otherwise the record stored with the state.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    external_data: serde_json::Value,
}

/// Answers one request of tofu's external key provider protocol with a derived key, which `lend` gets from the
/// run for the derivation the request records (`None` when tofu encrypts).
pub fn serve_key(
    lend: impl FnOnce(Option<Derivation>) -> Result<SecretString, StateKeyError>,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), StateKeyError> {
    header(output)?;
    let mut request = String::new();
    input.read_to_string(&mut request)?;
    let recorded = match serde_json::from_str::<Option<Stored>>(request.trim())? {
        Some(stored) => {
            Some(serde_json::from_value(stored.external_data).map_err(StateKeyError::Record)?)
        }
        None => None,
    };
    let answer = lend(recorded)?;
    writeln!(output, "{}", answer.expose_secret())?;
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

    fn keys_of(answer: &SecretString) -> (String, serde_json::Value) {
        let answer: serde_json::Value = serde_json::from_str(answer.expose_secret()).unwrap();
        let key = answer["keys"]["encryption_key"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(answer["keys"]["decryption_key"], key.as_str());
        (key, answer["meta"]["external_data"].clone())
    }

    #[tokio::test]
    async fn a_derived_key_is_the_same_for_the_write_and_the_read_and_only_for_the_token() {
        let salt = Salt::for_workspace("prod", "default");
        let lender = Lender::deriving(
            SecretString::from("a passphrase of some length"),
            salt.clone(),
        )
        .unwrap();
        let env = lender.env();
        let socket = PathBuf::from(env[0].1.expose_secret());
        let token = env[1].1.expose_secret().to_string();
        let ask = |token: String, recorded: Option<Derivation>| {
            let socket = socket.clone();
            tokio::task::spawn_blocking(move || borrow_key(&socket, &token, recorded))
        };
        let written = ask(token.clone(), None).await.unwrap().unwrap();
        let (key, record) = keys_of(&written);
        assert_eq!(
            serde_json::from_value::<Derivation>(record.clone()).unwrap(),
            Derivation::new(salt)
        );
        let read = ask(token.clone(), serde_json::from_value(record).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(keys_of(&read).0, key);
        let other = Derivation::new(Salt::for_workspace("prod", "pr-1"));
        let (other_key, other_record) = keys_of(
            &ask(token.clone(), Some(other.clone()))
                .await
                .unwrap()
                .unwrap(),
        );
        assert_ne!(other_key, key);
        assert_eq!(
            serde_json::from_value::<Derivation>(other_record).unwrap(),
            other
        );
        let wrong = ask("not the token".to_string(), None).await.unwrap();
        assert!(matches!(wrong, Err(StateKeyError::Refused)), "{wrong:?}");
        let plans = Lender::start(SecretString::from("a passphrase of some length")).unwrap();
        let env = plans.env();
        let (socket, token) = (
            PathBuf::from(env[0].1.expose_secret()),
            env[1].1.expose_secret().to_string(),
        );
        let no_own = tokio::task::spawn_blocking(move || borrow_key(&socket, &token, None))
            .await
            .unwrap();
        assert!(matches!(no_own, Err(StateKeyError::Refused)), "{no_own:?}");
    }

    #[test]
    fn the_key_provider_passes_the_record_and_refuses_a_malformed_one() {
        let own = Derivation::new(Salt::for_workspace("prod", "default"));
        let serve = |input: &str| {
            let mut seen = None;
            let mut output = Vec::new();
            let result = serve_key(
                |recorded| {
                    seen = Some(recorded);
                    Ok(SecretString::from("{\"keys\":{}}"))
                },
                &mut input.as_bytes(),
                &mut output,
            );
            (result, seen, String::from_utf8(output).unwrap())
        };
        let (result, seen, output) = serve("null");
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(seen, Some(None));
        assert!(
            output.starts_with("{\"magic\":\"OpenTofu-External-Key-Provider\""),
            "{output}"
        );
        assert!(output.ends_with("{\"keys\":{}}\n"), "{output}");
        let stored = json!({ "external_data": own }).to_string();
        let (_, seen, _) = serve(&stored);
        assert_eq!(seen, Some(Some(own)));
        for malformed in [
            json!({ "external_data": {} }).to_string(),
            json!({ "external_data": { "salt": "c2hvcnQ=", "iterations": 210_000, "hash_function": "sha512" } })
                .to_string(),
        ] {
            let (result, seen, _) = serve(&malformed);
            assert!(matches!(result, Err(StateKeyError::Record(_))), "{result:?}");
            assert_eq!(seen, None);
        }
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
