//! A load balancer that forwards for real: a TCP proxy on the balancer's address for each forwarding rule, to
//! the target port of its healthy droplets, round robin, with the health check the balancer was given.
//!
//! - Health: each droplet starts unhealthy, and turns healthy after `healthy_threshold` passing checks in a
//!   row, unhealthy after `unhealthy_threshold` failing ones, one check every `check_interval_seconds`. An
//!   `http`/`https` check passes on a 2xx answer to `path`; an `https` one accepts any certificate, as a
//!   balancer's check does (it checks health, not identity). A `tcp` check passes when the port accepts.
//! - Forwarding: rules whose bytes pass unchanged are served: `tls_passthrough` ones, and plain `tcp`/`http`
//!   to the same. A rule that would terminate TLS with a DigitalOcean certificate is not (its balancer is
//!   still listed and kept); the sandbox says so once. A connection to a healthy droplet that is refused
//!   (a server that just stopped) goes to the next healthy one.
//! - Firewall: a connection from a source the balancer's firewall does not admit (a `deny` rule matches, or
//!   there is an `allow` list and none of it matches) is closed at once, before any byte is forwarded.
//! - A port the sandbox cannot bind (443 needs root or `CAP_NET_BIND_SERVICE`) is logged as an error: the
//!   balancer then exists in the API but does not forward on that port.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::load_balancers::{
    EntryProtocol, ForwardingRule, HealthCheck, HealthProtocol, LbFirewall, TargetProtocol,
};

/// How long a connection to a droplet may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a running proxy was started from: a change to any of it restarts the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProxySpec {
    pub(super) name: String,
    pub(super) ip: Ipv4Addr,
    pub(super) rules: Vec<ForwardingRule>,
    pub(super) health_check: HealthCheck,
    pub(super) firewall: LbFirewall,
}

/// A droplet behind the balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Backend {
    pub(super) droplet: u64,
    pub(super) address: Ipv4Addr,
}

#[derive(Debug, Clone, Copy)]
struct Health {
    backend: Backend,
    healthy: bool,
    passes: u32,
    failures: u32,
}

struct Pool {
    name: String,
    members: Mutex<Vec<Health>>,
    next: AtomicUsize,
}

impl Pool {
    /// The healthy droplets' addresses, rotated by one for each new connection.
    fn rotation(&self) -> Vec<Ipv4Addr> {
        let healthy: Vec<Ipv4Addr> = self
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|member| member.healthy)
            .map(|member| member.backend.address)
            .collect();
        if healthy.is_empty() {
            return healthy;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % healthy.len();
        healthy[start..]
            .iter()
            .chain(&healthy[..start])
            .copied()
            .collect()
    }
}

/// A running balancer: its health checks and its listeners, stopped when dropped.
pub(super) struct BalancerProxy {
    pub(super) spec: ProxySpec,
    pool: Arc<Pool>,
    tasks: Vec<JoinHandle<()>>,
}

impl BalancerProxy {
    pub(super) async fn start(spec: ProxySpec, backends: &[Backend]) -> Self {
        let pool = Arc::new(Pool {
            name: spec.name.clone(),
            members: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        });
        let mut proxy = Self {
            spec,
            pool,
            tasks: Vec::new(),
        };
        proxy.set_backends(backends);
        proxy.tasks.push(tokio::spawn(check_health(
            proxy.pool.clone(),
            proxy.spec.health_check.clone(),
        )));
        for rule in &proxy.spec.rules {
            if !passes_bytes_through(rule) {
                tracing::warn!(
                    "load balancer {}: the sandbox does not terminate TLS, so its {:?} rule on port {} is not forwarded \
                     (use tls_passthrough)",
                    proxy.spec.name,
                    rule.entry_protocol,
                    rule.entry_port
                );
                continue;
            }
            let address = SocketAddr::from((proxy.spec.ip, rule.entry_port));
            match TcpListener::bind(address).await {
                Ok(listener) => {
                    tracing::info!(
                        "load balancer {}: forwarding {address} to port {} of its healthy droplets",
                        proxy.spec.name,
                        rule.target_port
                    );
                    proxy.tasks.push(tokio::spawn(forward(
                        listener,
                        proxy.pool.clone(),
                        proxy.spec.firewall.clone(),
                        rule.target_port,
                    )));
                }
                Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
                    tracing::error!(
                        "LOAD BALANCER {} DOES NOT FORWARD: listening on {address} was refused ({error}); ports below \
                         1024 need root or CAP_NET_BIND_SERVICE",
                        proxy.spec.name
                    );
                }
                Err(error) => tracing::error!(
                    "load balancer {} does not forward on {address}: {error}",
                    proxy.spec.name
                ),
            }
        }
        proxy
    }

    /// The droplets behind the balancer now: those it had keep their health, new ones start unhealthy.
    pub(super) fn set_backends(&mut self, backends: &[Backend]) {
        let mut members = self
            .pool
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let next: Vec<Health> = backends
            .iter()
            .map(|backend| {
                members
                    .iter()
                    .find(|member| member.backend == *backend)
                    .copied()
                    .unwrap_or(Health {
                        backend: *backend,
                        healthy: false,
                        passes: 0,
                        failures: 0,
                    })
            })
            .collect();
        *members = next;
    }
}

impl Drop for BalancerProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn passes_bytes_through(rule: &ForwardingRule) -> bool {
    let plain_entry = matches!(
        rule.entry_protocol,
        EntryProtocol::Tcp | EntryProtocol::Http
    );
    let plain_target = matches!(
        rule.target_protocol,
        TargetProtocol::Tcp | TargetProtocol::Http
    );
    rule.tls_passthrough || (plain_entry && plain_target)
}

async fn check_health(pool: Arc<Pool>, check: HealthCheck) {
    let timeout = Duration::from_secs(u64::from(check.response_timeout_seconds.max(1)));
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(true)
        .tls_danger_accept_invalid_hostnames(true)
        .build();
    let http = match http {
        Ok(http) => http,
        Err(error) => {
            tracing::error!("load balancer {}: no health checks ({error})", pool.name);
            return;
        }
    };
    let mut ticks = tokio::time::interval(Duration::from_secs(u64::from(
        check.check_interval_seconds.max(1),
    )));
    loop {
        ticks.tick().await;
        let backends: Vec<Backend> = pool
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|member| member.backend)
            .collect();
        let results = futures_util::future::join_all(
            backends
                .iter()
                .map(|backend| probe(&http, &check, backend.address, timeout)),
        )
        .await;
        let mut members = pool.members.lock().unwrap_or_else(PoisonError::into_inner);
        for (backend, passed) in backends.iter().zip(results) {
            let Some(member) = members.iter_mut().find(|member| member.backend == *backend) else {
                continue;
            };
            if passed {
                member.passes += 1;
                member.failures = 0;
            } else {
                member.failures += 1;
                member.passes = 0;
            }
            let healthy = if member.healthy {
                member.failures < check.unhealthy_threshold.max(1)
            } else {
                member.passes >= check.healthy_threshold.max(1)
            };
            if healthy != member.healthy {
                member.healthy = healthy;
                tracing::info!(
                    "load balancer {}: droplet {} ({}) is {}",
                    pool.name,
                    backend.droplet,
                    backend.address,
                    if healthy { "healthy" } else { "unhealthy" }
                );
            }
        }
    }
}

async fn probe(
    http: &reqwest::Client,
    check: &HealthCheck,
    address: Ipv4Addr,
    timeout: Duration,
) -> bool {
    let scheme = match check.protocol {
        HealthProtocol::Tcp => {
            return tokio::time::timeout(timeout, TcpStream::connect((address, check.port)))
                .await
                .is_ok_and(|connected| connected.is_ok());
        }
        HealthProtocol::Http => "http",
        HealthProtocol::Https => "https",
    };
    let path = if check.path.starts_with('/') {
        check.path.clone()
    } else {
        format!("/{}", check.path)
    };
    http.get(format!("{scheme}://{address}:{}{path}", check.port))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

async fn forward(listener: TcpListener, pool: Arc<Pool>, firewall: LbFirewall, target_port: u16) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, source)) = listener.accept().await else {
            continue;
        };
        if !firewall.admits(source.ip()) {
            tracing::info!(
                "load balancer {}: its firewall refuses a connection from {}",
                pool.name,
                source.ip()
            );
            drop(client);
            continue;
        }
        while connections.try_join_next().is_some() {}
        let pool = pool.clone();
        connections.spawn(async move {
            let mut client = client;
            for address in pool.rotation() {
                let connected = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    TcpStream::connect((address, target_port)),
                )
                .await;
                if let Ok(Ok(mut droplet)) = connected {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut droplet).await;
                    return;
                }
            }
            tracing::debug!(
                "load balancer {}: no healthy droplet took a connection",
                pool.name
            );
        });
    }
}
