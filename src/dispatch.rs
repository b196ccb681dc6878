//! From parsed arguments to a report: resolves settings, builds the context and calls the command.

use secrecy::SecretString;

use crate::cli::{
    BootstrapArgs, CiCommand, Cli, Command, GitopsCommand, GlobalArgs, KubeconfigCommand,
    LedgerCommand, LockfileArg, OutputArg, OutputsCommand, PolicyCommand, PreviewCommand,
    ProvidersCommand, StackSet, StateCommand, VaultCommand,
};
use crate::commands::{
    self, CiCommentArgs, Context, OpenPrs, PlanArgs, PlanSetArgs, PreviewUpArgs, Report, Selection,
};
use crate::engine::{Interrupts, LockfileMode, Workspace};
use crate::error::Error;
use crate::project::Project;
use crate::run::approval::Approval;
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
        sandbox,
        lockfile,
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
        sandbox: sandbox.clone(),
        lockfile: match lockfile {
            LockfileArg::Update => LockfileMode::Update,
            LockfileArg::Readonly => LockfileMode::Readonly,
        },
    }
}

/// Whether to colour stderr: `--color always` or `never` decide; `auto` colours a terminal unless `NO_COLOR` is
/// set to anything but the empty string (<https://no-color.org>).
pub fn use_color(
    color: crate::cli::ColorArg,
    no_color: Option<&std::ffi::OsStr>,
    terminal: bool,
) -> bool {
    use crate::cli::ColorArg;
    match color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && no_color.is_none_or(|value| value.is_empty()),
    }
}

/// The completion script of `shell` for the whole command line.
pub fn completions(shell: crate::cli::CompletionShell) -> String {
    use crate::cli::CompletionShell;
    use clap::CommandFactory;
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wildside-tofu", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// Answers tofu's external key provider with the state passphrase the running wildside-tofu lends, or with the
/// key it derived from it (`state-key [--derived]`); the exit status.
pub fn serve_state_key(derived: bool) -> i32 {
    use crate::encryption::{
        SOCKET_ENV, StateKeyError, TOKEN_ENV, borrow, borrow_key, serve_key, serve_passphrase,
    };
    let lender = match (std::env::var_os(SOCKET_ENV), std::env::var(TOKEN_ENV)) {
        (Some(socket), Ok(token)) => Ok((std::path::PathBuf::from(socket), token)),
        _ => Err(StateKeyError::NotInARun),
    };
    let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
    let result = lender.and_then(|(socket, token)| {
        if derived {
            serve_key(
                |recorded| borrow_key(&socket, &token, recorded),
                &mut input,
                &mut output,
            )
        } else {
            borrow(&socket, &token)
                .and_then(|passphrase| serve_passphrase(&passphrase, &mut input, &mut output))
        }
    });
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// The exit status of the key provider `args` asks for, when tofu runs this binary as one (`plan-key`,
/// `state-key [--derived]`, exactly as the encryption configuration writes them); `None` for anything else.
/// Tofu runs a key provider for every plan and state it reads or writes, so these answer before the command
/// line parser is even built.
pub fn key_provider(args: &[std::ffi::OsString]) -> Option<i32> {
    use crate::encryption::{DERIVED_FLAG, KEY_PROVIDER_COMMAND, STATE_KEY_COMMAND};
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|arg| arg.to_str())
        .collect::<Option<_>>()?;
    match words.as_slice() {
        [command] if *command == KEY_PROVIDER_COMMAND => Some(serve_plan_key()),
        [command] if *command == STATE_KEY_COMMAND => Some(serve_state_key(false)),
        [command, flag] if *command == STATE_KEY_COMMAND && *flag == DERIVED_FLAG => {
            Some(serve_state_key(true))
        }
        _ => None,
    }
}

/// Answers tofu's external key provider with a saved plan's one-time key (`plan-key`); the exit status.
pub fn serve_plan_key() -> i32 {
    let key = std::env::var(crate::encryption::ONE_TIME_KEY_ENV)
        .ok()
        .map(SecretString::from);
    match crate::encryption::serve(
        key,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    ) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// Runs the command.
pub async fn run(command: Command, global: &GlobalSettings) -> Result<Report, Error> {
    let interrupts =
        Interrupts::install().map_err(|error| Error::io("installing signal handlers", error))?;
    match command {
        // The binary answers `plan-key` before a runtime starts (see `serve_plan_key`).
        Command::PlanKey => Err(Error::Usage(format!(
            "`{}` is run by tofu during a wildside-tofu run, not by hand",
            crate::encryption::KEY_PROVIDER_COMMAND
        ))),
        Command::StateKey { .. } => Err(Error::Usage(format!(
            "`{}` is run by tofu during a wildside-tofu run, not by hand",
            crate::encryption::STATE_KEY_COMMAND
        ))),
        Command::Completions { shell } => Ok(Report::Completions {
            script: completions(shell),
        }),
        Command::Render {
            stack,
            all,
            out,
            check,
        } => {
            let project = Project::locate(global.project.as_deref())?;
            match stack {
                Some(stack) if !all => commands::render(&project, &stack, out.as_deref(), check),
                _ => commands::render_all(&project, check),
            }
        }
        Command::Policy {
            action: PolicyCommand::Check { plan, stack },
        } => commands::policy_check(
            &Project::locate(global.project.as_deref())?,
            &plan,
            stack.as_deref(),
        ),
        Command::Policy {
            action: PolicyCommand::Test { stack },
        } => commands::policy_test(
            &Project::locate(global.project.as_deref())?,
            stack.as_deref(),
        ),
        Command::Cost { target } => {
            commands::cost(
                &Context::new(global, interrupts).await?,
                &target.stack,
                &target.workspace,
            )
            .await
        }
        Command::Doctor { stacks } => commands::doctor(global, &stacks).await,
        Command::Gitops { action } => {
            let context = Context::new(global, interrupts).await?;
            match action {
                GitopsCommand::Render { target, out } => {
                    commands::gitops_render(&context, &target.stack, &target.workspace, out).await
                }
                GitopsCommand::Push { target } => {
                    commands::gitops_push(&context, &target.stack, &target.workspace).await
                }
                GitopsCommand::Bootstrap {
                    target,
                    crds,
                    kubeconfig,
                } => {
                    commands::gitops_bootstrap(
                        &context,
                        commands::GitopsBootstrapArgs {
                            stack: target.stack,
                            workspace: target.workspace.to_string(),
                            crds,
                            kubeconfig,
                        },
                    )
                    .await
                }
            }
        }
        Command::Preview { stack, yes, action } => {
            let context = approved(Context::new(global, interrupts).await?, yes);
            preview(&context, stack, action).await
        }
        Command::Init { dir } => commands::init(&dir),
        Command::Schema => Ok(Report::Schema {
            schema: crate::stack::stack_schema(),
        }),
        Command::Plan {
            mut stacks,
            set,
            workspace,
            out,
            detailed_exitcode,
            destroy,
        } => {
            let context = Context::new(global, interrupts).await?;
            let single = stacks.len() == 1 && !set.all && !set.changed && set.report_dir.is_none();
            if single {
                let stack = stacks.remove(0);
                return commands::plan(
                    &context,
                    PlanArgs {
                        stack,
                        workspace: workspace.to_string(),
                        out,
                        detailed_exitcode,
                        destroy,
                    },
                )
                .await;
            }
            if out.is_some() || destroy {
                return Err(Error::Usage("--out and --destroy plan a single stack; with several, plans go to --report-dir".into()));
            }
            commands::plan_set(
                &context,
                plan_set_args(stacks, set, workspace, detailed_exitcode, false),
            )
            .await
        }
        Command::Drift {
            stacks,
            mut set,
            workspace,
        } => {
            let context = Context::new(global, interrupts).await?;
            set.all |= stacks.is_empty() && !set.changed;
            commands::plan_set(&context, plan_set_args(stacks, set, workspace, true, true)).await
        }
        Command::Ci {
            action:
                CiCommand::Comment {
                    repo,
                    pr,
                    body,
                    marker,
                    api_url,
                    author,
                },
        } => {
            let args = CiCommentArgs {
                repo: &repo,
                pr,
                body: &body,
                marker: marker.as_deref(),
                api_url: &api_url,
                author: author.as_deref(),
            };
            commands::ci_comment(args).await
        }
        Command::Ci {
            action:
                CiCommand::Changed {
                    base,
                    matrix,
                    pull_request,
                },
        } => commands::ci_changed(
            &Project::locate(global.project.as_deref())?,
            &base,
            matrix,
            pull_request,
        ),
        Command::Providers {
            action: ProvidersCommand::Lock { stack, platforms },
        } => {
            let context = Context::new(global, interrupts).await?;
            let platforms = if platforms.is_empty() {
                commands::DEFAULT_PLATFORMS.map(String::from).to_vec()
            } else {
                platforms
            };
            commands::providers_lock(&context, &stack, &platforms).await
        }
        Command::Apply {
            target,
            plan,
            expect_report,
            approve,
        } => {
            let context = approved(Context::new(global, interrupts).await?, approve.yes);
            commands::apply(
                &context,
                &target.stack,
                &target.workspace,
                plan,
                expect_report,
            )
            .await
        }
        Command::Up {
            target,
            wake,
            approve,
        } => {
            let context = approved(Context::new(global, interrupts).await?, approve.yes);
            commands::check_awake(&context, &target.stack, &target.workspace, wake)?;
            commands::up(&context, &target.stack, &target.workspace).await
        }
        Command::Hibernate { target, approve } => {
            let context = approved(Context::new(global, interrupts).await?, approve.yes);
            commands::hibernate(&context, &target.stack, &target.workspace).await
        }
        Command::Wake { target, approve } => {
            let context = approved(Context::new(global, interrupts).await?, approve.yes);
            commands::wake(&context, &target.stack, &target.workspace).await
        }
        Command::Down {
            target,
            delete_workspace,
            confirm,
            approve,
        } => {
            commands::down(
                &approved(Context::new(global, interrupts).await?, approve.yes),
                &target.stack,
                &target.workspace,
                delete_workspace,
                confirm.as_deref(),
            )
            .await
        }
        Command::Output { target, raw, .. } => {
            let context = Context::new(global, interrupts).await?;
            match raw {
                Some(name) => {
                    commands::output_raw(&context, &target.stack, &target.workspace, &name).await
                }
                None => commands::output(&context, &target.stack, &target.workspace).await,
            }
        }
        Command::Outputs {
            action: OutputsCommand::Push { target },
        } => {
            let context = Context::new(global, interrupts).await?;
            commands::outputs_push(&context, &target.stack, &target.workspace).await
        }
        Command::State { action } => {
            let context = Context::new(global, interrupts).await?;
            let (stack, workspace, action) = match &action {
                StateCommand::Encrypt { target } => (
                    &target.stack,
                    Some(target.workspace.as_str()),
                    commands::StateAction::Encrypt,
                ),
                StateCommand::Decrypt { target } => (
                    &target.stack,
                    Some(target.workspace.as_str()),
                    commands::StateAction::Decrypt,
                ),
                StateCommand::RotateKey { stack } => {
                    (stack, None, commands::StateAction::RotateKey)
                }
            };
            commands::state_migrate(&context, stack, workspace, action).await
        }
        Command::Kubeconfig {
            action:
                Some(KubeconfigCommand::Refresh {
                    stack, workspace, ..
                }),
            ..
        } => {
            let context = Context::new(global, interrupts).await?;
            // The parser takes a stack or `--all`, never both.
            match stack {
                Some(stack) => commands::kubeconfig_refresh(&context, &stack, &workspace).await,
                None => commands::kubeconfig_refresh_all(&context, &workspace).await,
            }
        }
        Command::Kubeconfig {
            action: None,
            stack,
            workspace,
            write,
            name,
        } => {
            let project = Project::locate(global.project.as_deref())?;
            let Some(stack) = stack else {
                return Err(Error::Usage(
                    "kubeconfig needs a stack: `wildside-tofu kubeconfig <stack>`".into(),
                ));
            };
            commands::kubeconfig(&project, &stack, &workspace, &name, write.as_deref()).await
        }
        Command::Vault {
            action: VaultCommand::Bootstrap(args),
        } => {
            let appliance = args.appliance.clone();
            let mut options = bootstrap_options(*args);
            if let Some(stack) = appliance {
                let context = Context::new(global, interrupts).await?;
                commands::appliance_ca(&context, &stack, &mut options).await?;
            }
            let project = commands::project_vault(global.project.as_deref());
            options.state_keys = project.state_keys;
            options.stacks = project.stacks;
            commands::vault_bootstrap(&options).await
        }
    }
}

fn bootstrap_options(args: BootstrapArgs) -> BootstrapOptions {
    BootstrapOptions {
        address: args
            .address
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
        ca_cert: args.ca_cert,
        state_file: args.state_file,
        key_shares: args.key_shares,
        key_threshold: args.key_threshold,
        kv_mount: args.mount,
        approle_mount: args.approle_mount,
        policy_name: args.policy,
        plan_role: args
            .plan_role
            .unwrap_or_else(|| format!("{}-plan", args.role)),
        preview_role: args
            .preview_role
            .unwrap_or_else(|| format!("{}-preview", args.role)),
        apply_role: args
            .apply_role
            .unwrap_or_else(|| format!("{}-apply", args.role)),
        legacy_role: args.role,
        rotate_secret_id: args.rotate_secret_id,
        secret_id_file: args.secret_id_file,
        plan_secret_id_file: args.plan_secret_id_file,
        preview_secret_id_file: args.preview_secret_id_file,
        wait: args.wait,
        revoke_root: args.revoke_root,
        admin_token: std::env::var("VAULT_TOKEN")
            .ok()
            .filter(|token| !token.is_empty())
            .map(SecretString::from),
        transit_mount: args.transit_mount,
        key_prefix: args.key_prefix,
        state_keys: Vec::new(),
        stacks: Vec::new(),
    }
}

fn plan_set_args(
    names: Vec<String>,
    set: StackSet,
    workspace: Workspace,
    detailed_exitcode: bool,
    drift: bool,
) -> PlanSetArgs {
    PlanSetArgs {
        selection: Selection {
            names,
            all: set.all,
            changed_base: set.changed.then_some(set.base).flatten(),
        },
        workspace: workspace.to_string(),
        parallelism: set.parallelism,
        report_dir: set.report_dir,
        artifact: set.artifact,
        detailed_exitcode,
        drift,
    }
}

/// The context with the approval `--yes` gives.
fn approved(mut context: Context, yes: bool) -> Context {
    if yes {
        context.approval = Approval::Given;
    }
    context
}

async fn preview(
    context: &Context,
    stack: String,
    action: PreviewCommand,
) -> Result<Report, Error> {
    match action {
        PreviewCommand::Hibernate { pr } => {
            commands::preview_hibernate(context, &stack, pr, false).await
        }
        PreviewCommand::Wake { pr } => commands::preview_hibernate(context, &stack, pr, true).await,
        PreviewCommand::Up {
            pr,
            sha,
            ttl,
            comment,
        } => {
            commands::preview_up(
                context,
                PreviewUpArgs {
                    stack,
                    pr,
                    sha,
                    ttl,
                    comment,
                },
            )
            .await
        }
        PreviewCommand::Down { pr } => commands::preview_down(context, &stack, pr).await,
        PreviewCommand::List => commands::preview_list(context, &stack).await,
        PreviewCommand::Pin { pr, duration } => {
            commands::preview_pin(context, &stack, pr, Some(&duration)).await
        }
        PreviewCommand::Unpin { pr } => commands::preview_pin(context, &stack, pr, None).await,
        PreviewCommand::Gc {
            open_prs,
            github_repo,
            api_url,
            dry_run,
            orphan_grace,
        } => {
            let open = match (open_prs, github_repo) {
                (Some(numbers), _) => OpenPrs::Listed(numbers),
                (None, Some(repo)) => OpenPrs::GitHub { repo, api_url },
                (None, None) => OpenPrs::Unknown,
            };
            let orphan_grace = orphan_grace
                .map(|grace| {
                    jiff::SignedDuration::try_from(grace).map_err(|_| {
                        Error::Usage(format!(
                            "--orphan-grace `{}` is longer than can be kept",
                            crate::duration::display(grace)
                        ))
                    })
                })
                .transpose()?;
            commands::preview_gc(context, &stack, open, dry_run, orphan_grace).await
        }
        PreviewCommand::Ledger {
            action: LedgerCommand::Rebuild { merge, dry_run },
        } => commands::preview_ledger_rebuild(context, &stack, merge, dry_run).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ColorArg;

    #[test]
    fn colour_follows_the_flag_then_no_color_then_the_terminal() {
        let set = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(use_color(ColorArg::Auto, None, true));
        assert!(use_color(ColorArg::Auto, empty, true));
        assert!(!use_color(ColorArg::Auto, set, true));
        assert!(!use_color(ColorArg::Auto, None, false));
        assert!(use_color(ColorArg::Always, set, false));
        assert!(!use_color(ColorArg::Never, None, true));
    }

    #[test]
    fn only_the_exact_key_provider_command_lines_skip_the_parser() {
        let line = |words: &[&str]| -> Vec<std::ffi::OsString> {
            std::iter::once("wildside-tofu")
                .chain(words.iter().copied())
                .map(Into::into)
                .collect()
        };
        for other in [
            &["plan"][..],
            &["plan-key", "extra"],
            &["--color", "never", "plan-key"],
            &["state-key", "--other"],
            &[],
        ] {
            assert_eq!(key_provider(&line(other)), None, "{other:?}");
        }
        // Outside a run there is no key to give: the provider answers, and fails.
        if std::env::var_os(crate::encryption::ONE_TIME_KEY_ENV).is_none() {
            assert_eq!(key_provider(&line(&["plan-key"])), Some(1));
        }
    }
}
