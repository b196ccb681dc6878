//! CI: parallel plans with grouped output and reports, the bounded PR comment on a real large plan, the
//! sticky comment (against a named test double of GitHub), changed stacks in a scratch git repository,
//! `apply --expect-report`, and drift.

use std::path::Path;
use std::process::Command;

use crate::support::{GitHubDouble, Project, Run};

fn stack_with_module(module: &str, inputs: &str) -> String {
    format!(
        "[[modules]]\nname = \"{module}\"\nsource = \"example\"\ninputs = {{ {inputs} }}\n\n[[outputs]]\nname = \"message\"\nfrom = \"{module}.message\"\n"
    )
}

#[test]
fn twenty_stacks_plan_in_parallel_with_output_kept_together() {
    let project = Project::new();
    let names: Vec<String> = (1..=20).map(|i| format!("s{i:02}")).collect();
    for name in &names {
        project.stack(
            name,
            &stack_with_module(&format!("m_{name}"), &format!("message = \"{name}\"")),
        );
    }
    let reports = project.path().join("reports");
    let done = project
        .run()
        .args([
            "--output",
            "json",
            "plan",
            "--all",
            "--parallelism",
            "4",
            "--detailed-exitcode",
            "--report-dir",
        ])
        .args([&reports])
        .output()
        .expect_code(2);
    let json = done.json();
    assert_eq!(json["stacks"].as_array().unwrap().len(), 20);
    let stderr = done.stderr();
    let mut current: Option<String> = None;
    let mut seen = Vec::new();
    for line in stderr.lines() {
        if let Some(header) = line.strip_prefix("── ") {
            let name = header.split_whitespace().next().unwrap().to_string();
            assert!(!seen.contains(&name), "{name} printed twice:\n{stderr}");
            seen.push(name.clone());
            current = Some(name);
        } else if let Some(address) = line.trim().strip_prefix("plan: create module.") {
            let owner = address.split('.').next().unwrap().trim_start_matches("m_");
            assert_eq!(
                Some(owner),
                current.as_deref(),
                "output interleaved:\n{stderr}"
            );
        }
    }
    assert_eq!(seen.len(), 20);
    let report: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(reports.join("report.json")).unwrap()).unwrap();
    assert!(report.iter().all(|stack| stack["schema_version"] == 2
        && stack["status"] == "changes"
        && stack["totals"]["add"] == 3));
    for name in &names {
        assert!(
            reports.join(format!("{name}.tfplan")).is_file()
                && reports.join(format!("{name}.md")).is_file()
        );
    }
    let summary = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(
        summary.starts_with("<!-- wildside-tofu:plan:s01,s02,"),
        "{summary}"
    );
}

#[test]
fn a_large_real_plan_yields_a_bounded_comment_listing_every_destroy() {
    let project = Project::new();
    project.stack(
        "big",
        &stack_with_module("m", "message = \"one\", instances = 2000"),
    );
    project
        .run()
        .args(["up", "--yes", "big"])
        .output()
        .expect_code(0);
    project.stack(
        "big",
        &stack_with_module("m", "message = \"two\", instances = 200"),
    );
    let reports = project.path().join("reports");
    project
        .run()
        .args(["plan", "big", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(0);
    let summary = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(
        summary.chars().count() <= 65_536,
        "{} characters",
        summary.chars().count()
    );
    assert!(
        summary.contains("| `big` | `default` | 0 | 200 | 2 | 1800 | changes |"),
        "{}",
        &summary[..600]
    );
    assert!(
        summary.contains("- destroy `module.m.terraform_data.copy[200-1999]` (1800 resources)")
    );
    assert!(summary.contains("- replace `module.m.terraform_data.message`"));
    assert!(
        summary.contains("changes omitted here: see the `plans` artifact of this run"),
        "the details were not cut"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("big.json")).unwrap()).unwrap();
    assert_eq!(report["changes"].as_array().unwrap().len(), 2002);
}

/// `ci comment` of `body` on pull request 7 of `o/r`, against the GitHub double.
fn comment_on_pr_7(github: &GitHubDouble, body: &Path) -> Run {
    Run::new()
        .args(["ci", "comment", "--repo", "o/r", "--pr", "7", "--api-url"])
        .args([github.api_url().as_str(), "--body"])
        .args([body])
        .env("GITHUB_TOKEN", "token-for-the-double")
}

#[test]
fn the_sticky_comment_is_created_once_and_then_updated() {
    let github = GitHubDouble::start();
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("summary.md");
    let comment = |text: &str| {
        std::fs::write(&body, text).unwrap();
        comment_on_pr_7(&github, &body).output().expect_code(0)
    };
    let first = comment("<!-- wildside-tofu:plan:dev -->\nfirst plan\n");
    assert!(
        first.stdout().starts_with("created comment"),
        "{}",
        first.stdout()
    );
    let second = comment("<!-- wildside-tofu:plan:dev -->\nsecond plan\n");
    assert!(
        second.stdout().starts_with("updated comment"),
        "{}",
        second.stdout()
    );
    comment("<!-- wildside-tofu:plan:prod -->\nanother stack set\n");
    let comments = github.comments.lock().unwrap().clone();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(
        comments[0].1,
        "<!-- wildside-tofu:plan:dev -->\nsecond plan\n"
    );
    let requests = github.requests.lock().unwrap().clone();
    assert!(
        requests[0] == requests[1],
        "the 502 was not retried: {requests:?}"
    );
}

/// Anyone may post a comment that starts with the marker: only the token's own comment is updated, so another
/// user's comment is left as they wrote it and the summary goes into a comment of the token's.
#[test]
fn a_comment_with_the_marker_by_another_user_is_not_edited() {
    let github = GitHubDouble::start();
    let planted = "<!-- wildside-tofu:plan:dev -->\nplanted by someone else\n".to_string();
    github.comments.lock().unwrap().push((1, planted.clone()));
    github
        .authors
        .lock()
        .unwrap()
        .insert(1, "mallory".to_string());
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("summary.md");
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nthe plan\n").unwrap();
    let first = comment_on_pr_7(&github, &body).output().expect_code(0);
    assert!(
        first.stdout().starts_with("created comment"),
        "{}",
        first.stdout()
    );
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nthe next plan\n").unwrap();
    let second = comment_on_pr_7(&github, &body).output().expect_code(0);
    assert!(
        second.stdout().starts_with("updated comment"),
        "{}",
        second.stdout()
    );
    let comments = github.comments.lock().unwrap().clone();
    assert_eq!(
        comments,
        vec![
            (1, planted),
            (
                101,
                "<!-- wildside-tofu:plan:dev -->\nthe next plan\n".to_string()
            )
        ]
    );
    let requests = github.requests.lock().unwrap().clone();
    assert!(
        !requests
            .iter()
            .any(|request| request.ends_with("/comments/1")),
        "{requests:?}"
    );
}

/// A GitHub App's token (Actions' `GITHUB_TOKEN`) cannot read its own user: without `--author` nothing is
/// sent and the error names the flag; with it, the comment is found by that login.
#[test]
fn a_token_that_cannot_read_its_user_needs_the_author_named() {
    let github = GitHubDouble::start();
    github
        .integration_token
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("summary.md");
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nplan\n").unwrap();
    let refused = comment_on_pr_7(&github, &body).output().expect_code(1);
    assert!(
        refused.stderr().contains("--author LOGIN"),
        "{}",
        refused.stderr()
    );
    assert!(github.comments.lock().unwrap().is_empty());
    for expected in ["created comment", "updated comment"] {
        let done = comment_on_pr_7(&github, &body)
            .args(["--author", GitHubDouble::LOGIN])
            .output()
            .expect_code(0);
        assert!(done.stdout().starts_with(expected), "{}", done.stdout());
    }
    assert_eq!(github.comments.lock().unwrap().len(), 1);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn a_create_whose_reply_was_lost_is_not_repeated() {
    let github = GitHubDouble::start();
    github
        .lose_create_reply
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("summary.md");
    std::fs::write(&body, "<!-- wildside-tofu:plan:dev -->\nplan\n").unwrap();
    let done = comment_on_pr_7(&github, &body).output().expect_code(0);
    let comments = github.comments.lock().unwrap().clone();
    assert_eq!(
        comments.len(),
        1,
        "a second comment was created: {comments:?}"
    );
    assert!(
        done.stdout().starts_with("updated comment"),
        "{}",
        done.stdout()
    );
    let requests = github.requests.lock().unwrap().clone();
    assert_eq!(
        requests
            .iter()
            .filter(|request| request.starts_with("POST"))
            .count(),
        1,
        "{requests:?}"
    );
}

#[test]
fn a_base_ref_is_never_a_git_option() {
    let project = Project::new();
    let root = project.path();
    project.stack("a", &stack_with_module("m", "message = \"a\""));
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    let written = root.join("written-by-git");
    for base in [
        format!("--output={}", written.display()),
        "-p".to_string(),
        "main..HEAD".to_string(),
        "HEAD:stacks/a.toml".to_string(),
        "main with space".to_string(),
        String::new(),
    ] {
        let flag = format!("--base={base}");
        for args in [
            vec!["ci", "changed", &flag],
            vec!["plan", "--changed", &flag],
        ] {
            let refused = project.run().args(&args).output().expect_code(1);
            assert!(
                refused.stderr().contains("is not a git revision"),
                "{args:?}: {}",
                refused.stderr()
            );
        }
    }
    assert!(!written.exists(), "git wrote a file named by --base");
    project
        .run()
        .args(["ci", "changed", "--base", "HEAD"])
        .output()
        .expect_code(0);
}

/// A stack file's name is whatever the pull request chose, and the matrix reaches workflow steps: a changed
/// stack file that does not load (a shell command for a name, or a typo inside) never goes out, and the run
/// says which it left out and fails, so the pull request cannot pass unplanned.
#[test]
fn ci_changed_leaves_out_stack_files_that_do_not_load() {
    let project = Project::new();
    let root = project.path();
    project.stack("good", &stack_with_module("m", "message = \"a\""));
    project.stack("typo", &stack_with_module("m", "message = \"t\""));
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    project.stack("good", &stack_with_module("m", "message = \"b\""));
    std::fs::write(
        root.join("stacks/a$(id>&2).toml"),
        stack_with_module("m", "message = \"x\""),
    )
    .unwrap();
    std::fs::write(root.join("stacks/typo.toml"), "[[modules]\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "change"]);
    for matrix in [true, false] {
        let mut args = vec!["ci", "changed", "--base", "HEAD~1"];
        if matrix {
            args.push("--matrix");
        }
        let run = project.run().args(&args).output().expect_code(1);
        let expected = if matrix {
            r#"{"stack":["good"]}"#
        } else {
            "good"
        };
        assert_eq!(run.stdout().trim(), expected, "{}", run.stderr());
        for left_out in ["stacks/a$(id>&2).toml", "stacks/typo.toml"] {
            assert!(
                run.stderr()
                    .contains(&format!("left out changed stack file `{left_out}`")),
                "{left_out}: {}",
                run.stderr()
            );
        }
    }
}

#[test]
fn a_pull_request_is_not_given_the_stacks_only_trusted_refs_plan() {
    let project = Project::new();
    let root = project.path();
    let vault = |allowed: bool| {
        format!(
            "{}\n[vault]\naddress = \"http://127.0.0.1:1\"\npull_request_plans = {allowed}\n",
            stack_with_module("m", "message = \"v\"")
        )
    };
    project.stack("open", &vault(true));
    project.stack("trusted", &vault(false));
    project.stack(
        "production",
        &format!(
            "{}\n[policy]\nproduction = true\n",
            stack_with_module("m", "message = \"p\"")
        ),
    );
    project.stack("plain", &stack_with_module("m", "message = \"a\""));
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["commit", "-q", "--allow-empty", "-m", "base"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "change"]);
    let every = project
        .run()
        .args(["ci", "changed", "--base", "HEAD~1", "--matrix"])
        .output()
        .expect_code(0);
    assert_eq!(
        every.stdout().trim(),
        r#"{"stack":["open","plain","production","trusted"]}"#
    );
    let pull_request = project
        .run()
        .args([
            "ci",
            "changed",
            "--base",
            "HEAD~1",
            "--matrix",
            "--pull-request",
        ])
        .output()
        .expect_code(0);
    assert_eq!(
        pull_request.stdout().trim(),
        r#"{"stack":["open","plain"]}"#,
        "{}",
        pull_request.stderr()
    );
    for left_out in ["production", "trusted"] {
        assert!(
            pull_request.stderr().contains(&format!(
                "left out `{left_out}`: pull requests may not plan it"
            )),
            "{}",
            pull_request.stderr()
        );
    }
}

#[test]
fn changed_stacks_follow_local_module_calls() {
    let project = Project::new();
    let root = project.path();
    for (module, body) in [
        (
            "vpc",
            "variable \"name\" {\n  type = string\n}\noutput \"name\" {\n  value = var.name\n}\n",
        ),
        (
            "app",
            "module \"network\" {\n  source = \"../vpc\"\n  name   = \"app\"\n}\n",
        ),
    ] {
        std::fs::create_dir_all(root.join("modules").join(module)).unwrap();
        std::fs::write(root.join("modules").join(module).join("main.tf"), body).unwrap();
    }
    let uses = |module: &str, inputs: &str| {
        format!("[[modules]]\nname = \"x\"\nsource = \"{module}\"\ninputs = {{ {inputs} }}\n")
    };
    project.stack("a", &uses("app", ""));
    project.stack("b", &stack_with_module("m", "message = \"b\""));
    project.stack("c", &uses("vpc", "name = \"c\""));
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    let changed = |base: &str| {
        project
            .run()
            .args(["ci", "changed", "--matrix", "--base", base])
            .output()
            .expect_code(0)
            .stdout()
    };

    std::fs::write(root.join("modules/vpc/main.tf"), "variable \"name\" {\n  type = string\n}\noutput \"name\" {\n  value = upper(var.name)\n}\n").unwrap();
    git(root, &["commit", "-q", "-am", "vpc"]);
    assert_eq!(changed("HEAD~1").trim(), r#"{"stack":["a","c"]}"#);

    std::fs::write(root.join("modules/vpc/README.md"), "docs only\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "docs"]);
    assert_eq!(changed("HEAD~1").trim(), r#"{"stack":[]}"#);

    project.stack("b", &stack_with_module("m", "message = \"b2\""));
    git(root, &["commit", "-q", "-am", "b"]);
    assert_eq!(changed("HEAD~1").trim(), r#"{"stack":["b"]}"#);
    assert_eq!(changed("main~3").trim(), r#"{"stack":["a","b","c"]}"#);

    // A new or changed lock file changes the providers its stack runs with.
    std::fs::write(root.join("stacks/c.terraform.lock.hcl"), "# locked\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "lock c"]);
    assert_eq!(changed("HEAD~1").trim(), r#"{"stack":["c"]}"#);
}

#[test]
fn changed_stacks_include_platform_stacks_whose_modules_changed() {
    let project = Project::new();
    let root = project.path();
    project.stack(
        "platform",
        "[digitalocean]\nregion = \"nyc3\"\n\n[[node_pools]]\nname = \"core\"\nsize = \"s-2vcpu-4gb\"\ncount = 1\n",
    );
    project.stack(
        "appliance",
        "[digitalocean]\nregion = \"nyc3\"\n\n[[node_pools]]\nname = \"core\"\nsize = \"s-2vcpu-4gb\"\ncount = 1\n\n[vault_appliance]\ncount = 1\nssh_cidrs = [\"203.0.113.0/24\"]\napi_cidrs = [\"203.0.113.0/24\"]\ndistribution = \"vault\"\n",
    );
    project.stack("plain", &stack_with_module("m", "message = \"p\""));
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    let changed_after = |module: &str| {
        let file = root.join("modules").join(module).join("main.tf");
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("\n# changed\n");
        std::fs::write(&file, text).unwrap();
        git(root, &["commit", "-q", "-am", module]);
        project
            .run()
            .args(["ci", "changed", "--matrix", "--base", "HEAD~1"])
            .output()
            .expect_code(0)
            .stdout()
    };
    assert_eq!(
        changed_after("doks").trim(),
        r#"{"stack":["appliance","platform"]}"#
    );
    assert_eq!(
        changed_after("vpc").trim(),
        r#"{"stack":["appliance","platform"]}"#
    );
    assert_eq!(
        changed_after("vault_appliance").trim(),
        r#"{"stack":["appliance"]}"#
    );
    assert_eq!(changed_after("example").trim(), r#"{"stack":["plain"]}"#);
    let pins = root.join("modules/versions.tf");
    let mut text = std::fs::read_to_string(&pins).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&pins, text).unwrap();
    git(root, &["commit", "-q", "-am", "pins"]);
    let changed = project
        .run()
        .args(["ci", "changed", "--matrix", "--base", "HEAD~1"])
        .output()
        .expect_code(0)
        .stdout();
    assert_eq!(
        changed.trim(),
        r#"{"stack":["appliance","platform"]}"#,
        "the shared provider pins belong to every platform module"
    );
}

#[test]
fn apply_expect_report_applies_only_the_reviewed_changes() {
    let project = Project::new();
    project.stack("merge", &stack_with_module("m", "message = \"reviewed\""));
    let reports = project.path().join("reports");
    project
        .run()
        .args(["plan", "merge", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(0);
    let report = reports.join("merge.json");
    project.stack(
        "merge",
        &stack_with_module("m", "message = \"reviewed\", instances = 3"),
    );
    let refused = project
        .run()
        .args(["apply", "merge", "--expect-report"])
        .args([&report])
        .output()
        .expect_code(1);
    assert!(
        refused.stderr().contains("differs from the reviewed one")
            && refused
                .stderr()
                .contains("create module.m.terraform_data.copy[2]"),
        "{}",
        refused.stderr()
    );
    project.stack("merge", &stack_with_module("m", "message = \"reviewed\""));
    let applied = project
        .run()
        .args(["--output", "json", "apply", "merge", "--expect-report"])
        .args([&report])
        .output()
        .expect_code(0);
    assert_eq!(
        applied.json()["summary"]["changes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn apply_expect_report_refuses_other_values_stacks_workspaces_and_versions() {
    let project = Project::new();
    project.stack("merge", &stack_with_module("m", "message = \"reviewed\""));
    project.stack("other", &stack_with_module("m", "message = \"reviewed\""));
    let reports = project.path().join("reports");
    project
        .run()
        .args(["plan", "merge", "--report-dir"])
        .args([&reports])
        .output()
        .expect_code(0);
    let report = reports.join("merge.json");
    let apply = |stack: &str, workspace: &str, report: &Path| {
        project
            .run()
            .args(["apply", stack, "-w", workspace, "--expect-report"])
            .args([report])
            .output()
    };

    project.stack(
        "merge",
        &stack_with_module("m", "message = \"not reviewed\""),
    );
    let refused = apply("merge", "default", &report).expect_code(1);
    assert!(
        refused.stderr().contains("differs from the reviewed one")
            && refused.stderr().contains("module.m.terraform_data.message"),
        "{}",
        refused.stderr()
    );
    project.stack("merge", &stack_with_module("m", "message = \"reviewed\""));

    let refused = apply("other", "default", &report).expect_code(1);
    assert!(refused.stderr().contains("`merge`"), "{}", refused.stderr());
    let refused = apply("merge", "staging", &report).expect_code(1);
    assert!(
        refused.stderr().contains("`staging`"),
        "{}",
        refused.stderr()
    );
    let mut newer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    newer["schema_version"] = serde_json::json!(99);
    let newer_file = reports.join("newer.json");
    std::fs::write(&newer_file, newer.to_string()).unwrap();
    let refused = apply("merge", "default", &newer_file).expect_code(1);
    assert!(
        refused.stderr().contains("schema version 99"),
        "{}",
        refused.stderr()
    );

    apply("merge", "default", &report).expect_code(0);
}

#[test]
fn drift_reports_stacks_whose_plan_is_not_empty() {
    let project = Project::new();
    project.stack("steady", &stack_with_module("m", "message = \"steady\""));
    project.stack("moved", &stack_with_module("m", "message = \"moved\""));
    project
        .run()
        .args(["up", "--yes", "steady"])
        .output()
        .expect_code(0);
    project
        .run()
        .args(["up", "--yes", "moved"])
        .output()
        .expect_code(0);
    project.run().args(["drift"]).output().expect_code(0);
    project.stack(
        "moved",
        &stack_with_module("m", "message = \"moved again\""),
    );
    let drift = project.run().args(["drift"]).output().expect_code(2);
    assert!(
        drift.stdout().contains("moved") && drift.stdout().contains("DRIFTED"),
        "{}",
        drift.stdout()
    );
    let markdown =
        std::fs::read_to_string(project.path().join(".wildside/reports/drift.md")).unwrap();
    assert!(
        markdown.contains("### wildside-tofu drift") && markdown.contains("| `moved` |"),
        "{markdown}"
    );
}
