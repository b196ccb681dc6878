//! DigitalOcean's own Go client, godo, drives the real `wildside-sandbox serve` through whole lifecycles: the Go suite
//! in `tests/godo/` (a VPC with a DOKS cluster and its pools; a droplet, volume, firewall, certificate, load
//! balancer and project; pagination, errors and rate-limit headers) and then checks the sandbox is empty.
//!
//! Go is part of this project's machines (the README's prerequisites), so a missing `go` fails this test
//! loudly instead of skipping it.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The `go` on PATH; its absence is a failure, never a silent pass.
fn go() -> &'static str {
    match Command::new("go").arg("version").output() {
        Ok(output) if output.status.success() => "go",
        Ok(output) => panic!(
            "`go version` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "`go` is not on PATH ({error}): the godo lifecycle suite in tests/godo needs Go, which this \
             project's machines have (see the README); put Go's bin directory on PATH"
        ),
    }
}

#[test]
fn godo_drives_the_sandbox_through_whole_lifecycles() {
    let go = go();
    let scratch = tempfile::tempdir().unwrap();
    let sandbox = crate::support::Sandbox::start(scratch.path(), &[]);
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/godo");

    let started = Instant::now();
    let output = Command::new(go)
        .args(["test", "-count=1", "-timeout=5m", "./..."])
        .current_dir(&module)
        .env("WILDSIDE_SANDBOX_URL", &sandbox.url)
        .output()
        .expect("running `go test`");
    let elapsed = started.elapsed();
    let report = format!(
        "`go test` in {} against {} took {elapsed:.1?}\n--- stdout\n{}\n--- stderr\n{}",
        module.display(),
        sandbox.url,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let left = sandbox.resources();
    sandbox.stop();

    assert!(output.status.success(), "{}: {report}", output.status);
    assert!(
        left.is_empty(),
        "the sandbox's state still holds {left:?} after the suite\n{report}"
    );
    eprintln!("{report}");
}
