//! Embeds the git commit the binary is built from (`WILDSIDE_GIT_COMMIT`) for `--version`: read with
//! `git rev-parse` when git and a repository are there, else `unknown` (or `WILDSIDE_GIT_COMMIT` as the build
//! environment gives it). Nothing is fetched.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    // A build from a source archive (no repository) may name its commit itself.
    let commit = std::env::var("WILDSIDE_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=WILDSIDE_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=WILDSIDE_GIT_COMMIT");
    // Build again when HEAD moves: HEAD itself, the branch it names, and packed refs.
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(file) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
