//! From parsed arguments to a report: resolves settings, builds the context and calls the command.

use crate::cli::{
    BootstrapArgs, Cli, Command, GlobalArgs, OutputArg, OutputsCommand, VaultCommand,
};
use crate::commands::{self, Context, PlanArgs, Report};
use crate::engine::Interrupts;
use crate::error::Error;
use crate::project::Project;
use crate::settings::{GlobalSettings, OutputFormat};
use crate::vault::BootstrapOptions;

/// Global settings from the parsed arguments; `output --json` is the same as `--output json`.
pub fn global_settings(cli: &Cli) -> GlobalSettings {
    let GlobalArgs {
        project,
        output,
        lock_timeout,
        tofu,
        provider_mirror,
        plugin_cache,
        ..
    } = &cli.global;
    let json = matches!(output, OutputArg::Json)
        || matches!(cli.command, Command::Output { json: true, .. });
    GlobalSettings {
        project: project.clone(),
        output: if json {
            OutputFormat::Json
        } else {
            OutputFormat::Human
        },
        lock_timeout: lock_timeout.clone(),
        tofu: tofu.clone(),
        provider_mirror: provider_mirror.clone(),
        plugin_cache: plugin_cache.clone(),
    }
}

/// Runs the command.
pub async fn run(command: Command, global: &GlobalSettings) -> Result<Report, Error> {
    let interrupts =
        Interrupts::install().map_err(|error| Error::io("installing signal handlers", error))?;
    match command {
        Command::Render { stack, out } => commands::render(
            &Project::locate(global.project.as_deref())?,
            &stack,
            out.as_deref(),
        ),
        Command::Doctor { stacks } => commands::doctor(global, &stacks).await,
        Command::Plan {
            target,
            out,
            detailed_exitcode,
            destroy,
        } => {
            let context = Context::new(global, interrupts).await?;
            let args = PlanArgs {
                stack: target.stack,
                workspace: target.workspace,
                out,
                detailed_exitcode,
                destroy,
            };
            commands::plan(&context, args).await
        }
        Command::Apply { target, plan } => {
            commands::apply(
                &Context::new(global, interrupts).await?,
                &target.stack,
                &target.workspace,
                plan,
            )
            .await
        }
        Command::Up { target } => {
            commands::up(
                &Context::new(global, interrupts).await?,
                &target.stack,
                &target.workspace,
            )
            .await
        }
        Command::Down {
            target,
            delete_workspace,
        } => {
            commands::down(
                &Context::new(global, interrupts).await?,
                &target.stack,
                &target.workspace,
                delete_workspace,
            )
            .await
        }
        Command::Output { target, .. } => {
            commands::output(
                &Context::new(global, interrupts).await?,
                &target.stack,
                &target.workspace,
            )
            .await
        }
        Command::Outputs {
            action: OutputsCommand::Push { target },
        } => {
            let context = Context::new(global, interrupts).await?;
            commands::outputs_push(&context, &target.stack, &target.workspace).await
        }
        Command::Kubeconfig {
            target,
            write,
            name,
        } => {
            let project = Project::locate(global.project.as_deref())?;
            commands::kubeconfig(
                &project,
                &target.stack,
                &target.workspace,
                &name,
                write.as_deref(),
            )
            .await
        }
        Command::Vault {
            action: VaultCommand::Bootstrap(args),
        } => commands::vault_bootstrap(&bootstrap_options(args)).await,
    }
}

fn bootstrap_options(args: BootstrapArgs) -> BootstrapOptions {
    BootstrapOptions {
        address: args.address.trim_end_matches('/').to_string(),
        ca_cert: args.ca_cert,
        state_file: args.state_file,
        key_shares: args.key_shares,
        key_threshold: args.key_threshold,
        kv_mount: args.mount,
        approle_mount: args.approle_mount,
        policy_name: args.policy,
        role_name: args.role,
        rotate_secret_id: args.rotate_secret_id,
        secret_id_file: args.secret_id_file,
    }
}
