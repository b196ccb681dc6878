//! What runs behind the sandbox's API: a server for each droplet whose cloud-init starts one (the Vault
//! appliance), with the services its cloud-init installs, a forwarding proxy for each load balancer, and a
//! control plane for each Kubernetes cluster (see `kube_api`).
//!
//! A new droplet's cloud-init is acted out when it is created: its files are written, then its scripts that
//! run under a root directory run for real, in the background and in order, as cloud-init's `runcmd` runs
//! them (the appliance's make its TLS keys there; a follower's waits for the leader to sign its request).
//! Their output goes to `cloud-init.log` in the droplet's directory. Only when they have succeeded is the
//! droplet's disk prepared, as a droplet whose cloud-init failed starts no server.
//!
//! The API changes the world; a reconciler, every [`TICK`], makes what runs match it: a powered-on droplet
//! with a prepared disk has its server and services running, a powered-off one has them stopped, a deleted one
//! has them stopped and its directory removed; each load balancer forwards to the droplets it has now.
//!
//! Droplet disks live in the sandbox's data directory: `<state file>.droplets/<droplet id>/`, or a temporary
//! directory (removed on exit) without a state file. The user data itself is kept in memory only while the
//! droplet's disk is prepared, never in the state file. What a restarted sandbox finds on a droplet's disk
//! (the rendered config, and the key cloud-init wrote there) is what lets it start that server again, as the
//! droplet's init system would at boot; the unseal keys are not there, so a restarted appliance is sealed.
//!
//! The server binary is OpenBao's `bao` (the `vault` distribution runs on it too, as OpenBao speaks Vault's API):
//! `WILDSIDE_BAO_BIN` from `make tools`, or `bao` on `PATH`. Without one, droplets still work, with no server,
//! and the sandbox warns.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::appliance::{self, Addresses, Prepared};
use super::balancer_proxy::{Backend, BalancerProxy, ProxySpec};
use super::cloud_init;
use super::droplets::Power;
use super::kube_api::KubeApis;
use super::node_server::NodeServer;
use super::routes::Sandbox;
use super::store::Store;
use super::world::World;
use crate::ClusterOptions;

/// How often the reconciler compares what runs with the world.
const TICK: Duration = Duration::from_millis(250);

enum DataDir {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            Self::Kept(path) => path,
            Self::Temporary(dir) => dir.path(),
        }
    }
}

/// How long a droplet's cloud-init scripts may run.
const SCRIPTS_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A droplet's server and services: running, or one exited on its own (then the rest are stopped, and not
/// restarted until the droplet is powered on again).
enum Slot {
    Running(Vec<NodeServer>),
    Exited,
}

pub(super) struct Runtime {
    data: DataDir,
    /// The clusters' API servers.
    pub(super) kube: KubeApis,
    binary: Option<PathBuf>,
    servers: tokio::sync::Mutex<BTreeMap<u64, Slot>>,
    balancers: tokio::sync::Mutex<BTreeMap<String, BalancerProxy>>,
}

/// What the reconciler needs of the world, read in one go.
struct Snapshot {
    /// The last droplet id handed out: a droplet with an id up to it that is not in `droplets` is deleted.
    last_droplet: u64,
    droplets: BTreeMap<u64, (Power, Ipv4Addr)>,
    balancers: BTreeMap<String, (ProxySpec, Vec<Backend>)>,
}

impl Runtime {
    /// The runtime of a sandbox whose state is in `state_file`, if it has one.
    pub(super) fn new(
        state_file: Option<&Path>,
        clusters: &ClusterOptions,
    ) -> std::io::Result<Self> {
        let data = match state_file {
            // Made when the first droplet disk is written.
            Some(path) => {
                let mut name = path.as_os_str().to_owned();
                name.push(".droplets");
                DataDir::Kept(PathBuf::from(name))
            }
            None => DataDir::Temporary(
                tempfile::Builder::new()
                    .prefix("wildside-sandbox-")
                    .tempdir()?,
            ),
        };
        let kube = KubeApis::new(
            data.path().join("clusters"),
            clusters.simulated,
            clusters.token_lifetime,
            clusters.token_max_lifetime,
        )?;
        Ok(Self {
            kube,
            data,
            binary: find_binary(),
            servers: tokio::sync::Mutex::new(BTreeMap::new()),
            balancers: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    fn droplet_dir(&self, droplet: u64) -> PathBuf {
        self.data.path().join(droplet.to_string())
    }

    /// Acts out a new droplet's cloud-init: if it starts a server, the droplet's disk is prepared and the
    /// reconciler starts the server. A cloud-init that cannot be acted out leaves a droplet without a server,
    /// as a failed cloud-init leaves a real one; the reason is logged, never the user data.
    pub(super) fn boot(&self, store: &Store, droplet: u64, user_data: &str) {
        let setup = match cloud_init::read(user_data) {
            Ok(Some(setup)) => setup,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!("droplet {droplet} runs no server: {error}");
                return;
            }
        };
        let addresses = store.read(|world, _| Ok(addresses(world, droplet)));
        let Ok(Some(addresses)) = addresses else {
            return;
        };
        let dir = self.droplet_dir(droplet);
        let prepared = match appliance::prepare(&dir, user_data, &setup, &addresses) {
            Ok(prepared) => prepared,
            Err(error) => {
                tracing::warn!("droplet {droplet} runs no server: {error}");
                return;
            }
        };
        match &self.binary {
            Some(binary) => tracing::info!(
                "droplet {droplet}: its cloud-init starts `{} server -config={}` on {} (disk: {})",
                binary.display(),
                prepared.config.display(),
                addresses.own,
                dir.display()
            ),
            None => tracing::warn!(
                "droplet {droplet}: its cloud-init starts a server, but there is no `bao` binary (WILDSIDE_BAO_BIN \
                 in tools.env, or PATH): it runs without one\n  hint: `make tools` installs OpenBao"
            ),
        }
        tokio::spawn(async move {
            match run_scripts(&dir, &prepared).await {
                Ok(()) => {
                    if let Err(error) = prepared.save(&dir) {
                        tracing::warn!("droplet {droplet} runs no server: {error}");
                    }
                }
                Err(why) => tracing::warn!(
                    "droplet {droplet} runs no server: its cloud-init {why} (log: {})",
                    dir.join(CLOUD_INIT_LOG).display()
                ),
            }
        });
    }

    /// Reconciles until the task is aborted.
    pub(super) async fn run(self: Arc<Self>, sandbox: Arc<Sandbox>) {
        let reconcile = async {
            loop {
                if let Ok(snapshot) = sandbox.store.read(|world, _| Ok(snapshot(world))) {
                    self.reconcile_servers(&snapshot).await;
                    self.reconcile_balancers(snapshot).await;
                }
                self.kube.reconcile(&sandbox.store).await;
                tokio::time::sleep(TICK).await;
            }
        };
        tokio::join!(self.kube.serve_webhook(), reconcile);
    }

    async fn reconcile_servers(&self, snapshot: &Snapshot) {
        let mut servers = self.servers.lock().await;
        let mut stopping = Vec::new();
        for id in servers.keys().copied().collect::<Vec<_>>() {
            match snapshot.droplets.get(&id) {
                Some((Power::On, _)) => {
                    let exited = match servers.get_mut(&id) {
                        Some(Slot::Running(processes)) => {
                            processes.iter_mut().find_map(|process| {
                                process.exited().map(|status| (status, process.log.clone()))
                            })
                        }
                        _ => None,
                    };
                    if let Some((status, log)) = exited {
                        tracing::warn!(
                            "droplet {id}: a process exited ({status}); its log: {}",
                            log.display()
                        );
                        if let Some(Slot::Running(processes)) = servers.insert(id, Slot::Exited) {
                            stopping.extend(processes.into_iter().map(NodeServer::stop));
                        }
                    }
                }
                state => {
                    if let Some(Slot::Running(processes)) = servers.remove(&id) {
                        let why = if state.is_some() {
                            "is off"
                        } else {
                            "is deleted"
                        };
                        tracing::info!("droplet {id} {why}: its server stops");
                        stopping.extend(processes.into_iter().map(NodeServer::stop));
                    }
                }
            }
        }
        futures_util::future::join_all(stopping).await;
        for (id, (power, _)) in &snapshot.droplets {
            if *power == Power::On && !servers.contains_key(id) {
                self.start(*id, &mut servers);
            }
        }
        for entry in std::fs::read_dir(self.data.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let id = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u64>().ok());
            if let Some(id) = id
                && id <= snapshot.last_droplet
                && !snapshot.droplets.contains_key(&id)
            {
                remove_dir(&entry.path());
            }
        }
    }

    fn start(&self, id: u64, servers: &mut BTreeMap<u64, Slot>) {
        let dir = self.droplet_dir(id);
        let Some(prepared) = Prepared::load(&dir) else {
            return;
        };
        let Some(binary) = &self.binary else {
            return;
        };
        let mut processes = Vec::new();
        for (index, service) in prepared.services.iter().enumerate() {
            match NodeServer::service(service, &dir, &prepared.root, index) {
                Ok(process) => processes.push(process),
                Err(error) => {
                    tracing::warn!("droplet {id}: its service {service:?} does not start: {error}");
                    servers.insert(id, Slot::Exited);
                    return;
                }
            }
        }
        match NodeServer::start(binary, &dir, &prepared.config) {
            Ok(server) => {
                processes.push(server);
                servers.insert(id, Slot::Running(processes));
            }
            Err(error) => {
                tracing::warn!("droplet {id}: its server does not start: {error}");
                servers.insert(id, Slot::Exited);
            }
        }
    }

    async fn reconcile_balancers(&self, snapshot: Snapshot) {
        let mut balancers = self.balancers.lock().await;
        balancers.retain(|id, _| snapshot.balancers.contains_key(id));
        for (id, (spec, backends)) in snapshot.balancers {
            match balancers.get_mut(&id) {
                Some(proxy) if proxy.spec == spec => proxy.set_backends(&backends),
                _ => {
                    // Drop the old proxy first, so that its listeners free their ports.
                    balancers.remove(&id);
                    let proxy = BalancerProxy::start(spec, &backends).await;
                    balancers.insert(id, proxy);
                }
            }
        }
    }

    /// Stops every server and balancer; what runs is gone when this returns.
    pub(super) async fn shutdown(&self) {
        self.balancers.lock().await.clear();
        self.kube.shutdown().await;
        let servers = std::mem::take(&mut *self.servers.lock().await);
        let running = servers
            .into_values()
            .flat_map(|slot| match slot {
                Slot::Running(processes) => processes,
                Slot::Exited => Vec::new(),
            })
            .map(NodeServer::stop);
        futures_util::future::join_all(running).await;
    }
}

fn snapshot(world: &World) -> Snapshot {
    let droplets = world
        .droplets
        .values()
        .map(|droplet| (droplet.id, (droplet.power, droplet.public_address)))
        .collect();
    let balancers = world
        .load_balancers
        .values()
        .map(|balancer| {
            let members: Vec<u64> = if balancer.tag.is_empty() {
                balancer.droplet_ids.clone()
            } else {
                world
                    .droplets
                    .values()
                    .filter(|droplet| droplet.tags.contains(&balancer.tag))
                    .map(|droplet| droplet.id)
                    .collect()
            };
            let backends = members
                .iter()
                .filter_map(|id| world.droplets.get(id))
                .map(|droplet| Backend {
                    droplet: droplet.id,
                    address: droplet.public_address,
                })
                .collect();
            let spec = ProxySpec {
                name: balancer.name.clone(),
                ip: balancer.ip,
                rules: balancer.forwarding_rules.clone(),
                health_check: balancer.health_check.clone(),
                firewall: balancer.firewall.clone(),
            };
            (balancer.id.clone(), (spec, backends))
        })
        .collect();
    Snapshot {
        last_droplet: world.sequences.droplet,
        droplets,
        balancers,
    }
}

fn addresses(world: &World, droplet: u64) -> Option<Addresses> {
    let own = world.droplets.get(&droplet)?.public_address;
    let reachable = world
        .droplets
        .values()
        .map(|droplet| (droplet.private_address, droplet.public_address))
        .collect();
    Some(Addresses { own, reachable })
}

/// Where a droplet's cloud-init scripts write their output, in its directory.
const CLOUD_INIT_LOG: &str = "cloud-init.log";

/// Runs the droplet's scripts in order, each with `ROOT` set to the droplet's root; the first failure stops.
async fn run_scripts(dir: &Path, prepared: &Prepared) -> Result<(), String> {
    let log = dir.join(CLOUD_INIT_LOG);
    for command in &prepared.commands {
        let Some((program, arguments)) = command.split_first() else {
            continue;
        };
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|error| format!("could not open its log: {error}"))?;
        let stderr = output
            .try_clone()
            .map_err(|error| format!("could not open its log: {error}"))?;
        let mut child = tokio::process::Command::new(program)
            .args(arguments)
            .env("ROOT", &prepared.root)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(output)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("could not start `{program}`: {error}"))?;
        match tokio::time::timeout(SCRIPTS_TIMEOUT, child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => return Err(format!("script `{program}` failed ({status})")),
            Ok(Err(error)) => return Err(format!("script `{program}`: {error}")),
            Err(_) => {
                return Err(format!(
                    "script `{program}` did not finish within {}s",
                    SCRIPTS_TIMEOUT.as_secs()
                ));
            }
        }
    }
    Ok(())
}

fn remove_dir(path: &Path) {
    if let Err(error) = std::fs::remove_dir_all(path) {
        tracing::warn!(
            "removing a deleted droplet's disk `{}`: {error}",
            path.display()
        );
    }
}

/// `WILDSIDE_BAO_BIN` from `make tools`, else `bao` on `PATH`.
fn find_binary() -> Option<PathBuf> {
    crate::tools::installed("WILDSIDE_BAO_BIN").or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("bao"))
                .find(|candidate| candidate.is_file())
        })
    })
}
