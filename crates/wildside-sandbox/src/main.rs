//! The `wildside-sandbox` binary: serve the local DigitalOcean API until Ctrl-C or SIGTERM, then say what it
//! held. A product of its own, so the `wildside-tofu` binary carries none of it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;
use wildside_sandbox::{ClusterOptions, FaultSpec, ServeOptions};

/// A local stand-in for DigitalOcean's API v2, for offline runs and tests. Not DigitalOcean.
#[derive(Debug, Parser)]
#[command(name = "wildside-sandbox", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a local stand-in for DigitalOcean's API v2 until interrupted.
    Serve {
        /// The address to listen on (port 0: any free port; the startup line says which).
        #[arg(long, default_value = "127.0.0.1:8686")]
        listen: std::net::SocketAddr,
        /// Keep the sandbox's resources in this file, so a restarted sandbox keeps them (default: memory only).
        #[arg(long)]
        state: Option<PathBuf>,
        /// How long provisioning and actions take before they settle (`0s`, `500ms`, `2s`).
        #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
        delay: Duration,
        /// Injected faults, such as `5xx=0.05,429=0.02,latency=200ms,seed=7`.
        #[arg(long, default_value = "")]
        faults: FaultSpec,
        /// A bearer token with DigitalOcean's read-only scope (repeatable): its writes get 403. Other tokens
        /// have full access.
        #[arg(long = "read-token")]
        read_tokens: Vec<String>,
        /// Simulate Kubernetes clusters (no API server answers their kubeconfigs) even where `make tools` has
        /// built kube-apiserver and etcd.
        #[arg(long)]
        simulated_clusters: bool,
        /// How long a cluster kubeconfig's token lasts when the request does not say (`7d` as on DOKS; `30s`).
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        kube_token_lifetime: Duration,
        /// The longest any kubeconfig's token lasts, whatever the request asks for: a test of expiry need not
        /// wait for the thirty days a stack asks for. Unset, requests are honoured as DigitalOcean honours them.
        #[arg(long, value_parser = humantime::parse_duration)]
        kube_token_max_lifetime: Option<Duration>,
    },
}

fn main() -> ExitCode {
    // ring is the one crypto provider the sandbox carries: its health checks and API-server probes use TLS.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Command::Serve {
        listen,
        state,
        delay,
        faults,
        read_tokens,
        simulated_clusters,
        kube_token_lifetime,
        kube_token_max_lifetime,
    } = Cli::parse().command;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("WILDSIDE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let options = ServeOptions {
        listen,
        state_file: state,
        delay,
        faults,
        read_tokens,
        clusters: ClusterOptions {
            simulated: simulated_clusters,
            token_lifetime: kube_token_lifetime,
            token_max_lifetime: kube_token_max_lifetime,
        },
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: ServeOptions) -> Result<(), wildside_sandbox::SandboxError> {
    let state_file = options.state_file.clone();
    let read_tokens = options.read_tokens.len();
    let delay = options.delay;
    let bound = wildside_sandbox::bind(options).await?;
    let url = bound.url();
    tracing::info!(
        "wildside-sandbox: a local stand-in for DigitalOcean's API, not DigitalOcean, listening on {url} \
         (any bearer token, {read_tokens} of them read-only; async work settles after {}; point wildside-tofu \
         at it with --sandbox {url})",
        humantime::format_duration(delay)
    );
    let resources = bound.resources();
    bound.serve(interrupted()).await?;
    let kept = match state_file {
        Some(path) => format!("kept in {}", path.display()),
        None => "discarded (no --state file)".to_string(),
    };
    let held = resources();
    let noun = if held == 1 { "resource" } else { "resources" };
    println!("sandbox at {url} stopped with {held} {noun}, {kept}");
    Ok(())
}

/// Completes at the first SIGINT or SIGTERM.
async fn interrupted() {
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM can be watched");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
