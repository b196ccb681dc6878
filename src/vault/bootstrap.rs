//! `vault bootstrap`: bring a freshly installed Vault or OpenBao to a working state, idempotently.
//!
//! Each step checks before it acts, so a run that died anywhere can simply be run again:
//! 1. init only when uninitialised, and write the unseal keys and root token to the 0600 state file
//!    (atomically) before anything else;
//! 2. unseal with the stored keys only when sealed;
//! 3. KV v2 at the mount (refusing anything else mounted there), AppRole, the policy, the role, the role id,
//!    and a secret id only when none is stored or on `--rotate-secret-id`;
//! 4. the transit engine for state encryption, the stack keys' policy (`<policy>-state-keys`: a data key and a
//!    decryption with the keys `<key_prefix>-*`, and reading them, nothing else) given to the CI role, and a key
//!    for every stack of the project that encrypts its state with one.
//!
//! In builds with the `test-hooks` feature (the test suite's, never a release), `WILDSIDE_BOOTSTRAP_FAILPOINT=<step>`
//! makes the process exit right after that step (`init`, `kv`); the crash-recovery tests use it to stop the run
//! at exact points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl::{Block, Body, Expression};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder;
use vaultrs::api::sys::requests::EnableEngineRequestBuilder;
use vaultrs::error::ClientError;

use super::client::build_client;
use super::error::VaultError;
use super::seal::SysHttp;
use crate::private_file::write_private;
use crate::render::cli_config_text;

#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    pub address: String,
    pub ca_cert: Option<PathBuf>,
    pub state_file: PathBuf,
    pub key_shares: u8,
    pub key_threshold: u8,
    pub kv_mount: String,
    pub approle_mount: String,
    pub policy_name: String,
    pub role_name: String,
    pub rotate_secret_id: bool,
    pub secret_id_file: Option<PathBuf>,
    /// The transit engine's mount, for state keys.
    pub transit_mount: String,
    /// State keys are named `<key_prefix>-<stack>` (the stacks' `[vault] path_prefix`).
    pub key_prefix: String,
    /// Transit keys to create (the project's stacks' keys).
    pub state_keys: Vec<String>,
}

/// What CI needs, and what this run did. The secret id itself is only ever in files.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    pub address: String,
    pub ca_cert: Option<PathBuf>,
    pub role_id: String,
    pub secret_id_file: Option<PathBuf>,
    pub state_file: PathBuf,
    /// Steps that changed something, in order; empty when the server was already bootstrapped.
    pub changed: Vec<String>,
}

/// The state file's content. Written with mode 0600, never printed.
#[derive(Default, Serialize, Deserialize)]
struct StateFile {
    unseal_keys_b64: Vec<String>,
    root_token: String,
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    secret_id: Option<String>,
}

impl std::fmt::Debug for StateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateFile { .. }")
    }
}

pub async fn bootstrap(options: &BootstrapOptions) -> Result<BootstrapReport, VaultError> {
    let sys = SysHttp::new(&options.address, options.ca_cert.as_deref())?;
    let mut changed = Vec::new();
    let mut state = read_state(&options.state_file)?;
    let status = sys.seal_status().await?;
    if !status.initialized {
        if state.is_some() {
            return Err(VaultError::Credential(format!(
                "Vault at {} is uninitialised but `{}` already holds keys (from another server?); move it away first",
                options.address,
                options.state_file.display()
            )));
        }
        let init = sys.init(options.key_shares, options.key_threshold).await?;
        let fresh = StateFile {
            unseal_keys_b64: init
                .keys
                .iter()
                .map(|key| key.expose_secret().to_string())
                .collect(),
            root_token: init.root_token.expose_secret().to_string(),
            ..StateFile::default()
        };
        write_private(
            &options.state_file,
            &serde_json::to_vec_pretty(&fresh).unwrap_or_default(),
        )
        .map_err(io_error)?;
        state = Some(fresh);
        changed.push("initialised".to_string());
        failpoint("init");
    }
    let mut state = state.ok_or_else(|| {
        VaultError::Credential(format!(
            "Vault at {} is initialised but there is no state file at `{}`\n  hint: pass --state-file with the file the first bootstrap wrote",
            options.address,
            options.state_file.display()
        ))
    })?;
    if sys.seal_status().await?.sealed {
        for key in &state.unseal_keys_b64 {
            if !sys.unseal(&SecretString::from(key.clone())).await?.sealed {
                break;
            }
        }
        if sys.seal_status().await?.sealed {
            return Err(VaultError::Sealed {
                address: options.address.clone(),
            });
        }
        changed.push("unsealed".to_string());
    }
    sys.wait_active(Duration::from_secs(60)).await?;
    let root = SecretString::from(state.root_token.clone());
    configure(options, &sys, &root, &mut state, &mut changed).await?;
    let role_id = state.role_id.clone().unwrap_or_default();
    Ok(BootstrapReport {
        address: options.address.clone(),
        ca_cert: options.ca_cert.clone(),
        role_id,
        secret_id_file: options.secret_id_file.clone(),
        state_file: options.state_file.clone(),
        changed,
    })
}

/// Step 3: engines, policy, role, role id and secret id.
async fn configure(
    options: &BootstrapOptions,
    sys: &SysHttp,
    root: &SecretString,
    state: &mut StateFile,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let address = options.address.as_str();
    let client = build_client(address, root, options.ca_cert.as_deref(), None)?;
    let fail = |path: &str| {
        let path = path.to_string();
        move |error| VaultError::from_client(address, &path, error)
    };
    match sys.mounted("sys/mounts", &options.kv_mount, root).await? {
        Some((kind, version)) if kind == "kv" && version.as_deref() == Some("2") => {}
        Some((kind, version)) => {
            return Err(VaultError::Api {
                address: address.into(),
                path: format!("sys/mounts/{}", options.kv_mount),
                detail: format!(
                    "`{kind}` (version {}) is already mounted there, not KV version 2",
                    version.unwrap_or_else(|| "1".into())
                ),
            });
        }
        None => {
            let mut request = EnableEngineRequestBuilder::default();
            request.options(HashMap::from([("version".to_string(), "2".to_string())]));
            vaultrs::sys::mount::enable(&client, &options.kv_mount, "kv", Some(&mut request))
                .await
                .map_err(fail("sys/mounts"))?;
            changed.push(format!("enabled KV v2 at {}", options.kv_mount));
        }
    }
    failpoint("kv");
    if sys
        .mounted("sys/auth", &options.approle_mount, root)
        .await?
        .is_none()
    {
        vaultrs::sys::auth::enable(&client, &options.approle_mount, "approle", None)
            .await
            .map_err(fail("sys/auth"))?;
        changed.push(format!("enabled AppRole at {}", options.approle_mount));
    }
    let policy = policy_text(&options.kv_mount);
    let policy_path = format!("sys/policies/acl/{}", options.policy_name);
    // Only a 404 means absent: a refusal or a failed request must not be taken for it and written over.
    let current = match vaultrs::sys::policy::read(&client, &options.policy_name).await {
        Ok(existing) => Some(existing.rules),
        Err(ClientError::APIError { code: 404, .. }) => None,
        Err(error) => return Err(fail(&policy_path)(error)),
    };
    if current.as_deref() != Some(policy.as_str()) {
        vaultrs::sys::policy::set(&client, &options.policy_name, &policy)
            .await
            .map_err(fail("sys/policies/acl"))?;
        changed.push(format!("wrote policy {}", options.policy_name));
    }
    let keys_policy = state_keys_policy(options);
    transit(options, sys, root, &client, &keys_policy, changed).await?;
    let role_path = format!("auth/{}/role/{}", options.approle_mount, options.role_name);
    let role_exists = match vaultrs::auth::approle::role::read(
        &client,
        &options.approle_mount,
        &options.role_name,
    )
    .await
    {
        Ok(_) => true,
        Err(ClientError::APIError { code: 404, .. }) => false,
        Err(error) => return Err(fail(&role_path)(error)),
    };
    let policies = vec![options.policy_name.clone(), keys_policy.clone()];
    let role_has_policies = match vaultrs::auth::approle::role::read(
        &client,
        &options.approle_mount,
        &options.role_name,
    )
    .await
    {
        Ok(role) => policies
            .iter()
            .all(|policy| role.token_policies.contains(policy)),
        Err(_) => false,
    };
    if !role_exists || !role_has_policies {
        let mut request = SetAppRoleRequestBuilder::default();
        request
            .token_policies(policies)
            .token_ttl("1h")
            .token_max_ttl("4h")
            .secret_id_ttl(SECRET_ID_TTL)
            .secret_id_num_uses(SECRET_ID_USES);
        vaultrs::auth::approle::role::set(
            &client,
            &options.approle_mount,
            &options.role_name,
            Some(&mut request),
        )
        .await
        .map_err(fail(&role_path))?;
        changed.push(format!(
            "{} role {}",
            if role_exists { "updated" } else { "created" },
            options.role_name
        ));
    }
    let role_id =
        vaultrs::auth::approle::role::read_id(&client, &options.approle_mount, &options.role_name)
            .await
            .map_err(fail(&role_path))?
            .role_id;
    let mut dirty = state.role_id.as_deref() != Some(role_id.as_str());
    state.role_id = Some(role_id);
    if state.secret_id.is_none() || options.rotate_secret_id {
        let secret = vaultrs::auth::approle::role::secret::generate(
            &client,
            &options.approle_mount,
            &options.role_name,
            None,
        )
        .await
        .map_err(fail(&format!("{role_path}/secret-id")))?;
        state.secret_id = Some(secret.secret_id);
        changed.push("issued a secret id".to_string());
        dirty = true;
    }
    if dirty {
        write_private(
            &options.state_file,
            &serde_json::to_vec_pretty(state).unwrap_or_default(),
        )
        .map_err(io_error)?;
    }
    if let (Some(file), Some(secret_id)) = (&options.secret_id_file, &state.secret_id)
        && std::fs::read_to_string(file).ok().as_deref() != Some(secret_id.as_str())
    {
        write_private(file, secret_id.as_bytes()).map_err(io_error)?;
    }
    Ok(())
}

/// Read and list the KV v2 data and metadata under the mount; nothing else.
/// The name of the policy that lets CI use the stack keys.
fn state_keys_policy(options: &BootstrapOptions) -> String {
    format!("{}-state-keys", options.policy_name)
}

/// Step 4: the transit engine, the stack keys' policy and the keys themselves.
async fn transit(
    options: &BootstrapOptions,
    sys: &SysHttp,
    root: &SecretString,
    client: &vaultrs::client::VaultClient,
    policy_name: &str,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let address = options.address.as_str();
    let mount = options.transit_mount.trim_matches('/');
    match sys.mounted("sys/mounts", mount, root).await? {
        Some((kind, _)) if kind == "transit" => {}
        Some((kind, _)) => {
            return Err(VaultError::Api {
                address: address.into(),
                path: format!("sys/mounts/{mount}"),
                detail: format!("`{kind}` is already mounted there, not transit"),
            });
        }
        None => {
            vaultrs::sys::mount::enable(client, mount, "transit", None)
                .await
                .map_err(|error| VaultError::from_client(address, "sys/mounts", error))?;
            changed.push(format!("enabled transit at {mount}"));
        }
    }
    let policy = state_keys_policy_text(mount, &options.key_prefix);
    let policy_path = format!("sys/policies/acl/{policy_name}");
    let current = match vaultrs::sys::policy::read(client, policy_name).await {
        Ok(existing) => Some(existing.rules),
        Err(ClientError::APIError { code: 404, .. }) => None,
        Err(error) => return Err(VaultError::from_client(address, &policy_path, error)),
    };
    if current.as_deref() != Some(policy.as_str()) {
        vaultrs::sys::policy::set(client, policy_name, &policy)
            .await
            .map_err(|error| VaultError::from_client(address, &policy_path, error))?;
        changed.push(format!("wrote policy {policy_name}"));
    }
    for key in &options.state_keys {
        let path = format!("{mount}/keys/{key}");
        match vaultrs::transit::key::read(client, mount, key).await {
            Ok(_) => {}
            Err(ClientError::APIError { code: 404, .. }) => {
                vaultrs::transit::key::create(client, mount, key, None)
                    .await
                    .map_err(|error| VaultError::from_client(address, &path, error))?;
                changed.push(format!("created transit key {key}"));
            }
            Err(error) => return Err(VaultError::from_client(address, &path, error)),
        }
    }
    Ok(())
}

/// Encrypt (a new data key) and decrypt with the stack keys, and read their description: nothing else, so CI
/// can neither rotate, export nor delete a key.
fn state_keys_policy_text(mount: &str, key_prefix: &str) -> String {
    let capabilities =
        |list: &[&str]| Expression::Array(list.iter().copied().map(cli_config_text).collect());
    let path = |path: String, list: &[&str]| {
        Block::builder("path")
            .add_label(path)
            .add_attribute(("capabilities", capabilities(list)))
            .build()
    };
    let body = Body::builder()
        .add_block(path(
            format!("{mount}/datakey/plaintext/{key_prefix}-*"),
            &["update"],
        ))
        .add_block(path(format!("{mount}/decrypt/{key_prefix}-*"), &["update"]))
        .add_block(path(format!("{mount}/keys/{key_prefix}-*"), &["read"]))
        .build();
    format!(
        "# Written by wildside-tofu vault bootstrap: the stack keys of state encryption.\n{}",
        hcl::format::to_string(&body).unwrap_or_default()
    )
}

fn policy_text(mount: &str) -> String {
    let capabilities = || {
        Expression::Array(
            ["create", "read", "update", "delete", "list"]
                .into_iter()
                .map(cli_config_text)
                .collect(),
        )
    };
    let body = Body::builder()
        .add_blocks(["data", "metadata"].map(|kind| {
            Block::builder("path")
                .add_label(format!("{mount}/{kind}/*"))
                .add_attribute(("capabilities", capabilities()))
                .build()
        }))
        .build();
    format!(
        "# Written by wildside-tofu vault bootstrap.\n{}",
        hcl::format::to_string(&body).unwrap_or_default()
    )
}

fn read_state(path: &Path) -> Result<Option<StateFile>, VaultError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            VaultError::Credential(format!(
                "the state file `{}` is not valid: {error}",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(VaultError::Io {
            context: format!("reading `{}`", path.display()),
            source,
        }),
    }
}

/// How long a CI secret id lasts: rotate it with `vault bootstrap --rotate-secret-id` before then.
const SECRET_ID_TTL: &str = "720h";
/// How many logins a CI secret id allows (one per CI job that touches Vault).
const SECRET_ID_USES: u64 = 2000;

fn io_error((context, source): (String, std::io::Error)) -> VaultError {
    VaultError::Io { context, source }
}

#[cfg(feature = "test-hooks")]
fn failpoint(step: &str) {
    if std::env::var("WILDSIDE_BOOTSTRAP_FAILPOINT").is_ok_and(|point| point == step) {
        eprintln!("failpoint: stopping after `{step}`");
        std::process::exit(137);
    }
}

#[cfg(not(feature = "test-hooks"))]
fn failpoint(_step: &str) {}

#[cfg(test)]
mod tests {
    use super::policy_text;

    #[test]
    fn a_mount_name_cannot_add_policy_rules() {
        let text = policy_text("kv\" {\n capabilities = [\"sudo\"]\n}\npath \"sys/*");
        let body = hcl::parse(&text).unwrap();
        let labels: Vec<String> = body
            .blocks()
            .map(|block| block.labels()[0].as_str().to_string())
            .collect();
        assert_eq!(
            labels,
            [
                "kv\" {\n capabilities = [\"sudo\"]\n}\npath \"sys/*/data/*",
                "kv\" {\n capabilities = [\"sudo\"]\n}\npath \"sys/*/metadata/*"
            ]
        );
    }
}
