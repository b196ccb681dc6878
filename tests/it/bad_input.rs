//! Bad input gets a clear error naming where and how to fix it, and never a panic.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Project, Run, example_stack, free_port};

const MODULE: &str =
    "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = { message = \"hi\" }\n";

/// (stack text, expected "line:column", expected message fragment, expected hint fragment)
fn malformed() -> Vec<(String, &'static str, &'static str, &'static str)> {
    vec![
        (
            "[backend\ntype = \"local\"\n".into(),
            "1:9",
            "",
            "example.toml",
        ),
        (
            format!("{MODULE}\n[[modlues]]\nname = \"x\"\n"),
            "6:3",
            "unknown field `modlues`",
            "did you mean `modules`?",
        ),
        (
            format!("[backend]\ntype = \"s3\"\nbukcet = \"b\"\n{MODULE}"),
            "3:1",
            "unknown field `bukcet`",
            "did you mean `bucket`?",
        ),
        (
            format!("[backend]\ntype = \"s4\"\n{MODULE}"),
            "2:8",
            "unknown backend type `s4`",
            "did you mean `s3`?",
        ),
        (
            format!("[backend]\ntype = \"s3\"\nregion = \"nyc3\"\n{MODULE}"),
            "1:1",
            "needs a `bucket`",
            "bucket = ",
        ),
        (
            format!(
                "[backend]\ntype = \"s3\"\nbucket = \"b\"\nendpoint = \"nyc3.example\"\n{MODULE}"
            ),
            "4:12",
            "must be an http:// or https:// URL",
            "digitaloceanspaces",
        ),
        (
            format!("[backend]\ntype = \"local\"\nschema = \"x\"\n{MODULE}"),
            "3:10",
            "`schema` is not a setting of the local backend",
            "settings of the local backend: path",
        ),
        (
            "[backend]\ntype = \"local\"\n".into(),
            "3:1",
            "the stack has no modules",
            "[[modules]]",
        ),
        (
            "[[modules]]\nsource = \"example\"\n".into(),
            "1:1",
            "missing field `name`",
            "add `name = ...`",
        ),
        (
            "[[modules]]\nname = \"g\"\nsource = \"exampel\"\n".into(),
            "3:10",
            "module `exampel` is not a directory of `modules/`",
            "did you mean `example`?",
        ),
        (
            format!("{MODULE}{MODULE}"),
            "6:8",
            "module `greeting` is declared twice",
            "unique `name`",
        ),
        (
            "[[modules]]\nname = \"1bad\"\nsource = \"example\"\n".into(),
            "2:8",
            "`1bad` is not a valid module name",
            "starting with a letter",
        ),
        (
            "[[modules]]\nname = \"g\"\nsource = \"example\"\ninputs = { when = 2024-01-01 }\n"
                .into(),
            "4:19",
            "cannot be TOML dates",
            "quote the date",
        ),
        (
            format!("{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"greeting\"\n"),
            "7:8",
            "is not a module output reference",
            "<module name>.<output name>",
        ),
        (
            format!("{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"greting.message\"\n"),
            "7:8",
            "refers to module `greting`",
            "did you mean `greeting`?",
        ),
        (
            format!(
                "{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"greeting.message\"\n[[outputs]]\nname = \"o\"\nfrom = \"greeting.message\"\n"
            ),
            "9:8",
            "output `o` is declared twice",
            "unique `name`",
        ),
        (
            format!(
                "{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"greeting.message\"\nsensitive = \"yes\"\n"
            ),
            "8:13",
            "invalid type",
            "strings are quoted",
        ),
        (
            "[[modules]]\nname = \"g\"\nsource = \"example\"\ninput = { message = \"hi\" }\n"
                .into(),
            "4:1",
            "unknown field `input`",
            "did you mean `inputs`?",
        ),
        (
            "[[modules]]\nname = \"g\"\nsource = \"\"\n".into(),
            "3:10",
            "module `source` is empty",
            "name a directory of `modules/`",
        ),
        (
            format!("{MODULE}[secrets]\ntok = {{ path = \"a\", key = \"b\" }}\n"),
            "6:1",
            "need a `[vault]` section",
            "add [vault]",
        ),
        (
            format!("[vault]\naddress = \"vault.example\"\n{MODULE}"),
            "2:11",
            "`vault.example` is not a Vault address",
            "https://vault.example:8200",
        ),
        (
            format!("[vault]\naddress = \"http://v:8200\"\nauth = \"aprole\"\n{MODULE}"),
            "3:8",
            "unknown Vault auth method `aprole`",
            "did you mean `approle`?",
        ),
        (
            format!("[vault]\naddress = \"http://v:8200\"\nrole_id_env = \"X\"\n{MODULE}"),
            "3:15",
            "AppRole settings need `auth = \"approle\"`",
            "add `auth = \"approle\"`",
        ),
        (
            "[vault]\naddress = \"http://v:8200\"\n[secrets]\ntoken = { path = \"a\", key = \"b\" }\n[[modules]]\nname = \"g\"\nsource = \"example\"\nsecret_inputs = { message = \"tokn\" }\n".into(),
            "8:29",
            "`tokn` is not declared in [secrets]",
            "did you mean `token`?",
        ),
        (
            format!("{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"greeting.message\"\n[vault]\naddress = \"http://v:8200\"\n[outputs_to_vault]\nout = \"x\"\n"),
            "11:1",
            "`out` is not an output of this stack",
            "[[outputs]]",
        ),
        (
            format!("[vault]\naddress = \"http://v:8200\"\nmout = \"kv\"\n{MODULE}"),
            "3:1",
            "unknown field `mout`",
            "did you mean `mount`?",
        ),
        (
            format!("[vault]\naddress = \"http://v:8200\"\n[secrets]\nt = {{ path = \"a\", key = \"\" }}\n{MODULE}"),
            "4:25",
            "the secret `key` is empty",
            "name the key",
        ),
        (
            "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = { message = \"cafe\\u0301\" }\n".into(),
            "4:22",
            "OpenTofu reads U+0065 U+0301 as U+00E9",
            "write U+00E9 instead",
        ),
    ]
}

#[test]
fn malformed_stack_files_name_file_line_column_and_fix() {
    let project = Project::new();
    let cases = malformed();
    assert!(cases.len() >= 15);
    for (text, position, message, hint) in cases {
        project.stack("broken", &text);
        let done = project
            .run()
            .args(["render", "broken"])
            .output()
            .expect_code(1);
        let stderr = done.stderr();
        let located = format!("stacks/broken.toml:{position}: ");
        assert!(
            stderr.contains(&located),
            "expected `{located}` for\n{text}\ngot:\n{stderr}"
        );
        assert!(
            stderr.contains(message),
            "expected `{message}` for\n{text}\ngot:\n{stderr}"
        );
        assert!(
            stderr.contains("hint: ") && stderr.contains(hint),
            "expected hint `{hint}` for\n{text}\ngot:\n{stderr}"
        );
    }
}

#[test]
fn a_stack_file_that_is_not_utf8_names_the_first_bad_byte() {
    let project = Project::new();
    // (bytes, the first bad byte's "line:column"): Latin-1 after multi-byte UTF-8 on the same line, a lone
    // continuation byte at a line's start, and a truncated sequence at the very end.
    let cases: [(Vec<u8>, &str); 3] = [
        (
            [MODULE.as_bytes(), "# é ".as_bytes(), b"caf\xe9\n"].concat(),
            "5:8",
        ),
        (
            [b"[[modules]]\n".as_slice(), b"\x80name = \"g\"\n"].concat(),
            "2:1",
        ),
        ([MODULE.as_bytes(), b"# \xe2\x82"].concat(), "5:3"),
    ];
    for (bytes, position) in cases {
        std::fs::write(project.path().join("stacks/latin.toml"), &bytes).unwrap();
        let done = project
            .run()
            .args(["render", "latin"])
            .output()
            .expect_code(1);
        let stderr = done.stderr();
        let located = format!("stacks/latin.toml:{position}: ");
        assert!(
            stderr.contains(&located),
            "expected `{located}`, got:\n{stderr}"
        );
        assert!(stderr.contains("not UTF-8"), "{stderr}");
        assert!(
            stderr.contains("hint: ") && stderr.contains("save the file as UTF-8"),
            "{stderr}"
        );
        assert!(!stderr.contains("ls stacks/"), "{stderr}");
    }
}

#[test]
fn an_unknown_stack_is_named_with_a_suggestion() {
    let project = Project::new();
    project.stack("example", &example_stack("", "message = \"hi\""));
    let done = project
        .run()
        .args(["render", "exmaple"])
        .output()
        .expect_code(1);
    assert!(
        done.stderr().contains("no stack `exmaple`")
            && done.stderr().contains("did you mean `example`?"),
        "{}",
        done.stderr()
    );
}

#[test]
fn a_workspace_that_is_not_a_plain_name_is_refused_before_anything_runs() {
    let project = Project::new();
    project.stack("example", &example_stack("", "message = \"hi\""));
    for workspace in ["../../escape", "-lock=false", "a/b"] {
        let done = project
            .run()
            .args([
                "plan",
                "example",
                "--detailed-exitcode",
                &format!("--workspace={workspace}"),
            ])
            .output()
            .expect_code(1);
        assert!(
            done.stderr()
                .contains(&format!("`{workspace}` is not a workspace name")),
            "{}",
            done.stderr()
        );
    }
    assert!(
        !project.path().join(".wildside").exists(),
        "nothing is prepared for a refused workspace"
    );
    // A misspelt option is a usage error, exit 1: under --detailed-exitcode, 2 means changes.
    project
        .run()
        .args(["plan", "example", "--detailed-exitcod"])
        .output()
        .expect_code(1);
}

#[test]
fn missing_tofu_points_at_make_tools() {
    let project = Project::new();
    project.stack("example", &example_stack("", "message = \"hi\""));
    let empty = tempfile::tempdir().unwrap();
    let done = project
        .run()
        .args(["up", "--yes", "example"])
        .env("WILDSIDE_TOOLS_DIR", empty.path())
        .env("PATH", empty.path())
        .output()
        .expect_code(1);
    assert!(
        done.stderr().contains("no OpenTofu binary found") && done.stderr().contains("make tools"),
        "{}",
        done.stderr()
    );
}

#[test]
fn a_too_old_engine_is_refused() {
    // A stand-in that only answers `version` as OpenTofu 1.9.0 would: the version gate never runs it further.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("tofu");
    std::fs::write(
        &old,
        "#!/bin/sh\necho 'OpenTofu v1.9.0'\necho 'on linux_amd64'\n",
    )
    .unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let project = Project::new();
    project.stack("example", &example_stack("", "message = \"hi\""));
    let done = project
        .run()
        .args(["plan", "example"])
        .env("WILDSIDE_TOFU", &old)
        .output()
        .expect_code(1);
    assert!(
        done.stderr().contains("OpenTofu 1.9.0")
            && done.stderr().contains("too old")
            && done.stderr().contains("1.10.0"),
        "{}",
        done.stderr()
    );
}

#[test]
fn unreachable_backends_are_named() {
    let project = Project::new();
    let port = free_port();
    let s3 = format!(
        "[backend]\ntype = \"s3\"\nbucket = \"gone\"\nendpoint = \"http://127.0.0.1:{port}\"\nuse_path_style = true"
    );
    project.stack("s3", &example_stack(&s3, "message = \"hi\""));
    let done = project
        .run()
        .args(["plan", "s3"])
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .output()
        .expect_code(1);
    let expected =
        format!("state backend s3 (bucket `gone` at http://127.0.0.1:{port}) is unreachable");
    assert!(done.stderr().contains(&expected), "{}", done.stderr());

    project.stack(
        "pg",
        &example_stack("[backend]\ntype = \"pg\"", "message = \"hi\""),
    );
    let conn = format!("postgres://u:pw-canary-91@127.0.0.1:{port}/db");
    let done = project
        .run()
        .args(["plan", "pg"])
        .env("PG_CONN_STR", &conn)
        .output()
        .expect_code(1);
    assert!(
        done.stderr()
            .contains(&format!("state backend pg (PostgreSQL at 127.0.0.1:{port}")),
        "{}",
        done.stderr()
    );
    assert!(
        !done.stderr().contains("pw-canary-91"),
        "the password leaked:\n{}",
        done.stderr()
    );

    let done = project.run().args(["plan", "pg"]).output().expect_code(1);
    assert!(
        done.stderr().contains("$PG_CONN_STR, which is not set"),
        "{}",
        done.stderr()
    );
}

#[test]
fn doctor_is_healthy_only_when_everything_is() {
    let project = Project::new();
    project.stack("example", &example_stack("", "message = \"hi\""));
    let done = Run::new()
        .args(["--project"])
        .args([project.path()])
        .args(["--output", "json", "doctor"])
        .output()
        .expect_code(0);
    let report = done.json();
    assert_eq!(report["healthy"], true, "{report}");
    let port = free_port();
    project.stack(
        "down",
        &example_stack(
            &format!(
                "[backend]\ntype = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{port}\""
            ),
            "message = \"hi\"",
        ),
    );
    let done = project.run().args(["doctor"]).output().expect_code(1);
    assert!(
        done.stdout().contains("FAIL stack down") && done.stdout().contains("unreachable"),
        "{}",
        done.stdout()
    );
}
