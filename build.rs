//! Embeds the git commit the binary is built from (`WILDSIDE_GIT_COMMIT`) for `--version`: read with
//! `git rev-parse` when git and a repository are there, else `unknown` (or `WILDSIDE_GIT_COMMIT` as the build
//! environment gives it). Nothing is fetched.
//!
//! It also lists the files of the platform modules in `modules/` for `src/modules/`, which embeds them, so the
//! binary carries the modules it was built and tested with.

use std::path::Path;
use std::process::Command;

/// The modules in `modules/` the platform sections call; they ship with the binary.
const PLATFORM_MODULES: [&str; 3] = ["vpc", "doks", "vault_appliance"];

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Writes `$OUT_DIR/embedded_modules.rs`: one `EmbeddedFile` per file of each platform module, its text
/// included from the source tree (a symlinked file contributes the text it points to).
fn embed_modules() {
    // Read when the script runs, not when it was compiled: a build script compiled for a checkout elsewhere
    // may be reused by a target directory shared between checkouts.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("modules");
    let mut entries = Vec::new();
    for module in PLATFORM_MODULES {
        let dir = root.join(module);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .expect("module file names are UTF-8");
            let source = path.canonicalize().expect("a module file resolves");
            entries.push(format!(
                "    EmbeddedFile {{ module: {module:?}, name: {name:?}, text: include_str!({:?}) }},\n",
                source.display().to_string()
            ));
        }
    }
    let code = format!(
        "/// The files of the platform modules, by module and file name.\npub const FILES: &[EmbeddedFile] = &[\n{}];\n",
        entries.concat()
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_modules.rs");
    std::fs::write(&out, code).unwrap_or_else(|error| panic!("writing {}: {error}", out.display()));
    println!("cargo:rerun-if-changed=modules");
}

fn main() {
    embed_modules();
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
