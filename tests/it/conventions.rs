//! The conventions a command-line user expects: `--version`, shell completions, `NO_COLOR` and `--color`,
//! `-v`/`-vv`, grouped help.

use crate::support::{Project, Run, TEST_STATE_PASSPHRASE, example_stack, tool};

/// `--version` names the tool, its commit, the modules and the OpenTofu a command would run.
#[test]
fn version_names_tool_commit_modules_and_engine() {
    let done = Run::new().args(["--version"]).output().expect_code(0);
    let text = done.stdout();
    assert!(
        text.starts_with(&format!("wildside-tofu {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let commit = text
        .lines()
        .find_map(|line| line.strip_prefix("commit: "))
        .unwrap_or_else(|| panic!("no commit in\n{text}"));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    match head {
        Some(head) => assert!(head.starts_with(commit), "{commit} is not {head}"),
        None => assert_eq!(commit, "unknown"),
    }
    assert!(
        text.contains(&format!("modules: {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let tofu = tool("WILDSIDE_TOFU_BIN");
    let real = std::process::Command::new(&tofu)
        .arg("version")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&real.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let engine = text
        .lines()
        .find_map(|line| line.strip_prefix("engine: "))
        .unwrap_or_else(|| panic!("no engine in\n{text}"));
    assert!(
        engine.starts_with(&format!(
            "OpenTofu {}",
            first.trim_start_matches("OpenTofu v")
        )),
        "{engine} vs {first}"
    );
    assert!(engine.contains(&tofu.display().to_string()), "{engine}");
}

/// `--tofu` given with `--version` is the engine reported, as for any command.
#[test]
fn version_reports_the_engine_given_by_tofu() {
    let tofu = tool("WILDSIDE_TOFU_BIN");
    let copy = tempfile::tempdir().unwrap();
    let other = copy.path().join("tofu-copy");
    std::fs::copy(&tofu, &other).unwrap();
    let done = Run::new()
        .args(["--tofu".as_ref(), other.as_os_str(), "--version".as_ref()])
        .output()
        .expect_code(0);
    assert!(
        done.stdout().contains(&other.display().to_string()),
        "{}",
        done.stdout()
    );
}

/// Without any engine, `--version` still succeeds and says so.
#[test]
fn version_without_an_engine_says_not_found() {
    let empty = tempfile::tempdir().unwrap();
    let done = Run::new()
        .env("WILDSIDE_TOOLS_DIR", empty.path())
        .env("PATH", empty.path())
        .args(["--version"])
        .output()
        .expect_code(0);
    assert!(
        done.stdout().contains("engine: not found\n"),
        "{}",
        done.stdout()
    );
    let not_tofu = Run::new()
        .args(["--tofu", "/bin/sh", "--version"])
        .output()
        .expect_code(0);
    assert!(
        not_tofu.stdout().contains("engine: not usable: `/bin/sh`"),
        "{}",
        not_tofu.stdout()
    );
}

/// `completions bash` is a script bash loads, and it completes subcommand names.
#[test]
fn bash_completions_complete_subcommands() {
    let script = Run::new()
        .args(["completions", "bash"])
        .output()
        .expect_code(0)
        .stdout();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wildside-tofu.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str, current: usize, word: &str, previous: &str| {
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={current}; \
                 _wildside__tofu wildside-tofu {word} {previous}; echo \"${{COMPREPLY[@]}}\"",
                file.display()
            ))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    assert_eq!(
        complete("wildside-tofu prev", 1, "prev", "wildside-tofu"),
        "preview"
    );
    assert_eq!(
        complete("wildside-tofu comp", 1, "comp", "wildside-tofu"),
        "completions"
    );
    assert_eq!(
        complete("wildside-tofu --lockf", 1, "--lockf", "wildside-tofu"),
        "--lockfile"
    );
}

/// zsh and fish get their own scripts, naming every visible subcommand; an unknown shell is a usage error.
#[test]
fn zsh_and_fish_completions_name_every_command() {
    let zsh = Run::new()
        .args(["completions", "zsh"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(zsh.starts_with("#compdef wildside-tofu"), "{zsh}");
    let fish = Run::new()
        .args(["completions", "fish"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(fish.contains("complete -c wildside-tofu"), "{fish}");
    for command in [
        "plan",
        "up",
        "down",
        "preview",
        "vault",
        "doctor",
        "completions",
    ] {
        assert!(zsh.contains(&format!("'{command}:")), "{command} in zsh");
        assert!(
            fish.contains(&format!("-a \"{command}\"")),
            "{command} in fish"
        );
    }
    let unknown = Run::new()
        .args(["completions", "tcsh"])
        .output()
        .expect_code(1);
    assert!(unknown.stderr().contains("tcsh"), "{}", unknown.stderr());
}

/// At the default level nothing of how tofu ran shows; `-v` adds each tofu command with its time, `-vv` adds
/// tofu's own log (with secrets masked). `--color always` colours the log even on a pipe.
#[test]
fn verbosity_shows_tofu_commands_then_tofu_log() {
    let project = Project::new();
    project.stack(
        "demo",
        &example_stack("[backend]\ntype = \"local\"", "message = \"verbose\""),
    );
    let quiet = project.run().args(["plan", "demo"]).output();
    assert!([0, 2].contains(&quiet.code()), "{}", quiet.stderr());
    let stderr = quiet.stderr();
    assert!(!stderr.contains("ran `"), "{stderr}");
    assert!(!stderr.contains("[DEBUG]"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");

    let verbose = project
        .run()
        .env("NO_COLOR", "1")
        .args(["-v", "--color", "always", "plan", "demo"])
        .output();
    let stderr = verbose.stderr();
    let plan_line = stderr
        .lines()
        .find(|line| line.contains("ran `tofu plan "))
        .unwrap_or_else(|| panic!("no tofu plan line in\n{stderr}"));
    assert!(plan_line.contains("s, exit status "), "{plan_line}");
    assert!(stderr.contains('\u{1b}'), "--color always: {stderr}");
    assert!(!stderr.contains("[DEBUG]"), "{stderr}");

    let very = project
        .run()
        .args(["-vv", "--color", "never", "plan", "demo"])
        .output();
    let stderr = very.stderr();
    assert!(stderr.contains("ran `tofu plan "), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("tofu: ") && line.contains("[DEBUG]")),
        "no tofu log in\n{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "--color never: {stderr}");
    assert!(!stderr.contains(TEST_STATE_PASSPHRASE), "{stderr}");
}
