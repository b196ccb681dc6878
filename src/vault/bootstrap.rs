//! `vault bootstrap`: bring a freshly installed Vault or OpenBao to a working state, idempotently.
//!
//! Each step checks before it acts, so a run that died anywhere can simply be run again:
//! 1. init only when uninitialised, and write the unseal keys and root token to the 0600 state file
//!    (atomically) before anything else;
//! 2. unseal with the stored keys only when sealed;
//! 3. KV v2 at the mount (refusing anything else mounted there) and AppRole;
//! 4. the transit engine for state encryption and a key for every stack of the project that encrypts its state
//!    with one, and per-role transit policies (see below);
//! 5. three AppRoles, built from the project's stacks (see `README.md`, "CI roles"):
//!    - the plan role (`<policy>-plan`, `<policy>-plan-keys`) runs pull-request code, so it is worth nothing
//!      beyond planning: it reads only the secrets plans take (a stack's `[secrets] plan` source when it names
//!      one) of the stacks pull requests may plan (`[vault] pull_request_plans`), decrypts only those stacks'
//!      state keys, and writes nothing; it can neither make a data key nor encrypt;
//!    - the preview role (`<policy>-preview`, `<policy>-preview-keys`) runs previews: it reads the secrets of
//!      stacks with `[preview]`, uses their state keys, and writes their ledger (but may not delete its
//!      metadata) and their `pr-*` workspaces' outputs;
//!    - the apply role (`<policy>-apply`, `<policy>-state-keys`) runs on trusted refs: it reads every
//!      stack's secrets, uses every state key `<key_prefix>-*`, and writes `<prefix>/<stack>/*` of each stack
//!      that writes outputs or keeps previews.
//!
//!    Their role ids, and a secret id each only when none is stored or on `--rotate-secret-id`;
//! 6. the former single CI role `<role>` and its policy `<policy>` (write access to the whole mount) are
//!    removed;
//! 7. on `--revoke-root`, the root token is revoked and dropped from the state file (the unseal keys stay).
//!    Later runs then need an administrative token in `VAULT_TOKEN`.
//!
//! In builds with the `test-hooks` feature (the test suite's, never a release), `WILDSIDE_BOOTSTRAP_FAILPOINT=<step>`
//! makes the process exit right after that step (`init`, `kv`); the crash-recovery tests use it to stop the run
//! at exact points.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl::{Block, Body, Expression};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder;
use vaultrs::api::sys::requests::EnableEngineRequestBuilder;
use vaultrs::client::VaultClient;

use super::client::build_client;
use super::error::{VaultError, http_status};
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
    /// Policies are named `<policy_name>-plan`, `<policy_name>-apply` and `<policy_name>-state-keys`.
    pub policy_name: String,
    /// The former single CI role, removed when found.
    pub legacy_role: String,
    /// The role of pull-request plans.
    pub plan_role: String,
    /// The role of previews.
    pub preview_role: String,
    /// The role that applies.
    pub apply_role: String,
    pub rotate_secret_id: bool,
    /// Where the apply role's secret id is also written.
    pub secret_id_file: Option<PathBuf>,
    /// Where the plan role's secret id is also written.
    pub plan_secret_id_file: Option<PathBuf>,
    /// Where the preview role's secret id is also written.
    pub preview_secret_id_file: Option<PathBuf>,
    /// How long to wait for a server that is starting (unreachable, or not yet answering).
    pub wait: Duration,
    /// Revoke the root token at the end and drop it from the state file.
    pub revoke_root: bool,
    /// The token to configure with once the root token was revoked (`VAULT_TOKEN`).
    pub admin_token: Option<SecretString>,
    /// The transit engine's mount, for state keys.
    pub transit_mount: String,
    /// Secrets are read under `<kv_mount>/data/<key_prefix>/`, and state keys are named `<key_prefix>-<stack>`
    /// (the stacks' `[vault] path_prefix`).
    pub key_prefix: String,
    /// Transit keys to create (the project's stacks' keys).
    pub state_keys: Vec<String>,
    /// The project's stacks with `[vault]`: what the roles may read and write.
    pub stacks: Vec<StackScope>,
}

/// Where a stack of the project reads and writes in Vault.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StackScope {
    pub name: String,
    pub mount: String,
    pub path_prefix: String,
    /// The stack writes `[outputs_to_vault]`.
    pub writes_outputs: bool,
    /// The stack has `[preview]`: a ledger and `pr-*` workspaces.
    pub previews: bool,
    /// The paths (under `mount`) of the secrets its `[secrets]` take in when it applies.
    pub secret_paths: Vec<String>,
    /// The paths of the secrets it takes in when it only plans.
    pub plan_secret_paths: Vec<String>,
    /// Pull-request plans may plan it (the plan role decrypts its state).
    pub pull_request_plans: bool,
    /// The transit mount and key its state is encrypted with, if any.
    pub state_key: Option<(String, String)>,
}

/// What CI needs, and what this run did. The secret ids themselves are only ever in files.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    pub address: String,
    pub ca_cert: Option<PathBuf>,
    /// The role of pull-request plans.
    pub plan: RoleReport,
    /// The role of previews.
    pub preview: RoleReport,
    /// The role that applies.
    pub apply: RoleReport,
    pub state_file: PathBuf,
    /// The root token is revoked (now or by an earlier run): later runs need `VAULT_TOKEN`.
    pub root_token_revoked: bool,
    /// Steps that changed something, in order; empty when the server was already bootstrapped.
    pub changed: Vec<String>,
}

/// One AppRole: its name, role id, where its secret id was written, and the paths it may write.
#[derive(Debug, Clone, Serialize)]
pub struct RoleReport {
    pub role: String,
    pub role_id: String,
    pub secret_id_file: Option<PathBuf>,
    /// KV paths (with globs) the role may write.
    pub writes: Vec<String>,
}

/// The state file's content. Written with mode 0600, never printed.
#[derive(Default, Serialize, Deserialize)]
struct StateFile {
    unseal_keys_b64: Vec<String>,
    /// Absent once revoked with `--revoke-root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<RoleCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preview: Option<RoleCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apply: Option<RoleCredentials>,
}

impl std::fmt::Debug for StateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateFile { .. }")
    }
}

/// A role's credentials as issued: a secret id belongs to the role (name and id) it was issued for.
#[derive(Clone, Serialize, Deserialize)]
struct RoleCredentials {
    role: String,
    role_id: String,
    secret_id: String,
}

/// One of the two CI roles, as bootstrap configures it.
struct RoleSpec<'a> {
    name: &'a str,
    policies: Vec<String>,
    secret_id_file: Option<&'a Path>,
}

/// A KV rule: a path (with globs) and its capabilities.
type Rule = (String, &'static [&'static str]);

const READ: &[&str] = &["read"];
const WRITE_DATA: &[&str] = &["create", "read", "update"];
const WRITE_METADATA: &[&str] = &["read", "update", "delete"];
const DENY: &[&str] = &["deny"];
/// A ledger's metadata: read (its version, for check-and-set) and update, never delete.
const LEDGER_METADATA: &[&str] = &["read", "update"];
const UPDATE: &[&str] = &["update"];

pub async fn bootstrap(options: &BootstrapOptions) -> Result<BootstrapReport, VaultError> {
    let sys = SysHttp::new(&options.address, options.ca_cert.as_deref())?;
    let mut changed = Vec::new();
    let mut state = read_state(&options.state_file)?;
    let status = first_status(&sys, options).await?;
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
            root_token: Some(init.root_token.expose_secret().to_string()),
            ..StateFile::default()
        };
        save_state(&options.state_file, &fresh)?;
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
    let token = match (&state.root_token, &options.admin_token) {
        (Some(root), _) => SecretString::from(root.clone()),
        (None, Some(admin)) => admin.clone(),
        (None, None) => {
            return Err(VaultError::Credential(format!(
                "the root token of Vault at {} was revoked (`{}` keeps only the unseal keys) and VAULT_TOKEN is not set\n  hint: set VAULT_TOKEN to a token with an administrative policy, or make a short-lived root token with `bao operator generate-root` and the unseal keys, then run again with it in VAULT_TOKEN and revoke it afterwards",
                options.address,
                options.state_file.display()
            )));
        }
    };
    configure(options, &sys, &token, &mut state, &mut changed).await?;
    if options.revoke_root && state.root_token.is_some() {
        let client = build_client(&options.address, &token, options.ca_cert.as_deref(), None)?;
        vaultrs::token::revoke_self(&client)
            .await
            .map_err(|error| {
                VaultError::from_client(&options.address, "auth/token/revoke-self", error)
            })?;
        state.root_token = None;
        save_state(&options.state_file, &state)?;
        changed.push("revoked the root token".to_string());
    }
    let plan = role_report(
        &options.plan_role,
        state.plan.as_ref(),
        &options.plan_secret_id_file,
        &plan_rules(options),
    );
    let preview = role_report(
        &options.preview_role,
        state.preview.as_ref(),
        &options.preview_secret_id_file,
        &preview_rules(options),
    );
    let apply = role_report(
        &options.apply_role,
        state.apply.as_ref(),
        &options.secret_id_file,
        &apply_rules(options),
    );
    Ok(BootstrapReport {
        address: options.address.clone(),
        ca_cert: options.ca_cert.clone(),
        plan,
        preview,
        apply,
        state_file: options.state_file.clone(),
        root_token_revoked: state.root_token.is_none(),
        changed,
    })
}

/// The server's seal status, waiting up to `--wait` for a server that is starting: one that refuses or drops
/// connections (a load balancer with no healthy node closes them before TLS completes), or whose proxy answers
/// 502 to 504. Any other failure, a certificate that does not verify among them, is final at once.
async fn first_status(
    sys: &SysHttp,
    options: &BootstrapOptions,
) -> Result<super::seal::SealStatus, VaultError> {
    let deadline = std::time::Instant::now() + options.wait;
    let mut told = false;
    loop {
        match sys.seal_status().await {
            Err(VaultError::Unreachable { address, detail })
                if std::time::Instant::now() < deadline =>
            {
                if !told {
                    tracing::info!(
                        "waiting up to {} for Vault at {address} to start ({detail})",
                        crate::duration::display(options.wait)
                    );
                    told = true;
                }
                crate::engine::pause(Duration::from_millis(500)).await?;
            }
            Err(VaultError::Unreachable { address, detail }) if told => {
                return Err(VaultError::Unreachable {
                    address,
                    detail: format!(
                        "{detail} (still, after waiting {})",
                        crate::duration::display(options.wait)
                    ),
                });
            }
            other => return other,
        }
    }
}

/// Steps 3 to 6: engines, policies, roles, role ids and secret ids, and the former role's removal.
async fn configure(
    options: &BootstrapOptions,
    sys: &SysHttp,
    token: &SecretString,
    state: &mut StateFile,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let address = options.address.as_str();
    let client = build_client(address, token, options.ca_cert.as_deref(), None)?;
    match sys.mounted("sys/mounts", &options.kv_mount, token).await? {
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
                .map_err(|error| VaultError::from_client(address, "sys/mounts", error))?;
            changed.push(format!("enabled KV v2 at {}", options.kv_mount));
        }
    }
    failpoint("kv");
    if sys
        .mounted("sys/auth", &options.approle_mount, token)
        .await?
        .is_none()
    {
        vaultrs::sys::auth::enable(&client, &options.approle_mount, "approle", None)
            .await
            .map_err(|error| VaultError::from_client(address, "sys/auth", error))?;
        changed.push(format!("enabled AppRole at {}", options.approle_mount));
    }
    let keys_policy = format!("{}-state-keys", options.policy_name);
    transit(options, sys, token, &client, &keys_policy, changed).await?;
    let name = |suffix: &str| format!("{}-{suffix}", options.policy_name);
    let policies = [
        (
            name("plan"),
            kv_policy_text("pull-request plans", &plan_rules(options)),
        ),
        (
            name("plan-keys"),
            transit_policy_text("pull-request plans", &plan_key_rules(options)),
        ),
        (
            name("preview"),
            kv_policy_text("previews", &preview_rules(options)),
        ),
        (
            name("preview-keys"),
            transit_policy_text("previews", &preview_key_rules(options)),
        ),
        (
            name("apply"),
            kv_policy_text("applies", &apply_rules(options)),
        ),
    ];
    for (policy, text) in &policies {
        ensure_policy(&client, address, policy, text, changed).await?;
    }
    let plan = RoleSpec {
        name: &options.plan_role,
        policies: vec![name("plan"), name("plan-keys")],
        secret_id_file: options.plan_secret_id_file.as_deref(),
    };
    let preview = RoleSpec {
        name: &options.preview_role,
        policies: vec![name("preview"), name("preview-keys")],
        secret_id_file: options.preview_secret_id_file.as_deref(),
    };
    let apply = RoleSpec {
        name: &options.apply_role,
        policies: vec![name("apply"), keys_policy],
        secret_id_file: options.secret_id_file.as_deref(),
    };
    let mut dirty = false;
    for (spec, credentials) in [
        (&plan, &mut state.plan),
        (&preview, &mut state.preview),
        (&apply, &mut state.apply),
    ] {
        dirty |= ensure_role(options, &client, spec, credentials, changed).await?;
    }
    remove_former_role(options, &client, changed).await?;
    if dirty {
        save_state(&options.state_file, state)?;
    }
    for (spec, credentials) in [
        (&plan, &state.plan),
        (&preview, &state.preview),
        (&apply, &state.apply),
    ] {
        if let (Some(file), Some(credentials)) = (spec.secret_id_file, credentials)
            && std::fs::read_to_string(file).ok().as_deref() != Some(credentials.secret_id.as_str())
        {
            write_private(file, credentials.secret_id.as_bytes()).map_err(io_error)?;
        }
    }
    Ok(())
}

/// Writes the policy unless it already reads `text`. Only a 404 means absent: a refusal or a failed request
/// must not be taken for it and written over.
async fn ensure_policy(
    client: &VaultClient,
    address: &str,
    name: &str,
    text: &str,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let path = format!("sys/policies/acl/{name}");
    let current = match vaultrs::sys::policy::read(client, name).await {
        Ok(existing) => Some(existing.rules),
        Err(error) if http_status(&error) == Some(404) => None,
        Err(error) => return Err(VaultError::from_client(address, &path, error)),
    };
    if current.as_deref() != Some(text) {
        vaultrs::sys::policy::set(client, name, text)
            .await
            .map_err(|error| VaultError::from_client(address, &path, error))?;
        changed.push(format!("wrote policy {name}"));
    }
    Ok(())
}

/// Creates or corrects the role, reads its role id and issues a secret id when none is stored for this role
/// (or on `--rotate-secret-id`). Returns whether the stored credentials changed.
async fn ensure_role(
    options: &BootstrapOptions,
    client: &VaultClient,
    spec: &RoleSpec<'_>,
    credentials: &mut Option<RoleCredentials>,
    changed: &mut Vec<String>,
) -> Result<bool, VaultError> {
    let address = options.address.as_str();
    let mount = options.approle_mount.as_str();
    let role_path = format!("auth/{mount}/role/{}", spec.name);
    let fail = |path: &str| {
        let path = path.to_string();
        move |error| VaultError::from_client(address, &path, error)
    };
    let current = match vaultrs::auth::approle::role::read(client, mount, spec.name).await {
        Ok(role) => Some(role),
        Err(error) if http_status(&error) == Some(404) => None,
        Err(error) => return Err(fail(&role_path)(error)),
    };
    let wanted: BTreeSet<&String> = spec.policies.iter().collect();
    let up_to_date = current.as_ref().is_some_and(|role| {
        role.token_policies.iter().collect::<BTreeSet<_>>() == wanted
            && role.token_ttl == TOKEN_TTL_SECONDS
            && role.token_max_ttl == TOKEN_MAX_TTL_SECONDS
            && role.secret_id_ttl == SECRET_ID_TTL_SECONDS
            && role.secret_id_num_uses == SECRET_ID_USES
    });
    if !up_to_date {
        let mut request = SetAppRoleRequestBuilder::default();
        request
            .token_policies(spec.policies.clone())
            .token_ttl(TOKEN_TTL_SECONDS.to_string())
            .token_max_ttl(TOKEN_MAX_TTL_SECONDS.to_string())
            .secret_id_ttl(SECRET_ID_TTL_SECONDS.to_string())
            .secret_id_num_uses(SECRET_ID_USES);
        vaultrs::auth::approle::role::set(client, mount, spec.name, Some(&mut request))
            .await
            .map_err(fail(&role_path))?;
        changed.push(format!(
            "{} role {}",
            if current.is_some() {
                "updated"
            } else {
                "created"
            },
            spec.name
        ));
    }
    let role_id = vaultrs::auth::approle::role::read_id(client, mount, spec.name)
        .await
        .map_err(fail(&format!("{role_path}/role-id")))?
        .role_id;
    let current_credentials = credentials
        .as_ref()
        .filter(|stored| stored.role == spec.name && stored.role_id == role_id);
    if current_credentials.is_some() && !options.rotate_secret_id {
        return Ok(false);
    }
    let secret = vaultrs::auth::approle::role::secret::generate(client, mount, spec.name, None)
        .await
        .map_err(fail(&format!("{role_path}/secret-id")))?;
    *credentials = Some(RoleCredentials {
        role: spec.name.to_string(),
        role_id,
        secret_id: secret.secret_id,
    });
    changed.push(format!("issued a secret id for {}", spec.name));
    Ok(true)
}

/// Removes the former single CI role and its policy, which could write anywhere in the mount.
async fn remove_former_role(
    options: &BootstrapOptions,
    client: &VaultClient,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let address = options.address.as_str();
    let mount = options.approle_mount.as_str();
    let role = options.legacy_role.as_str();
    if role != options.plan_role && role != options.preview_role && role != options.apply_role {
        let path = format!("auth/{mount}/role/{role}");
        match vaultrs::auth::approle::role::read(client, mount, role).await {
            Ok(_) => {
                vaultrs::auth::approle::role::delete(client, mount, role)
                    .await
                    .map_err(|error| VaultError::from_client(address, &path, error))?;
                changed.push(format!("removed the former role {role}"));
            }
            Err(error) if http_status(&error) == Some(404) => {}
            Err(error) => return Err(VaultError::from_client(address, &path, error)),
        }
    }
    let policy = options.policy_name.as_str();
    let path = format!("sys/policies/acl/{policy}");
    match vaultrs::sys::policy::read(client, policy).await {
        Ok(_) => {
            vaultrs::sys::policy::delete(client, policy)
                .await
                .map_err(|error| VaultError::from_client(address, &path, error))?;
            changed.push(format!("removed the former policy {policy}"));
        }
        Err(error) if http_status(&error) == Some(404) => {}
        Err(error) => return Err(VaultError::from_client(address, &path, error)),
    }
    Ok(())
}

/// Step 4: the transit engine, the stack keys' policy and the keys themselves.
async fn transit(
    options: &BootstrapOptions,
    sys: &SysHttp,
    token: &SecretString,
    client: &VaultClient,
    policy_name: &str,
    changed: &mut Vec<String>,
) -> Result<(), VaultError> {
    let address = options.address.as_str();
    let mount = options.transit_mount.trim_matches('/');
    match sys.mounted("sys/mounts", mount, token).await? {
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
    ensure_policy(client, address, policy_name, &policy, changed).await?;
    for key in &options.state_keys {
        let path = format!("{mount}/keys/{key}");
        match vaultrs::transit::key::read(client, mount, key).await {
            Ok(_) => {}
            Err(error) if http_status(&error) == Some(404) => {
                crate::encryption::create_backed_up_key(client, mount, key)
                    .await
                    .map_err(|error| VaultError::from_client(address, &path, error))?;
                changed.push(format!("created transit key {key}"));
            }
            Err(error) => return Err(VaultError::from_client(address, &path, error)),
        }
    }
    Ok(())
}

/// An HCL policy of `path` blocks, built with hcl-rs so that no name can add rules of its own.
fn policy_document(header: &str, rules: &[Rule]) -> String {
    let body = Body::builder()
        .add_blocks(rules.iter().map(|(path, capabilities)| {
            Block::builder("path")
                .add_label(path.as_str())
                .add_attribute((
                    "capabilities",
                    Expression::Array(capabilities.iter().copied().map(cli_config_text).collect()),
                ))
                .build()
        }))
        .build();
    format!(
        "# Written by wildside-tofu vault bootstrap: {header}.\n{}",
        hcl::format::to_string(&body).unwrap_or_default()
    )
}

/// Encrypt (a new data key) and decrypt with the stack keys, and read their description: nothing else, so the
/// apply role can neither rotate, export nor delete a key.
fn state_keys_policy_text(mount: &str, key_prefix: &str) -> String {
    policy_document(
        "the stack keys of state encryption",
        &[
            (format!("{mount}/datakey/plaintext/{key_prefix}-*"), UPDATE),
            (format!("{mount}/decrypt/{key_prefix}-*"), UPDATE),
            (format!("{mount}/keys/{key_prefix}-*"), READ),
        ],
    )
}

fn kv_policy_text(purpose: &str, rules: &[Rule]) -> String {
    policy_document(&format!("the KV paths of {purpose}"), rules)
}

fn transit_policy_text(purpose: &str, rules: &[Rule]) -> String {
    policy_document(&format!("the state keys of {purpose}"), rules)
}

/// The transit mounts the project uses: the bootstrap's and every stack's.
fn transit_mounts(options: &BootstrapOptions) -> BTreeSet<&str> {
    std::iter::once(options.transit_mount.trim_matches('/'))
        .chain(
            options
                .stacks
                .iter()
                .filter_map(|stack| stack.state_key.as_ref())
                .map(|(mount, _)| mount.as_str()),
        )
        .collect()
}

/// The plan role's keys: decrypt, and read the description of, the keys of stacks pull requests may plan;
/// data keys and encryption are denied on every key (a plan gets its data keys from the run's own transit
/// endpoint, see `vault::local_transit`).
fn plan_key_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let mut rules: Vec<Rule> = transit_mounts(options)
        .into_iter()
        .flat_map(|mount| {
            [
                (format!("{mount}/datakey/*"), DENY),
                (format!("{mount}/encrypt/*"), DENY),
            ]
        })
        .collect();
    let keys: BTreeSet<&(String, String)> = options
        .stacks
        .iter()
        .filter(|stack| stack.pull_request_plans)
        .filter_map(|stack| stack.state_key.as_ref())
        .collect();
    for (mount, key) in keys {
        rules.push((format!("{mount}/decrypt/{key}"), UPDATE));
        rules.push((format!("{mount}/keys/{key}"), READ));
    }
    rules
}

/// The preview role's keys: a data key and decryption with the keys of stacks with `[preview]`.
fn preview_key_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let mut rules: Vec<Rule> = transit_mounts(options)
        .into_iter()
        .map(|mount| (format!("{mount}/encrypt/*"), DENY))
        .collect();
    let keys: BTreeSet<&(String, String)> = options
        .stacks
        .iter()
        .filter(|stack| stack.previews)
        .filter_map(|stack| stack.state_key.as_ref())
        .collect();
    for (mount, key) in keys {
        rules.push((format!("{mount}/datakey/plaintext/{key}"), UPDATE));
        rules.push((format!("{mount}/decrypt/{key}"), UPDATE));
        rules.push((format!("{mount}/keys/{key}"), READ));
    }
    rules
}

/// The KV mounts the project uses: the bootstrap's and every stack's.
fn kv_mounts(options: &BootstrapOptions) -> BTreeSet<&str> {
    std::iter::once(options.kv_mount.as_str())
        .chain(options.stacks.iter().map(|stack| stack.mount.as_str()))
        .collect()
}

/// Reading exactly the secrets `paths` gives for the stacks `which` selects.
fn secret_reads(
    options: &BootstrapOptions,
    which: impl Fn(&StackScope) -> bool,
    paths: impl Fn(&StackScope) -> &[String],
) -> Vec<Rule> {
    let reads: BTreeSet<String> = options
        .stacks
        .iter()
        .filter(|stack| which(stack))
        .flat_map(|stack| {
            paths(stack)
                .iter()
                .map(|path| format!("{}/data/{path}", stack.mount))
        })
        .collect();
    reads.into_iter().map(|path| (path, READ)).collect()
}

/// Reading the secrets stacks take in when they apply: everything under `<mount>/data/<prefix>/`, for the
/// bootstrap's mount and prefix and each stack's, and the exact paths of every stack's secrets.
fn read_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let scopes: BTreeSet<(&str, &str)> =
        std::iter::once((options.kv_mount.as_str(), options.key_prefix.as_str()))
            .chain(
                options
                    .stacks
                    .iter()
                    .map(|stack| (stack.mount.as_str(), stack.path_prefix.as_str())),
            )
            .collect();
    let mut rules: Vec<Rule> = scopes
        .into_iter()
        .map(|(mount, prefix)| (format!("{mount}/data/{prefix}/*"), READ))
        .collect();
    rules.extend(secret_reads(
        options,
        |_| true,
        |stack| stack.secret_paths.as_slice(),
    ));
    rules.extend(secret_reads(
        options,
        |_| true,
        |stack| stack.plan_secret_paths.as_slice(),
    ));
    rules
}

/// A stack's KV data and metadata under `<prefix>/<stack>/<tail>`: writing data (check-and-set needs to
/// read it), the custom metadata, and removing it.
fn write_rules(stack: &StackScope, tail: &str) -> [Rule; 2] {
    let path = format!("{}/{}/{tail}", stack.path_prefix, stack.name);
    [
        (format!("{}/data/{path}", stack.mount), WRITE_DATA),
        (format!("{}/metadata/{path}", stack.mount), WRITE_METADATA),
    ]
}

/// The secret under `<kv_mount>/data/<key_prefix>/` that holds the read-only Spaces keys plans reach an S3
/// backend with (`access_key`, `secret_key`); the write keys beside it stay the apply and preview roles'.
const PLAN_BACKEND_SECRET: &str = "spaces-read";

/// Pull-request plans: read the plan secrets of the stacks pull requests may plan and the read-only backend
/// keys, and nothing else; no metadata at all, and no writes.
fn plan_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let mut rules: Vec<Rule> = kv_mounts(options)
        .into_iter()
        .map(|mount| (format!("{mount}/metadata/*"), DENY))
        .collect();
    rules.push((
        format!(
            "{}/data/{}/{PLAN_BACKEND_SECRET}",
            options.kv_mount, options.key_prefix
        ),
        READ,
    ));
    rules.extend(secret_reads(
        options,
        |stack| stack.pull_request_plans,
        |stack| stack.plan_secret_paths.as_slice(),
    ));
    rules
}

/// Previews: read the secrets of stacks with `[preview]`; write their ledger (data, and metadata without
/// deleting it) and their `pr-*` workspaces' outputs. Nothing else: no stack's `default` outputs.
fn preview_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let mut rules: Vec<Rule> = kv_mounts(options)
        .into_iter()
        .map(|mount| (format!("{mount}/metadata/*"), DENY))
        .collect();
    rules.extend(secret_reads(
        options,
        |stack| stack.previews,
        |stack| stack.secret_paths.as_slice(),
    ));
    for stack in options.stacks.iter().filter(|stack| stack.previews) {
        let ledger = format!("{}/{}/previews", stack.path_prefix, stack.name);
        rules.push((format!("{}/data/{ledger}", stack.mount), WRITE_DATA));
        rules.push((
            format!("{}/metadata/{ledger}", stack.mount),
            LEDGER_METADATA,
        ));
        rules.extend(write_rules(stack, "pr-*"));
    }
    rules
}

/// Applies: read the secrets in; write under `<prefix>/<stack>/` for each stack that writes outputs or keeps
/// previews.
fn apply_rules(options: &BootstrapOptions) -> Vec<Rule> {
    let mut rules = read_rules(options);
    for stack in options
        .stacks
        .iter()
        .filter(|stack| stack.writes_outputs || stack.previews)
    {
        rules.extend(write_rules(stack, "*"));
    }
    rules
}

/// A role as the report shows it: the data paths its rules may write, never its secret id.
fn role_report(
    role: &str,
    credentials: Option<&RoleCredentials>,
    secret_id_file: &Option<PathBuf>,
    rules: &[Rule],
) -> RoleReport {
    RoleReport {
        role: role.to_string(),
        role_id: credentials
            .map(|credentials| credentials.role_id.clone())
            .unwrap_or_default(),
        secret_id_file: secret_id_file.clone(),
        writes: rules
            .iter()
            .filter(|(_, capabilities)| capabilities.contains(&"create"))
            .map(|(path, _)| path.clone())
            .collect(),
    }
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

fn save_state(path: &Path, state: &StateFile) -> Result<(), VaultError> {
    write_private(path, &serde_json::to_vec_pretty(state).unwrap_or_default()).map_err(io_error)
}

/// A CI token's lifetime (one hour) and longest renewal (four hours), in seconds.
const TOKEN_TTL_SECONDS: u64 = 3600;
const TOKEN_MAX_TTL_SECONDS: u64 = 4 * 3600;
/// How long a CI secret id lasts (30 days): rotate it with `vault bootstrap --rotate-secret-id` before then.
const SECRET_ID_TTL_SECONDS: u64 = 30 * 24 * 3600;
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
    use super::{READ, kv_policy_text};

    #[test]
    fn a_mount_name_cannot_add_policy_rules() {
        let mount = "kv\" {\n capabilities = [\"sudo\"]\n}\npath \"sys/*";
        let text = kv_policy_text("tests", &[(format!("{mount}/data/x/*"), READ)]);
        let body = hcl::parse(&text).unwrap();
        let labels: Vec<String> = body
            .blocks()
            .map(|block| block.labels()[0].as_str().to_string())
            .collect();
        assert_eq!(labels, [format!("{mount}/data/x/*")]);
    }
}
