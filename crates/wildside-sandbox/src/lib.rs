//! The sandbox: a local stand-in for DigitalOcean's API v2, so the real DigitalOcean provider (and any client,
//! such as godo) can create, read, update, delete and import the platform's resources offline.
//!
//! It is a test double of the cloud, and says so: in its startup line, its account and its kubeconfigs. It
//! answers as the real API does wherever a client could tell: JSON shapes from DigitalOcean's OpenAPI
//! description, bearer auth, pagination, 404s, 422s with `{"id", "message"}`, async states that settle after
//! `--delay`, rate-limit headers, and injected faults (`--faults`). Its state file survives restarts.

mod account;
mod actions;
mod appliance;
mod backups;
mod balancer_proxy;
mod catalog;
mod certificates;
mod cloud_init;
mod domains;
mod droplets;
mod error;
mod faults;
mod firewalls;
mod images;
mod kube_api;
mod kubernetes;
mod load_balancers;
mod node_server;
mod paging;
mod projects;
mod routes;
mod runtime;
mod snapshots;
mod ssh_keys;
mod store;
mod subnets;
mod tags;
mod tools;
mod volumes;
mod vpcs;
mod world;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use faults::{FaultSpec, FaultSpecError};
pub use store::StoreError;

/// How `wildside-sandbox serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub state_file: Option<PathBuf>,
    pub delay: Duration,
    pub faults: FaultSpec,
    /// Bearer tokens with DigitalOcean's read-only scope: any request but `GET` and `HEAD` gets 403, as a
    /// read-scoped token does there. Every other non-empty token has full access.
    pub read_tokens: Vec<String>,
    pub clusters: ClusterOptions,
}

/// How the sandbox's Kubernetes clusters run.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Simulate clusters (no API server) even where kube-apiserver and etcd are installed.
    pub simulated: bool,
    /// How long a kubeconfig's token lasts when its request does not say (DOKS: seven days).
    pub token_lifetime: Duration,
    /// The longest a token lasts whatever its request asks for (tests of expiry); `None` honours requests.
    pub token_max_lifetime: Option<Duration>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            simulated: false,
            token_lifetime: Duration::from_secs(7 * 24 * 3600),
            token_max_lifetime: None,
        }
    }
}

/// Why the sandbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("listening on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving the sandbox API: {0}")]
    Serve(std::io::Error),
    #[error("preparing the sandbox's data directory for droplet disks: {0}")]
    DataDir(std::io::Error),
}

/// A sandbox bound to its address, ready to serve.
pub struct Bound {
    listener: tokio::net::TcpListener,
    sandbox: Arc<routes::Sandbox>,
    pub address: SocketAddr,
}

/// Opens the state and binds the listener.
pub async fn bind(options: ServeOptions) -> Result<Bound, SandboxError> {
    let runtime = runtime::Runtime::new(options.state_file.as_deref(), &options.clusters)
        .map_err(SandboxError::DataDir)?;
    let store = store::Store::open(options.state_file, options.delay)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| SandboxError::Listen {
            address: options.listen,
            source,
        })?;
    let address = listener
        .local_addr()
        .map_err(|source| SandboxError::Listen {
            address: options.listen,
            source,
        })?;
    Ok(Bound {
        listener,
        sandbox: Arc::new(routes::Sandbox::new(
            store,
            faults::Faults::new(options.faults),
            Arc::new(runtime),
            options.read_tokens.into_iter().collect(),
        )),
        address,
    })
}

impl Bound {
    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A count of the resources the sandbox holds, readable after it stops.
    pub fn resources(&self) -> impl Fn() -> usize + use<> {
        let sandbox = self.sandbox.clone();
        move || {
            sandbox
                .store
                .read(|world, _| Ok(world.resource_count()))
                .unwrap_or_default()
        }
    }

    /// Serves until `shutdown` completes; in-flight requests finish first. Droplet servers and load balancer
    /// proxies run meanwhile (see `runtime`), and are stopped before this returns.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), SandboxError> {
        let runtime = self.sandbox.runtime.clone();
        let reconciler = tokio::spawn(runtime.clone().run(self.sandbox.clone()));
        let served = axum::serve(self.listener, routes::router(self.sandbox))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(SandboxError::Serve);
        reconciler.abort();
        let _ = reconciler.await;
        runtime.shutdown().await;
        served
    }
}
