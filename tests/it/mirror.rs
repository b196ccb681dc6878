//! Air-gapped use: `--provider-mirror` and `--plugin-cache` work without the `make tools` manifest.

use crate::support::{Project, example_stack, tool};

#[test]
fn providers_install_from_an_explicit_mirror_into_a_shared_cache() {
    let project = Project::new();
    project.stack("mirrored", &example_stack("", "message = \"air-gapped\""));
    let no_manifest = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        project
            .run()
            .env("WILDSIDE_TOOLS_DIR", no_manifest.path())
            .env("WILDSIDE_TOFU", tool("WILDSIDE_TOFU_BIN"))
            .env("WILDSIDE_PROVIDER_MIRROR", tool("WILDSIDE_PROVIDER_MIRROR"))
            .env("WILDSIDE_PLUGIN_CACHE", cache.path())
    };
    run().args(["up", "mirrored"]).output().expect_code(0);
    // The first init had no lock file to check a cached package against, so it kept the shared cache out of
    // it; an init with the lock file written installs through the shared cache.
    let lock_file = project.path().join("stacks/mirrored.terraform.lock.hcl");
    assert!(lock_file.is_file(), "no lock file beside the stack");
    std::fs::remove_dir_all(project.path().join(".wildside/build/mirrored/.terraform")).unwrap();
    run().args(["plan", "mirrored"]).output().expect_code(0);
    let cached = cache.path().join("registry.opentofu.org/hashicorp/time");
    assert!(
        cached.is_dir(),
        "the provider did not land in the shared plugin cache"
    );
    let config = std::fs::read_to_string(project.path().join(".wildside/tofurc")).unwrap();
    assert!(config.contains("filesystem_mirror"), "{config}");
    run().args(["down", "mirrored"]).output().expect_code(0);
}

#[test]
fn a_mirror_path_is_written_into_the_cli_configuration_exactly() {
    let project = Project::new();
    project.stack("mirrored", &example_stack("", "message = \"odd path\""));
    let no_manifest = tempfile::tempdir().unwrap();
    let links = tempfile::tempdir().unwrap();
    let mirror = links.path().join("mirror ${ \"quoted\" %{ é \\ $${");
    std::os::unix::fs::symlink(tool("WILDSIDE_PROVIDER_MIRROR"), &mirror).unwrap();
    let cache = tempfile::tempdir().unwrap();
    project
        .run()
        .env("WILDSIDE_TOOLS_DIR", no_manifest.path())
        .env("WILDSIDE_TOFU", tool("WILDSIDE_TOFU_BIN"))
        .env("WILDSIDE_PROVIDER_MIRROR", &mirror)
        .env("WILDSIDE_PLUGIN_CACHE", cache.path())
        .args(["plan", "mirrored"])
        .output()
        .expect_code(0);
}
