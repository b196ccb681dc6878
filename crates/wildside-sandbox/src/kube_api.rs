//! The sandbox's Kubernetes clusters as real API servers: each cluster runs an etcd, a kube-apiserver and a
//! kube-controller-manager on loopback ports, with no nodes, so its kubeconfig works with kubectl and client
//! libraries as a DOKS cluster's does.
//!
//! Each cluster has its own certificate authority, a serving certificate for 127.0.0.1, a client certificate
//! for its controller manager, and a service-account signing key, in `<data dir>/clusters/<name>/` (keys
//! readable by the sandbox's user only). The kubeconfigs the API hands out carry a bearer token the sandbox
//! issues: valid for its cluster until it expires, after `--kube-token-lifetime` (seven days, as on DOKS) or
//! the request's `expiry_seconds`. The API server asks the sandbox about every bearer token through a token
//! webhook, with no cache, so a token is refused from the moment it expires. Token holders are cluster
//! administrators (`system:masters`), as a DOKS kubeconfig's user is; RBAC is on for everyone else.
//!
//! Without etcd and kube-apiserver (`kube-tools.env`, written by `make tools`), or with `--simulated-clusters`,
//! clusters are simulated: their kubeconfigs name a server that does not exist.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::kubernetes::TokenIssuer;
use super::node_server::NodeServer;
use super::store::Store;
use super::world::World;

/// The user and groups a sandbox-issued token authenticates as.
const TOKEN_USER: &str = "sandbox-cluster-admin";
const TOKEN_GROUPS: [&str; 2] = ["system:masters", "system:authenticated"];
/// How long one readiness probe of an API server may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The programs a cluster's control plane runs.
struct KubeTools {
    etcd: PathBuf,
    apiserver: PathBuf,
    controller_manager: PathBuf,
}

impl KubeTools {
    fn find() -> Option<Self> {
        Some(Self {
            etcd: crate::tools::kube_installed("ETCD")?,
            apiserver: crate::tools::kube_installed("KUBE_APISERVER")?,
            controller_manager: crate::tools::kube_installed("KUBE_CONTROLLER_MANAGER")?,
        })
    }
}

/// Where a cluster's control plane listens, where its files are and the authority its clients trust; kept in
/// the state file, so a restarted sandbox starts the same control plane again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlPlane {
    pub(super) dir: PathBuf,
    pub(super) apiserver_port: u16,
    pub(super) etcd_client_port: u16,
    pub(super) etcd_peer_port: u16,
    /// The cluster's certificate authority, PEM.
    pub(super) certificate_authority: String,
    /// Whether the API server has answered `/readyz` since the sandbox started.
    #[serde(skip)]
    pub(super) ready: bool,
}

impl ControlPlane {
    pub(super) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }
}

/// Why a cluster's control plane could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(super) enum ControlPlaneError {
    #[error("writing the cluster's files in {path}: {source}")]
    Files {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("making the cluster's certificates: {0}")]
    Certificates(#[from] rcgen::Error),
    #[error("finding a free port: {0}")]
    Port(std::io::Error),
}

struct Issued {
    cluster: String,
    expires_at: SystemTime,
}

/// A cluster's running control plane.
struct Running {
    processes: Vec<NodeServer>,
    dir: PathBuf,
    ready: bool,
}

/// What the reconciler needs of one cluster.
struct Wanted {
    control_plane: ControlPlane,
    service_subnet: String,
}

pub(super) struct KubeApis {
    tools: Option<KubeTools>,
    /// How long a token lasts when the request does not say.
    pub(super) lifetime: Duration,
    /// The longest a token lasts whatever the request asks for, if capped.
    pub(super) max_lifetime: Option<Duration>,
    root: PathBuf,
    tokens: Arc<Mutex<HashMap<String, Issued>>>,
    webhook: Mutex<Option<std::net::TcpListener>>,
    webhook_address: SocketAddr,
    running: tokio::sync::Mutex<BTreeMap<String, Running>>,
}

impl KubeApis {
    /// Clusters whose files live under `root`; simulated if asked, or if the tools are not installed.
    pub(super) fn new(
        root: PathBuf,
        simulated: bool,
        lifetime: Duration,
        max_lifetime: Option<Duration>,
    ) -> std::io::Result<Self> {
        let tools = if simulated {
            None
        } else {
            let tools = KubeTools::find();
            if tools.is_none() {
                tracing::warn!(
                    "no etcd and kube-apiserver (kube-tools.env): Kubernetes clusters are simulated, with no API \
                     server\n  hint: `make tools` builds them"
                );
            }
            tools
        };
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let webhook_address = listener.local_addr()?;
        Ok(Self {
            tools,
            lifetime,
            max_lifetime,
            root,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            webhook: Mutex::new(Some(listener)),
            webhook_address,
            running: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// A new cluster's control plane, with its certificates written; `None` when clusters are simulated.
    pub(super) fn prepare(&self) -> Result<Option<ControlPlane>, ControlPlaneError> {
        if self.tools.is_none() {
            return Ok(None);
        }
        let dir = self.root.join(uuid::Uuid::new_v4().simple().to_string());
        let files = |source| ControlPlaneError::Files {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(files)?;
        let certificate_authority = write_certificates(&dir)?;
        Ok(Some(ControlPlane {
            apiserver_port: free_port()?,
            etcd_client_port: free_port()?,
            etcd_peer_port: free_port()?,
            dir,
            certificate_authority,
            ready: false,
        }))
    }

    /// Serves the token webhook the API servers ask; runs until aborted.
    pub(super) async fn serve_webhook(&self) {
        let Some(listener) = self
            .webhook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let listener = match listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
        {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!("the clusters' token webhook does not run: {error}");
                return;
            }
        };
        let router = Router::new()
            .route("/{cluster}", post(review))
            .with_state(self.tokens.clone());
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!("the clusters' token webhook stopped: {error}");
        }
    }

    /// Makes what runs match the world: a control plane for each real cluster, none for a deleted one.
    pub(super) async fn reconcile(&self, store: &Store) {
        let Some(tools) = &self.tools else {
            return;
        };
        let Ok(wanted) = store.read(|world, _| Ok(wanted(world))) else {
            return;
        };
        let mut running = self.running.lock().await;
        let gone: Vec<String> = running
            .keys()
            .filter(|id| !wanted.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(cluster) = running.remove(&id) {
                tracing::info!("cluster {id} is deleted: its API server stops");
                futures_util::future::join_all(cluster.processes.into_iter().map(NodeServer::stop))
                    .await;
                if let Err(error) = std::fs::remove_dir_all(&cluster.dir) {
                    tracing::warn!(
                        "removing a deleted cluster's files `{}`: {error}",
                        cluster.dir.display()
                    );
                }
            }
        }
        for (id, cluster) in &wanted {
            match running.get_mut(id) {
                None => match self.start(tools, id, cluster) {
                    Ok(processes) => {
                        tracing::info!(
                            "cluster {id}: its API server starts on {} (files: {})",
                            cluster.control_plane.url(),
                            cluster.control_plane.dir.display()
                        );
                        running.insert(
                            id.clone(),
                            Running {
                                processes,
                                dir: cluster.control_plane.dir.clone(),
                                ready: false,
                            },
                        );
                    }
                    Err(error) => {
                        tracing::warn!("cluster {id}: its API server does not start: {error}")
                    }
                },
                Some(state) if !state.ready => {
                    if probe(&cluster.control_plane).await {
                        state.ready = true;
                        tracing::info!("cluster {id}: its API server is ready");
                        let _ = store.write(|world, _| {
                            if let Some(control_plane) = world
                                .clusters
                                .get_mut(id)
                                .and_then(|cluster| cluster.control_plane.as_mut())
                            {
                                control_plane.ready = true;
                            }
                            Ok(())
                        });
                    }
                }
                Some(_) => {}
            }
        }
    }

    fn start(
        &self,
        tools: &KubeTools,
        id: &str,
        cluster: &Wanted,
    ) -> Result<Vec<NodeServer>, ControlPlaneError> {
        let plane = &cluster.control_plane;
        let dir = &plane.dir;
        let files = |source| ControlPlaneError::Files {
            path: dir.clone(),
            source,
        };
        let path = |name: &str| dir.join(name).display().to_string();
        let webhook = kubeconfig(
            &format!("http://{}/{id}", self.webhook_address),
            json!({}),
            None,
        );
        write_private(&dir.join("token-webhook.kubeconfig"), &webhook).map_err(files)?;
        let manager = kubeconfig(
            &plane.url(),
            json!({
                "client-certificate": path("controller-manager.crt"),
                "client-key": path("controller-manager.key"),
            }),
            Some(&path("ca.crt")),
        );
        write_private(&dir.join("controller-manager.kubeconfig"), &manager).map_err(files)?;
        let etcd_client = format!("http://127.0.0.1:{}", plane.etcd_client_port);
        let etcd_peer = format!("http://127.0.0.1:{}", plane.etcd_peer_port);
        let etcd = [
            "--name=sandbox".to_string(),
            format!("--data-dir={}", path("etcd")),
            format!("--listen-client-urls={etcd_client}"),
            format!("--advertise-client-urls={etcd_client}"),
            format!("--listen-peer-urls={etcd_peer}"),
            format!("--initial-advertise-peer-urls={etcd_peer}"),
            format!("--initial-cluster=sandbox={etcd_peer}"),
            "--unsafe-no-fsync".to_string(),
            "--log-level=warn".to_string(),
        ];
        let apiserver = [
            format!("--etcd-servers={etcd_client}"),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            format!("--secure-port={}", plane.apiserver_port),
            format!("--cert-dir={}", path("apiserver-certs")),
            format!("--tls-cert-file={}", path("apiserver.crt")),
            format!("--tls-private-key-file={}", path("apiserver.key")),
            format!("--client-ca-file={}", path("ca.crt")),
            "--authorization-mode=RBAC".to_string(),
            format!(
                "--authentication-token-webhook-config-file={}",
                path("token-webhook.kubeconfig")
            ),
            "--authentication-token-webhook-version=v1".to_string(),
            "--authentication-token-webhook-cache-ttl=0s".to_string(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
            format!("--service-account-key-file={}", path("service-account.pub")),
            format!(
                "--service-account-signing-key-file={}",
                path("service-account.key")
            ),
            format!("--service-cluster-ip-range={}", cluster.service_subnet),
            "--endpoint-reconciler-type=none".to_string(),
            "--enable-priority-and-fairness=false".to_string(),
            "--profiling=false".to_string(),
        ];
        let controller_manager = [
            format!("--kubeconfig={}", path("controller-manager.kubeconfig")),
            "--secure-port=0".to_string(),
            "--leader-elect=false".to_string(),
            format!(
                "--service-account-private-key-file={}",
                path("service-account.key")
            ),
            format!("--root-ca-file={}", path("ca.crt")),
            "--profiling=false".to_string(),
        ];
        let mut processes = Vec::new();
        for (binary, args, log) in [
            (&tools.etcd, &etcd[..], "etcd.log"),
            (&tools.apiserver, &apiserver[..], "kube-apiserver.log"),
            (
                &tools.controller_manager,
                &controller_manager[..],
                "kube-controller-manager.log",
            ),
        ] {
            // Dropping the processes started so far kills them.
            processes.push(NodeServer::spawn(binary, args, dir, log).map_err(files)?);
        }
        Ok(processes)
    }

    /// Stops every control plane; nothing of them runs when this returns.
    pub(super) async fn shutdown(&self) {
        let running = std::mem::take(&mut *self.running.lock().await);
        futures_util::future::join_all(
            running
                .into_values()
                .flat_map(|cluster| cluster.processes)
                .map(NodeServer::stop),
        )
        .await;
    }
}

impl TokenIssuer for KubeApis {
    fn issue(&self, cluster: &str, expires_at: SystemTime) -> String {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("sandbox-{}", hex::encode(bytes));
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let now = SystemTime::now();
        tokens.retain(|_, issued| issued.expires_at > now);
        tokens.insert(
            token.clone(),
            Issued {
                cluster: cluster.to_string(),
                expires_at,
            },
        );
        token
    }
}

fn wanted(world: &World) -> BTreeMap<String, Wanted> {
    world
        .clusters
        .values()
        .filter_map(|cluster| {
            let control_plane = cluster.control_plane.clone()?;
            Some((
                cluster.id.clone(),
                Wanted {
                    control_plane,
                    service_subnet: cluster.service_subnet.clone(),
                },
            ))
        })
        .collect()
}

/// Answers a TokenReview: authenticated if the token was issued for this cluster and has not expired.
async fn review(
    State(tokens): State<Arc<Mutex<HashMap<String, Issued>>>>,
    UrlPath(cluster): UrlPath<String>,
    axum::Json(request): axum::Json<Value>,
) -> axum::Json<Value> {
    let token = request["spec"]["token"].as_str().unwrap_or_default();
    let valid = tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(token)
        .is_some_and(|issued| issued.cluster == cluster && issued.expires_at > SystemTime::now());
    let status = if valid {
        json!({
            "authenticated": true,
            "user": {"username": TOKEN_USER, "groups": TOKEN_GROUPS},
        })
    } else {
        json!({"authenticated": false})
    };
    axum::Json(json!({
        "apiVersion": request["apiVersion"],
        "kind": "TokenReview",
        "status": status,
    }))
}

/// Whether the API server answers `/readyz` with 200.
async fn probe(plane: &ControlPlane) -> bool {
    let Ok(authority) = reqwest::Certificate::from_pem(plane.certificate_authority.as_bytes())
    else {
        return false;
    };
    let Ok(client) = reqwest::Client::builder()
        .add_root_certificate(authority)
        .timeout(PROBE_TIMEOUT)
        .build()
    else {
        return false;
    };
    client
        .get(format!("{}/readyz", plane.url()))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// A kubeconfig for one server and user, as JSON (which is YAML).
fn kubeconfig(server: &str, user: Value, authority_file: Option<&str>) -> String {
    let mut cluster = json!({"server": server});
    if let Some(file) = authority_file {
        cluster["certificate-authority"] = json!(file);
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": cluster}],
        "users": [{"name": "sandbox", "user": user}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox"}}],
        "current-context": "sandbox",
    });
    serde_json::to_string_pretty(&config).expect("a JSON value serialises")
}

/// Writes the cluster's authority, serving and client certificates and its service-account key into `dir`;
/// returns the authority's certificate.
fn write_certificates(dir: &Path) -> Result<String, ControlPlaneError> {
    let files = |source| ControlPlaneError::Files {
        path: dir.to_path_buf(),
        source,
    };
    let authority_key = rcgen::KeyPair::generate()?;
    let mut authority = rcgen::CertificateParams::new(Vec::<String>::new())?;
    authority.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(rcgen::DnType::CommonName, "wildside-sandbox cluster CA");
    let authority_pem = authority.self_signed(&authority_key)?.pem();
    let issuer = rcgen::Issuer::new(authority, authority_key);

    let server_key = rcgen::KeyPair::generate()?;
    let mut server = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
    ])?;
    server
        .subject_alt_names
        .push(rcgen::SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    server
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_pem = server.signed_by(&server_key, &issuer)?.pem();

    let client_key = rcgen::KeyPair::generate()?;
    let mut client = rcgen::CertificateParams::new(Vec::<String>::new())?;
    client
        .distinguished_name
        .push(rcgen::DnType::CommonName, "system:kube-controller-manager");
    client
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "system:masters");
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_pem = client.signed_by(&client_key, &issuer)?.pem();

    let service_account_key = rcgen::KeyPair::generate()?;
    for (name, text, private) in [
        ("ca.crt", authority_pem.as_str(), false),
        ("apiserver.crt", &server_pem, false),
        ("apiserver.key", &server_key.serialize_pem(), true),
        ("controller-manager.crt", &client_pem, false),
        ("controller-manager.key", &client_key.serialize_pem(), true),
        (
            "service-account.pub",
            &service_account_key.public_key_pem(),
            false,
        ),
        (
            "service-account.key",
            &service_account_key.serialize_pem(),
            true,
        ),
    ] {
        let path = dir.join(name);
        if private {
            write_private(&path, text)
        } else {
            std::fs::write(&path, text)
        }
        .map_err(files)?;
    }
    Ok(authority_pem)
}

/// Writes a file only the sandbox's user can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(text.as_bytes())
}

fn free_port() -> Result<u16, ControlPlaneError> {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(ControlPlaneError::Port)
}
