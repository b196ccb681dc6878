//! The `wildside-tofu` binary: parse arguments, set up logging, run, and map the outcome to an exit code.

use std::io::Write;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;
use wildside_tofu::cli::{Cli, Command};
use wildside_tofu::{dispatch, views};

// Policy evaluation allocates and frees many small values on several threads; mimalloc does that
// markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off for this process before anything allocates (see `huge_pages`): run from
/// `.preinit_array`, ahead of every constructor, mimalloc's included.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
#[used]
#[unsafe(link_section = ".preinit_array")]
static TRANSPARENT_HUGE_PAGES_OFF: extern "C" fn() = transparent_huge_pages_off;

#[cfg(target_os = "linux")]
extern "C" fn transparent_huge_pages_off() {
    wildside_tofu::huge_pages::turn_off_for_this_process();
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(status) = dispatch::key_provider(&args) {
        std::process::exit(status);
    }
    // ring is the one crypto provider the release carries; every TLS client and verifier uses it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = wildside_tofu::cli::normalise_args(args);
    let cli = match wildside_tofu::cli::command_for(&args)
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(error) if error.kind() == clap::error::ErrorKind::DisplayVersion => {
            print_version();
            std::process::exit(0);
        }
        Err(error) => {
            let _ = error.print();
            // A usage error exits 1, as every other error does: 2 means a plan with changes.
            std::process::exit(if error.use_stderr() { 1 } else { 0 });
        }
    };
    if matches!(cli.command, Command::PlanKey) {
        std::process::exit(dispatch::serve_plan_key());
    }
    if let Command::StateKey { derived } = cli.command {
        std::process::exit(dispatch::serve_state_key(derived));
    }
    init_tracing(
        cli.global.verbose,
        dispatch::use_color(
            cli.global.color,
            std::env::var_os("NO_COLOR").as_deref(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
    );
    let global = dispatch::global_settings(&cli);
    let command_name = cli.command.name();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = match runtime.block_on(dispatch::run(cli.command, &global)) {
        Ok(report) => {
            print_stdout(&views::render(&report, global.output));
            report.exit_code()
        }
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(json) = views::render_error(command_name, &error, global.output) {
                print_stdout(&json);
            }
            error.exit_code()
        }
    };
    drop(runtime);
    exit_now(code);
}

/// Ends the process without its exit-time destructors. Nothing the tool keeps needs them once stdout is flushed,
/// and mimalloc's would only hand its memory back to the system a moment before the process ends, which is a
/// tenth of the time a short run (a no-op `up`) spends outside tofu.
fn exit_now(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` takes no pointers and only ends the process; the buffered output is flushed above.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(code)
    }
}

/// `--version`: the engine is looked for with the `--tofu` the command line gives, if any.
fn print_version() {
    let tofu = Cli::command()
        .ignore_errors(true)
        .disable_version_flag(true)
        .try_get_matches()
        .ok()
        .and_then(|matches| matches.get_one::<std::path::PathBuf>("tofu").cloned());
    let global = wildside_tofu::settings::GlobalSettings {
        tofu,
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let info = runtime.block_on(wildside_tofu::commands::version(&global));
    print_stdout(&views::version(&info));
}

fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// Logs go to stderr; `RUST_LOG` overrides the level chosen by `-v`. vaultrs-style noisy crates stay quiet.
fn init_tracing(verbose: u8, ansi: bool) {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,vaultrs=off,rustify=off,wildside_tofu={level}"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .with_target(false)
        .init();
}
