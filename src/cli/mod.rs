//! The command line, as clap definitions only: no logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Workspace;
use crate::stack::LARGEST_PULL_REQUEST;

#[derive(Debug, Parser)]
#[command(
    name = "wildside-tofu",
    version,
    about = "Provision the Wildside platform on DigitalOcean through OpenTofu"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level help's command groups, in order: every visible subcommand is in exactly one.
pub const COMMAND_GROUPS: &[(&str, &[&str])] = &[
    (
        "Daily",
        &[
            "plan",
            "up",
            "apply",
            "down",
            "output",
            "kubeconfig",
            "render",
            "doctor",
            "cost",
            "hibernate",
            "wake",
        ],
    ),
    ("CI", &["ci", "drift", "policy", "providers"]),
    ("Previews", &["preview"]),
    ("GitOps", &["gitops"]),
    ("Vault", &["vault", "outputs", "state"]),
    ("Maintenance", &["init", "schema", "completions"]),
];

/// The command line as parsed: the top-level help lists the commands by group and is the only help that shows
/// the global options (a subcommand's help points to it).
pub fn command() -> clap::Command {
    command_hiding_globals_in(|_| true)
}

/// [`command`] for parsing `args`. Only help shows what the global options' copies and the grouped command list
/// change, so a run that asks for none parses with the plain derived command; one that does hides the global
/// options only from the subcommands `args` names, since only their help can be shown.
pub fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
    use clap::CommandFactory;
    if !asks_for_help(args) {
        return Cli::command();
    }
    command_hiding_globals_in(|sub| {
        args.iter().any(|arg| {
            arg.to_str().is_some_and(|word| {
                sub.get_name() == word || sub.get_all_aliases().any(|alias| alias == word)
            })
        })
    })
}

/// Whether `args` (program name first) show a help: `-h`, `--help`, `help`, or no arguments at all.
fn asks_for_help(args: &[std::ffi::OsString]) -> bool {
    args.len() <= 1
        || args
            .iter()
            .skip(1)
            .any(|arg| arg == "-h" || arg == "--help" || arg == "help")
}

fn command_hiding_globals_in(named: impl Fn(&clap::Command) -> bool) -> clap::Command {
    use clap::CommandFactory;
    let cli = Cli::command();
    let globals: Vec<clap::Arg> = cli
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .cloned()
        .collect();
    let grouped = grouped_commands(&cli);
    let cli = cli
        .help_template(
            "{about-with-newline}\n{usage-heading} {usage}\n\n{before-help}Options:\n{options}{after-help}",
        )
        .before_help(grouped);
    cli.mut_subcommands(|sub| {
        if named(&sub) {
            hide_globals(sub, &globals)
        } else {
            sub
        }
    })
}

/// A subcommand (and its own subcommands) with the global options hidden from its help, still accepted.
fn hide_globals(command: clap::Command, globals: &[clap::Arg]) -> clap::Command {
    let command = globals.iter().fold(command, |command, arg| {
        command.arg(arg.clone().global(false).hide(true))
    });
    command
        .after_help(
            "Global options (`--project`, `--output`, `-v`...): see `wildside-tofu --help`.",
        )
        .mut_subcommands(|sub| hide_globals(sub, globals))
}

fn grouped_commands(cli: &clap::Command) -> String {
    let width = cli
        .get_subcommands()
        .map(|sub| sub.get_name().len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (group, names) in COMMAND_GROUPS {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("{group}:\n"));
        for name in *names {
            let about = cli
                .find_subcommand(name)
                .and_then(clap::Command::get_about)
                .map(ToString::to_string)
                .unwrap_or_default();
            text.push_str(&format!("  {name:<width$}  {about}\n"));
        }
    }
    text
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The project directory (default: the nearest directory upwards with a `stacks/` directory).
    #[arg(long, global = true, env = "WILDSIDE_PROJECT")]
    pub project: Option<PathBuf>,
    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Human)]
    pub output: OutputArg,
    /// How long to wait for a state lock held by another run (tofu duration: `0s`, `30s`, `5m`).
    #[arg(
        long,
        global = true,
        env = "WILDSIDE_LOCK_TIMEOUT",
        default_value = "60s"
    )]
    pub lock_timeout: String,
    /// The OpenTofu (or Terraform) binary; default: the one `make tools` installed, else PATH.
    #[arg(long, global = true, env = "WILDSIDE_TOFU")]
    pub tofu: Option<PathBuf>,
    /// A filesystem mirror to install the providers it holds from (before the one `make tools` keeps); the
    /// providers no mirror holds come from the registry.
    #[arg(long, global = true, env = "WILDSIDE_PROVIDER_MIRROR")]
    pub provider_mirror: Option<PathBuf>,
    /// Share downloaded providers between stacks and runs through this directory.
    #[arg(long, global = true, env = "WILDSIDE_PLUGIN_CACHE")]
    pub plugin_cache: Option<PathBuf>,
    /// Point the DigitalOcean provider at this API (a `wildside-sandbox serve` URL) instead of DigitalOcean's,
    /// through tofu's environment only: rendered files are the same with and without it.
    #[arg(long, global = true, env = "WILDSIDE_SANDBOX", value_parser = url::Url::parse)]
    pub sandbox: Option<url::Url>,
    /// Whether `tofu init` may change a stack's committed lock file (`stacks/<STACK>.terraform.lock.hcl`):
    /// `update` creates and updates it, `readonly` (for CI) fails when the providers do not match it.
    #[arg(
        long,
        global = true,
        env = "WILDSIDE_LOCKFILE",
        value_enum,
        default_value_t = LockfileArg::Update
    )]
    pub lockfile: LockfileArg,
    /// When to colour what goes to stderr: `auto` colours a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// More log detail on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LockfileArg {
    Update,
    Readonly,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// The shells `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputArg {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct Target {
    /// The stack: `stacks/<STACK>.toml`.
    pub stack: String,
    /// The OpenTofu workspace.
    #[arg(long, short, default_value = "default")]
    pub workspace: Workspace,
}

/// `--yes`: go ahead without the question a terminal gets before a change.
#[derive(Debug, Clone, Copy, Args)]
pub struct Approve {
    /// Apply or destroy without asking (required without a terminal). Aliases: `-y`, `--auto-approve`,
    /// `-auto-approve`.
    #[arg(long, short = 'y', visible_alias = "auto-approve")]
    pub yes: bool,
}

/// The arguments with tofu's single-dash `-auto-approve` spelled as the `--auto-approve` clap knows; nothing
/// after a `--` is touched.
pub fn normalise_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut options_end = false;
    args.into_iter()
        .map(|arg| {
            options_end |= arg == "--";
            if !options_end && arg == "-auto-approve" {
                "--auto-approve".into()
            } else {
                arg
            }
        })
        .collect()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan stacks into saved plan files and summarise them (several stacks: in parallel, with reports).
    Plan {
        /// Stacks to plan: `stacks/<STACK>.toml`.
        stacks: Vec<String>,
        #[command(flatten)]
        set: StackSet,
        /// The OpenTofu workspace.
        #[arg(long, short, default_value = "default")]
        workspace: Workspace,
        /// Where to save the plan of a single stack (default: `.wildside/build/<stack>/plans/<workspace>.tfplan`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 2 when the plan has changes (0 when none, 1 on error).
        #[arg(long)]
        detailed_exitcode: bool,
        /// Plan the destruction of every resource.
        #[arg(long)]
        destroy: bool,
    },
    /// Apply a saved plan exactly as reviewed, or plan and apply.
    Apply {
        #[command(flatten)]
        target: Target,
        /// A plan file made by `plan --out`.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Plan again and apply only if the new plan makes exactly the changes of this reviewed JSON report.
        #[arg(long, conflicts_with = "plan")]
        expect_report: Option<PathBuf>,
        #[command(flatten)]
        approve: Approve,
    },
    /// Plan stacks and report those whose infrastructure differs from their configuration; exit 2 if any does.
    Drift {
        /// Stacks to check (default: all).
        stacks: Vec<String>,
        #[command(flatten)]
        set: StackSet,
        /// The OpenTofu workspace.
        #[arg(long, short, default_value = "default")]
        workspace: Workspace,
    },
    /// The stacks' provider lock files.
    Providers {
        #[command(subcommand)]
        action: ProvidersCommand,
    },
    /// Continuous-integration helpers.
    Ci {
        #[command(subcommand)]
        action: CiCommand,
    },
    /// Render, init, plan, and apply only if there are changes.
    Up {
        #[command(flatten)]
        target: Target,
        /// Wake the stack first if it is hibernated (otherwise `up` refuses a hibernated stack).
        #[arg(long)]
        wake: bool,
        #[command(flatten)]
        approve: Approve,
    },
    /// Bring a platform stack to its cheapest safe shape: node pools to their floor, cluster and volumes kept.
    Hibernate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        approve: Approve,
    },
    /// Bring a hibernated platform stack back to the node pools its stack file gives.
    Wake {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        approve: Approve,
    },
    /// Destroy everything in the stack's workspace.
    Down {
        #[command(flatten)]
        target: Target,
        /// Also delete the (non-default) workspace once it is empty.
        #[arg(long)]
        delete_workspace: bool,
        /// The stack's name, typed again: a stack marked production (`[policy] production = true`) is
        /// destroyed only with it.
        #[arg(long, value_name = "STACK")]
        confirm: Option<String>,
        #[command(flatten)]
        approve: Approve,
    },
    /// Show the stack's outputs (sensitive values are never shown), or one value with --raw.
    Output {
        #[command(flatten)]
        target: Target,
        /// Print only this output's value, as text (as `tofu output -raw`); a sensitive one too, since it is
        /// asked for by name.
        #[arg(long, value_name = "NAME")]
        raw: Option<String>,
        /// Print the outputs as JSON (same as `--output json`).
        #[arg(long)]
        json: bool,
    },
    /// Write the generated OpenTofu root module.
    Render {
        /// The stack: `stacks/<STACK>.toml`.
        #[arg(required_unless_present = "all")]
        stack: Option<String>,
        /// Every stack of the project, each into its build directory.
        #[arg(long, conflicts_with_all = ["stack", "out"])]
        all: bool,
        /// Directory to write into (default: `.wildside/build/<stack>/`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 if the files on disk differ from a fresh render.
        #[arg(long)]
        check: bool,
    },
    /// Check the engine, the provider mirror and every stack's backend; exit 0 only when all are healthy.
    Doctor {
        /// Stacks to check (default: all).
        stacks: Vec<String>,
    },
    /// Scaffold a project: a commented dev stack, the stack schema for editors, .gitignore and CI workflows.
    Init {
        /// The project directory (created if missing; existing files are kept).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of stack files (for editor completion: `wildside-tofu schema > stack.schema.json`).
    Schema,
    /// Stack outputs in Vault.
    Outputs {
        #[command(subcommand)]
        action: OutputsCommand,
    },
    /// Read the cluster's kubeconfig back from Vault; `kubeconfig refresh <stack>` renews the one Vault holds.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Kubeconfig {
        #[command(subcommand)]
        action: Option<KubeconfigCommand>,
        /// The stack: `stacks/<STACK>.toml`.
        #[arg(required = true)]
        stack: Option<String>,
        /// The OpenTofu workspace.
        #[arg(long, short, default_value = "default")]
        workspace: Workspace,
        /// Write it to this file (mode 0600) instead of stdout.
        #[arg(long)]
        write: Option<PathBuf>,
        /// The stack output that holds it.
        #[arg(long, default_value = "kubeconfig")]
        name: String,
    },
    /// Per-pull-request preview environments.
    Preview {
        /// The preview stack.
        #[arg(long, global = true, default_value = "preview")]
        stack: String,
        /// Apply or destroy without asking (required without a terminal). Aliases: `-y`, `--auto-approve`,
        /// `-auto-approve`.
        #[arg(long, short = 'y', global = true, visible_alias = "auto-approve")]
        yes: bool,
        #[command(subcommand)]
        action: PreviewCommand,
    },
    /// The platform repository Flux reconciles the cluster from.
    Gitops {
        #[command(subcommand)]
        action: GitopsCommand,
    },
    /// The monthly cost estimate of what the stack's state holds.
    Cost {
        #[command(flatten)]
        target: Target,
    },
    /// Policy checks.
    Policy {
        #[command(subcommand)]
        action: PolicyCommand,
    },
    /// State encryption: migrate a stored state to or from encryption, or rotate its transit key.
    State {
        #[command(subcommand)]
        action: StateCommand,
    },
    /// Vault administration.
    Vault {
        #[command(subcommand)]
        action: VaultCommand,
    },
    /// The key provider tofu runs for a saved plan's one-time key (run by tofu, not by hand).
    #[command(name = "plan-key", hide = true)]
    PlanKey,
    /// The key provider tofu runs for a passphrase the run lends it (run by tofu, not by hand).
    #[command(name = "state-key", hide = true)]
    StateKey {
        /// Answer with the key the run derived from the passphrase, not the passphrase itself.
        #[arg(long)]
        derived: bool,
    },
    /// Print the shell completion script (bash: `source <(wildside-tofu completions bash)`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// Options of commands that run over several stacks.
#[derive(Debug, Args)]
pub struct StackSet {
    /// Every stack of the project.
    #[arg(long)]
    pub all: bool,
    /// The stacks affected by the change from `--base` to HEAD.
    #[arg(long, requires = "base")]
    pub changed: bool,
    /// The git ref to compare with (with `--changed`).
    #[arg(long)]
    pub base: Option<String>,
    /// How many stacks run at once.
    #[arg(long, default_value_t = 4)]
    pub parallelism: usize,
    /// Where saved plans and reports go (default: `.wildside/reports/`).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Where readers of the summary find the full plans (an artifact name or URL).
    #[arg(long, default_value = "the `plans` artifact of this run")]
    pub artifact: String,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Create or update the sticky pull-request comment with a summary file.
    Comment {
        /// The repository, `OWNER/NAME`.
        #[arg(long)]
        repo: String,
        /// The pull request number.
        #[arg(long, value_parser = pull_request())]
        pr: u64,
        /// The Markdown body (such as the `summary.md` of `plan`).
        #[arg(long)]
        body: PathBuf,
        /// Which sticky comment (default: the marker on the body's first line).
        #[arg(long)]
        marker: Option<String>,
        /// The GitHub API base URL (GitHub Enterprise: `https://HOST/api/v3`).
        #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
        api_url: String,
        /// Only a comment by this login is updated (default: the token's own login, from `GET /user`, which
        /// a GitHub App's token cannot read: Actions' `GITHUB_TOKEN` comments as `github-actions[bot]`).
        #[arg(long)]
        author: Option<String>,
    },
    /// The stacks affected by a git change: a stack file, or a file of a module it uses.
    Changed {
        /// The git ref to compare HEAD with (the merge base is used).
        #[arg(long)]
        base: String,
        /// Print a GitHub Actions matrix: `{"stack": [...]}`.
        #[arg(long)]
        matrix: bool,
        /// Leave out the stacks pull requests may not plan (`[vault] pull_request_plans = false`, or a
        /// production stack without `[vault]`): they are planned on trusted refs only.
        #[arg(long)]
        pull_request: bool,
    },
}

/// The parser of every pull request number on the command line: 1 to the largest a preview is made for.
fn pull_request() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=LARGEST_PULL_REQUEST)
}

#[derive(Debug, Subcommand)]
pub enum PreviewCommand {
    /// Create the pull request's preview, or update it in place.
    Up {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
        /// The commit being previewed.
        #[arg(long)]
        sha: String,
        /// Lifetime from now (default: the stack's `ttl`), such as `72h`.
        #[arg(long)]
        ttl: Option<String>,
        /// Write the pull request's preview comment (status, address, cost a day) to this file, also when
        /// the preview fails to come up.
        #[arg(long)]
        comment: Option<PathBuf>,
    },
    /// Destroy the pull request's preview, its workspace and its Vault entries (idempotent).
    Down {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
    },
    /// Every preview: pull request, status, age, expiry, pin, URL.
    List,
    /// Bring the pull request's preview to its cheapest safe shape (platform previews).
    Hibernate {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
    },
    /// Bring a hibernated preview back to the stack file's node pools.
    Wake {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
    },
    /// Keep a preview past its TTL (at most 48 h).
    Pin {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
        /// How long, such as `24h`.
        #[arg(long = "for")]
        duration: String,
    },
    /// Remove a pin.
    Unpin {
        #[arg(long, value_parser = pull_request())]
        pr: u64,
    },
    /// Destroy previews of closed pull requests, expired ones, and orphans.
    Gc {
        /// The open pull requests, comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "github_repo", value_parser = pull_request())]
        open_prs: Option<Vec<u64>>,
        /// Ask GitHub which pull requests are open (`GITHUB_TOKEN`).
        #[arg(long)]
        github_repo: Option<String>,
        #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
        api_url: String,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// How long a record without a workspace is left alone, since `preview up` writes its record before
        /// it creates the workspace (default: the stack's `orphan_grace`, 15m unless set).
        #[arg(long, value_parser = crate::duration::parse)]
        orphan_grace: Option<std::time::Duration>,
    },
    /// The preview ledger in Vault.
    Ledger {
        #[command(subcommand)]
        action: LedgerCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum GitopsCommand {
    /// Write the platform repository's tree (`clusters/<env>/`, `platform/`) into a directory.
    Render {
        #[command(flatten)]
        target: Target,
        /// Where to write it (default: `.wildside/gitops/<stack>/`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Commit the rendered tree to the `[gitops]` repository when it changed, and push.
    Push {
        #[command(flatten)]
        target: Target,
    },
    /// Install Flux (pinned) into the stack's cluster, pointed at the repository's cluster path.
    Bootstrap {
        #[command(flatten)]
        target: Target,
        /// A directory of Flux's CRDs (default: $WILDSIDE_FLUX_CRDS).
        #[arg(long)]
        crds: Option<PathBuf>,
        /// The cluster's kubeconfig (default: the stack's `kubeconfig` output, from Vault).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Write a missing ledger from the preview workspaces: their pull requests, and the expiry and VPC range
    /// their state holds (a preview without an expiry tag gets the stack's `ttl` from now). Refuses to write
    /// over a ledger that exists.
    Rebuild {
        /// Keep the ledger that exists and add records only for workspaces that have none.
        #[arg(long)]
        merge: bool,
        /// Say what would be written, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate the policies on a plan JSON file (`tofu show -json PLAN > plan.json`); exit 3 on a denial.
    Check {
        /// The plan JSON.
        #[arg(long)]
        plan: PathBuf,
        /// Judge it as this stack's plan (its `[policy]` settings and exceptions).
        #[arg(long)]
        stack: Option<String>,
    },
    /// Run the `test_` rules of the project's policies (like `opa test`); exit 1 if any fails.
    Test {
        /// Describe this stack in `data.wildside` (default: an empty stack with default settings).
        #[arg(long)]
        stack: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Write the stack's lock file (`stacks/<STACK>.terraform.lock.hcl`) with its providers' hashes for several
    /// platforms, from the provider mirror when one is configured, else from the registries.
    Lock {
        /// The stack: `stacks/<STACK>.toml`.
        stack: String,
        /// A platform to lock, as `<os>_<arch>` (repeatable; default: linux_amd64, darwin_arm64, darwin_amd64).
        #[arg(long = "platform")]
        platforms: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Encrypt an unencrypted state (read once through a fallback), then verify it.
    Encrypt {
        #[command(flatten)]
        target: Target,
    },
    /// Store the state unencrypted again, for leaving wildside-tofu.
    Decrypt {
        #[command(flatten)]
        target: Target,
    },
    /// Rotate the stack's transit key and re-encrypt the state of every workspace.
    RotateKey {
        /// The stack: `stacks/<STACK>.toml`.
        stack: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KubeconfigCommand {
    /// Get a fresh kubeconfig for the stack's cluster from DigitalOcean and write it to Vault, where
    /// `outputs push` writes the `kubeconfig` output (its token expires: after thirty days as `up` asks,
    /// seven by DigitalOcean's default).
    Refresh {
        /// The stack: `stacks/<STACK>.toml`.
        #[arg(required_unless_present = "all")]
        stack: Option<String>,
        /// Every stack with a cluster that writes its `kubeconfig` output to Vault (preview stacks get theirs
        /// at `preview up`).
        #[arg(long, conflicts_with = "stack")]
        all: bool,
        /// The OpenTofu workspace.
        #[arg(long, short, default_value = "default")]
        workspace: Workspace,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutputsCommand {
    /// Write the stack's `[outputs_to_vault]` outputs from state to Vault (after a Vault outage, say).
    Push {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Initialise, unseal and configure a fresh Vault or OpenBao (KV v2, transit, AppRole, the plan, preview
    /// and apply roles); idempotent.
    Bootstrap(Box<BootstrapArgs>),
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The server's address, such as `https://vault.example:8200` (with `--appliance`, the stack's
    /// `vault_appliance.endpoint` unless given).
    #[arg(
        long,
        env = "WILDSIDE_VAULT_ADDR",
        required_unless_present = "appliance"
    )]
    pub address: Option<String>,
    /// CA bundle that signed the server's certificate; with `--appliance`, where the appliance's CA is written
    /// once it has proved itself.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// The stack whose `[vault_appliance]` this is: the CA the appliance presents is trusted only if it is
    /// attested with the stack's enrollment token (its `vault_appliance.enrollment_token` output), then
    /// written to `--ca-cert`.
    #[arg(long, value_name = "STACK", requires = "ca_cert")]
    pub appliance: Option<String>,
    /// Where the unseal keys, root token and AppRole credentials are kept (mode 0600).
    #[arg(long)]
    pub state_file: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub key_shares: u8,
    #[arg(long, default_value_t = 3)]
    pub key_threshold: u8,
    /// The KV version 2 mount.
    #[arg(long, default_value = "secret")]
    pub mount: String,
    #[arg(long, default_value = "approle")]
    pub approle_mount: String,
    /// Policies are `<POLICY>-plan`, `<POLICY>-plan-keys`, `<POLICY>-preview`, `<POLICY>-preview-keys`,
    /// `<POLICY>-apply` and `<POLICY>-state-keys`; a former policy named
    /// `<POLICY>` (write access to the whole mount) is removed.
    #[arg(long, default_value = "wildside")]
    pub policy: String,
    /// Roles are `<ROLE>-plan`, `<ROLE>-preview` and `<ROLE>-apply` unless named; a former role named `<ROLE>` is removed.
    #[arg(long, default_value = "wildside-ci")]
    pub role: String,
    /// The role of pull-request plans (default `<ROLE>-plan`).
    #[arg(long)]
    pub plan_role: Option<String>,
    /// The role of previews (default `<ROLE>-preview`).
    #[arg(long)]
    pub preview_role: Option<String>,
    /// The role that applies (default `<ROLE>-apply`).
    #[arg(long)]
    pub apply_role: Option<String>,
    /// Issue new secret ids even if some are stored.
    #[arg(long)]
    pub rotate_secret_id: bool,
    /// Also write the apply role's secret id to this file (mode 0600).
    #[arg(long)]
    pub secret_id_file: Option<PathBuf>,
    /// Also write the plan role's secret id to this file (mode 0600).
    #[arg(long)]
    pub plan_secret_id_file: Option<PathBuf>,
    /// Also write the preview role's secret id to this file (mode 0600).
    #[arg(long)]
    pub preview_secret_id_file: Option<PathBuf>,
    /// How long to wait for a server that is starting (not reachable yet, or behind a load balancer with no
    /// healthy node), such as `2m` or `30s`.
    #[arg(long, default_value = "2m", value_parser = crate::duration::parse)]
    pub wait: std::time::Duration,
    /// Revoke the root token once configured and drop it from the state file (the unseal keys stay); later
    /// runs then take an administrative token from VAULT_TOKEN.
    #[arg(long)]
    pub revoke_root: bool,
    /// The transit engine's mount, for the stacks' state keys.
    #[arg(long, default_value = "transit")]
    pub transit_mount: String,
    /// The stacks' `[vault] path_prefix`: the roles read secrets under `<MOUNT>/data/<KEY_PREFIX>/`, and
    /// state keys are `<KEY_PREFIX>-<stack>`.
    #[arg(long, default_value = "wildside")]
    pub key_prefix: String,
}

impl Command {
    /// The subcommand's name, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Plan { .. } => "plan",
            Command::Apply { .. } => "apply",
            Command::Up { .. } => "up",
            Command::Hibernate { .. } => "hibernate",
            Command::Wake { .. } => "wake",
            Command::Down { .. } => "down",
            Command::Output { .. } => "output",
            Command::Render { .. } => "render",
            Command::Doctor { .. } => "doctor",
            Command::Outputs { .. } => "outputs push",
            Command::Schema => "schema",
            Command::Init { .. } => "init",
            Command::Preview { .. } => "preview",
            Command::Gitops {
                action: GitopsCommand::Render { .. },
            } => "gitops render",
            Command::Gitops {
                action: GitopsCommand::Push { .. },
            } => "gitops push",
            Command::Gitops {
                action: GitopsCommand::Bootstrap { .. },
            } => "gitops bootstrap",
            Command::Drift { .. } => "drift",
            Command::Ci {
                action: CiCommand::Comment { .. },
            } => "ci comment",
            Command::Ci {
                action: CiCommand::Changed { .. },
            } => "ci changed",
            Command::Kubeconfig {
                action: Some(KubeconfigCommand::Refresh { .. }),
                ..
            } => "kubeconfig refresh",
            Command::Kubeconfig { .. } => "kubeconfig",
            Command::Vault { .. } => "vault bootstrap",
            Command::Policy {
                action: PolicyCommand::Check { .. },
            } => "policy check",
            Command::Policy { .. } => "policy test",
            Command::Cost { .. } => "cost",
            Command::State {
                action: StateCommand::Encrypt { .. },
            } => "state encrypt",
            Command::State {
                action: StateCommand::Decrypt { .. },
            } => "state decrypt",
            Command::State {
                action: StateCommand::RotateKey { .. },
            } => "state rotate-key",
            Command::Completions { .. } => "completions",
            Command::PlanKey => "plan-key",
            Command::StateKey { .. } => "state-key",
            Command::Providers { .. } => "providers lock",
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Every subcommand path, depth first.
    fn subcommands(command: &clap::Command, path: &[String], found: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            let mut sub_path = path.to_vec();
            sub_path.push(sub.get_name().to_string());
            found.push(sub_path.clone());
            subcommands(sub, &sub_path, found);
        }
    }

    fn find<'a>(mut command: &'a clap::Command, path: &[String]) -> &'a clap::Command {
        for name in path {
            command = command.find_subcommand(name).unwrap();
        }
        command
    }

    /// Every flag that takes a pull request number, with the arguments its command needs besides.
    fn pull_request_flags() -> Vec<(Vec<String>, String, Vec<String>)> {
        let cli = Cli::command();
        let mut paths = Vec::new();
        subcommands(&cli, &[], &mut paths);
        let mut flags = Vec::new();
        for path in paths {
            let command = find(&cli, &path);
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if long != "pr" && !long.ends_with("-prs") {
                    continue;
                }
                let others: Vec<String> = command
                    .get_arguments()
                    .filter(|other| other.is_required_set() && other.get_id() != arg.get_id())
                    .flat_map(|other| [format!("--{}", other.get_long().unwrap()), "x".to_string()])
                    .collect();
                flags.push((path.clone(), long.to_string(), others));
            }
        }
        flags
    }

    #[test]
    fn every_pull_request_flag_has_the_same_range_check() {
        let flags = pull_request_flags();
        let named: Vec<String> = flags
            .iter()
            .map(|(path, flag, _)| format!("{} --{flag}", path.join(" ")))
            .collect();
        for expected in [
            "preview up --pr",
            "preview down --pr",
            "preview hibernate --pr",
            "preview wake --pr",
            "preview pin --pr",
            "preview unpin --pr",
            "preview gc --open-prs",
            "ci comment --pr",
        ] {
            assert!(
                named.iter().any(|name| name == expected),
                "{expected} in {named:?}"
            );
        }
        let largest = LARGEST_PULL_REQUEST.to_string();
        let beyond = (LARGEST_PULL_REQUEST + 1).to_string();
        for (path, flag, others) in &flags {
            let parse = |value: &str| {
                let mut args = vec!["wildside-tofu".to_string()];
                args.extend(path.iter().cloned());
                args.extend([format!("--{flag}"), value.to_string()]);
                args.extend(others.iter().cloned());
                Cli::try_parse_from(args)
            };
            for good in ["1", largest.as_str()] {
                assert!(
                    parse(good).is_ok(),
                    "{path:?} --{flag} {good}: {:?}",
                    parse(good).err()
                );
            }
            for bad in ["0", beyond.as_str(), "-1", "seven"] {
                let error = parse(bad).expect_err(bad);
                assert!(
                    matches!(
                        error.kind(),
                        ErrorKind::ValueValidation | ErrorKind::UnknownArgument
                    ),
                    "{path:?} --{flag} {bad}: {error}"
                );
            }
            let error = parse("0").unwrap_err().to_string();
            assert!(
                error.contains(&format!("0 is not in 1..={LARGEST_PULL_REQUEST}")),
                "{path:?} --{flag}: {error}"
            );
        }
    }

    #[test]
    fn every_command_is_in_exactly_one_help_group() {
        let cli = Cli::command();
        for sub in cli.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            let groups: Vec<&str> = COMMAND_GROUPS
                .iter()
                .filter(|(_, names)| names.contains(&sub.get_name()))
                .map(|(group, _)| *group)
                .collect();
            assert_eq!(groups.len(), 1, "`{}` is in {groups:?}", sub.get_name());
        }
        for (_, names) in COMMAND_GROUPS {
            for name in *names {
                assert!(cli.find_subcommand(name).is_some(), "no command `{name}`");
            }
        }
    }

    /// The top-level help lists the commands under their groups, in order, and the global options; a
    /// subcommand's help leaves the global options out but the subcommand still accepts them.
    #[test]
    fn global_options_show_once_and_commands_by_group() {
        let top = command().render_help().to_string();
        let mut at = 0;
        for (group, names) in COMMAND_GROUPS {
            let heading = top[at..]
                .find(&format!("\n{group}:\n"))
                .unwrap_or_else(|| panic!("{group} after {at} in\n{top}"));
            at += heading + 1;
            let section = &top[at..];
            let section = &section[..section.find("\n\n").unwrap_or(section.len())];
            for name in *names {
                assert!(
                    section.contains(&format!("\n  {name} ")),
                    "{name} under {group}: {section}"
                );
            }
        }
        let globals: Vec<String> = Cli::command()
            .get_arguments()
            .filter(|arg| arg.is_global_set())
            .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
            .collect();
        assert!(globals.len() >= 10, "{globals:?}");
        for global in &globals {
            assert!(top.contains(global.as_str()), "{global} in\n{top}");
        }
        for path in [&["plan"][..], &["preview", "up"], &["vault", "bootstrap"]] {
            let args: Vec<std::ffi::OsString> = std::iter::once("wildside-tofu")
                .chain(path.iter().copied())
                .chain(["--help"])
                .map(Into::into)
                .collect();
            let mut cli = command_for(&args);
            let mut sub = &mut cli;
            for name in path {
                sub = sub.find_subcommand_mut(name).unwrap();
            }
            let help = sub.render_help().to_string();
            for global in &globals {
                assert!(
                    !help.contains(&format!("{global} ")),
                    "{global} in {path:?}:\n{help}"
                );
            }
            assert!(help.contains("see `wildside-tofu --help`"), "{help}");
        }
        let matches = command()
            .try_get_matches_from([
                "wildside-tofu",
                "plan",
                "demo",
                "--lock-timeout",
                "5s",
                "-vv",
            ])
            .unwrap();
        let parsed = Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(parsed.global.lock_timeout, "5s");
        assert_eq!(parsed.global.verbose, 2);
    }

    /// Each subcommand's help line is its own: a doc comment that slipped onto the next variant leaves one
    /// subcommand without a line and gives another the wrong one.
    #[test]
    fn every_subcommand_has_its_own_help_line() {
        let cli = Cli::command();
        let mut paths = Vec::new();
        subcommands(&cli, &[], &mut paths);
        for path in &paths {
            let command = find(&cli, path);
            if command.is_hide_set() || command.get_name() == "help" {
                continue;
            }
            assert!(
                command
                    .get_about()
                    .is_some_and(|about| !about.to_string().is_empty()),
                "`{}` has no help line",
                path.join(" ")
            );
        }
        let mut preview = Cli::command();
        let help = preview
            .find_subcommand_mut("preview")
            .unwrap()
            .render_help()
            .to_string();
        let line = |name: &str| {
            help.lines()
                .find(|line| line.trim_start().starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} in\n{help}"))
                .to_string()
        };
        assert!(line("hibernate").contains("cheapest safe shape"), "{help}");
        assert!(line("pin").contains("past its TTL"), "{help}");
        assert!(!line("hibernate").contains("TTL"), "{help}");
    }
}
