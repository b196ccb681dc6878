//! `gitops bootstrap <stack>`: Flux into the stack's cluster, pinned, pointed at the platform repository's
//! cluster path. Flux's CRDs (generated from its pinned Go modules by `make tools`) and, when `flux_url` names
//! them, its controllers are applied server-side; then the repository credential (kept in Vault, written
//! there once from `$WILDSIDE_GITOPS_TOKEN`) becomes the Secret the `GitRepository` reads, and the
//! `GitRepository` and `Kustomization` named `flux-system` are applied. Every step is a server-side apply, so
//! running it again changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::preview_cluster_app::carried_app;
use super::report::Report;
use crate::error::Error;
use crate::gitops::{
    APPS_CREDENTIALS, Documents, FLUX_NAMESPACE, GitopsError, PLATFORM_SOURCE, needs_credential,
    preview_cluster_path,
};
use crate::private_file::write_private;
use crate::run::context::Context;
use crate::stack::{GitopsSettings, Stack};
use crate::vault::{Vault, VaultError, http_status, read_output};

pub struct BootstrapArgs {
    pub stack: String,
    pub workspace: String,
    /// A directory of Flux's CRDs (default `$WILDSIDE_FLUX_CRDS`).
    pub crds: Option<PathBuf>,
    /// The cluster's kubeconfig (default: the stack's `kubeconfig` output, read from Vault).
    pub kubeconfig: Option<PathBuf>,
}

/// The Secret holding the platform repository's credential.
const CREDENTIAL_SECRET: &str = "flux-system";

pub async fn gitops_bootstrap(context: &Context, args: BootstrapArgs) -> Result<Report, Error> {
    let stack = context.project.load_stack(&args.stack)?;
    let settings = stack.gitops.clone().ok_or_else(|| GitopsError::NotGitops {
        stack: stack.name.clone(),
    })?;
    let crds = args
        .crds
        .or_else(|| std::env::var_os("WILDSIDE_FLUX_CRDS").map(PathBuf::from))
        .ok_or_else(|| {
            Error::Usage(
                "Flux's CRDs are needed: pass --crds DIR or set $WILDSIDE_FLUX_CRDS\n  hint: `make tools` generates them from Flux's Go modules (FLUX_CRDS in kube-tools.env)"
                    .to_string(),
            )
        })?;
    let vault = match &stack.vault {
        Some(settings) => Some(Vault::connect(settings, &context.project.root).await?),
        None => None,
    };
    let scratch =
        tempfile::tempdir().map_err(|error| Error::io("creating a scratch directory", error))?;
    let kubeconfig = match args.kubeconfig {
        Some(path) => path,
        None => {
            let text = stack_kubeconfig(&stack, vault.as_ref(), &args.workspace).await?;
            let path = scratch.path().join("kubeconfig");
            write_private(&path, text.expose_secret().as_bytes())
                .map_err(|(what, source)| Error::io(what, source))?;
            path
        }
    };
    let kubectl = Kubectl {
        binary: std::env::var_os("WILDSIDE_KUBECTL")
            .map_or_else(|| PathBuf::from("kubectl"), PathBuf::from),
        kubeconfig,
    };
    let mut applied = Vec::new();
    let namespace = Documents::default().push(&json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": FLUX_NAMESPACE },
    }))?;
    kubectl.apply_text(namespace.text()).await?;
    applied.push(format!("Namespace/{FLUX_NAMESPACE}"));
    kubectl.apply_path(&crds).await?;
    applied.push(format!(
        "Flux {} CRDs from {}",
        settings.flux_version,
        crds.display()
    ));
    if let Some(url) = &settings.flux_url {
        kubectl.apply_path(Path::new(url)).await?;
        applied.push(format!(
            "Flux {} controllers from {url}",
            settings.flux_version
        ));
    }
    let platform_credential = needs_credential(&settings.source_url);
    let apps_credential = settings
        .apps
        .as_ref()
        .is_some_and(|apps| needs_credential(&apps.source_url));
    let mut documents = Documents::default();
    if platform_credential || apps_credential {
        let vault = vault.as_ref().ok_or_else(|| {
            Error::Usage(format!(
                "stack `{}` keeps its repository credential in Vault, and has no [vault]\n  hint: add [vault] to the stack",
                stack.name
            ))
        })?;
        let (username, password) = credential(vault, &stack.name).await?;
        for name in [CREDENTIAL_SECRET, APPS_CREDENTIALS] {
            documents = documents.push(&json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": { "name": name, "namespace": FLUX_NAMESPACE },
                "type": "Opaque",
                "stringData": { "username": username, "password": password.expose_secret() },
            }))?;
            applied.push(format!("Secret/{name}"));
        }
    }
    let url = settings.source_url.clone();
    let mut source_spec = json!({
        "interval": "1m",
        "url": url,
        "ref": { "branch": settings.branch },
    });
    if platform_credential {
        source_spec["secretRef"] = json!({ "name": CREDENTIAL_SECRET });
    }
    documents = documents
        .push(&json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": { "name": PLATFORM_SOURCE, "namespace": FLUX_NAMESPACE },
            "spec": source_spec,
        }))?
        .push(&json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": { "name": PLATFORM_SOURCE, "namespace": FLUX_NAMESPACE },
            "spec": {
                "interval": "10m",
                "path": format!("./{}", cluster_path(&stack, &settings, &args.workspace)),
                "prune": true,
                "sourceRef": { "kind": "GitRepository", "name": PLATFORM_SOURCE },
            },
        }))?;
    kubectl.apply_text(documents.text()).await?;
    applied.push(format!("GitRepository/{PLATFORM_SOURCE}"));
    applied.push(format!("Kustomization/{PLATFORM_SOURCE}"));
    Ok(Report::Gitops {
        action: "bootstrap".into(),
        stack: stack.name,
        directory: None,
        remote: Some(url),
        changed: applied,
        commit: None,
    })
}

/// The directory Flux watches: a cluster preview that carries the application has its own
/// (`<cluster_path>-pr-<n>`, which `preview up` writes); every other cluster the stack's `cluster_path`.
fn cluster_path(stack: &Stack, settings: &GitopsSettings, workspace: &str) -> String {
    match crate::preview::pr_of(workspace) {
        Some(pr) if carried_app(stack).is_some() => preview_cluster_path(settings, pr),
        _ => settings.cluster_path.clone(),
    }
}

/// The cluster's kubeconfig: the stack's `kubeconfig` output in Vault.
async fn stack_kubeconfig(
    stack: &Stack,
    vault: Option<&Vault>,
    workspace: &str,
) -> Result<SecretString, Error> {
    let (Some(vault), Some(target)) = (
        vault,
        stack
            .outputs_to_vault
            .iter()
            .find(|target| target.output == "kubeconfig"),
    ) else {
        return Err(Error::Usage(format!(
            "stack `{}` does not write its `kubeconfig` output to Vault\n  hint: add `kubeconfig = \"kubeconfig\"` to [outputs_to_vault], or pass --kubeconfig FILE",
            stack.name
        )));
    };
    Ok(read_output(
        vault,
        &vault.output_path(&stack.name, workspace, &target.path),
    )
    .await?)
}

/// The repository credential from Vault; written there first from `$WILDSIDE_GITOPS_TOKEN` when Vault has
/// none.
async fn credential(vault: &Vault, stack: &str) -> Result<(String, SecretString), Error> {
    let path = vault.output_path(stack, "gitops", "repository");
    let full_path = format!("{}/data/{path}", vault.mount);
    let existing: Result<HashMap<String, Value>, _> =
        vaultrs::kv2::read(&vault.client, &vault.mount, &path).await;
    match existing {
        Ok(data) => {
            let field = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
            let (Some(username), Some(password)) = (field("username"), field("password")) else {
                return Err(VaultError::MissingKey {
                    address: vault.address.clone(),
                    path: full_path,
                    key: "username and password".into(),
                }
                .into());
            };
            Ok((username, SecretString::from(password)))
        }
        Err(error) if http_status(&error) == Some(404) => {
            let token = std::env::var("WILDSIDE_GITOPS_TOKEN").map_err(|_| Error::MissingEnv {
                name: "WILDSIDE_GITOPS_TOKEN",
                hint: "\n  hint: the repository credential is not in Vault yet: export a token that can read the platform repository once, and bootstrap keeps it in Vault",
            })?;
            let token = SecretString::from(token);
            let username = "wildside-tofu".to_string();
            let data = HashMap::from([
                ("username", username.as_str()),
                ("password", token.expose_secret()),
            ]);
            vaultrs::kv2::set(&vault.client, &vault.mount, &path, &data)
                .await
                .map_err(|error| VaultError::from_client(&vault.address, &full_path, error))?;
            Ok((username, token))
        }
        Err(error) => Err(VaultError::from_client(&vault.address, &full_path, error).into()),
    }
}

/// `kubectl` against one cluster, applying server-side as Flux's kustomize-controller does.
struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args([
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager",
                "wildside-tofu",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn apply_path(&self, path: &Path) -> Result<(), Error> {
        let mut command = self.command();
        command.arg("-f").arg(path).stdin(Stdio::null());
        let output = command
            .output()
            .await
            .map_err(|error| self.missing(error))?;
        self.check(output, &path.display().to_string())
    }

    /// Applies manifests given on standard input (a Secret's value never touches the disk).
    async fn apply_text(&self, text: &str) -> Result<(), Error> {
        let mut command = self.command();
        command.args(["-f", "-"]).stdin(Stdio::piped());
        let mut child = command.spawn().map_err(|error| self.missing(error))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .await
                .map_err(|error| Error::io("writing manifests to kubectl", error))?;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|error| Error::io("waiting for kubectl", error))?;
        self.check(output, "the bootstrap manifests")
    }

    fn missing(&self, error: std::io::Error) -> Error {
        Error::io(
            format!(
                "running `{}` (set $WILDSIDE_KUBECTL to another kubectl)",
                self.binary.display()
            ),
            error,
        )
    }

    fn check(&self, output: std::process::Output, what: &str) -> Result<(), Error> {
        if output.status.success() {
            return Ok(());
        }
        Err(GitopsError::Kubectl {
            what: what.to_string(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }
        .into())
    }
}
