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
    run()
        .args(["up", "--yes", "mirrored"])
        .output()
        .expect_code(0);
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
    run()
        .args(["down", "--yes", "mirrored"])
        .output()
        .expect_code(0);
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

/// A mirror holding a provider package (an empty stand-in: nothing here installs it).
fn mirror_with_digitalocean(dir: &std::path::Path) {
    let package = dir.join("registry.opentofu.org/digitalocean/digitalocean/2.99.1/linux_amd64");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("terraform-provider-digitalocean_v2.99.1"), "").unwrap();
}

#[test]
fn a_mirror_adds_to_the_tools_mirror_and_the_registry_serves_the_rest() {
    let project = Project::new();
    project.stack("added", &example_stack("", "message = \"added\""));
    let other = tempfile::tempdir().unwrap();
    mirror_with_digitalocean(other.path());
    let run = || project.run().env("WILDSIDE_PROVIDER_MIRROR", other.path());
    // The example module's provider is in the tools mirror only: it still installs.
    run().args(["plan", "added"]).output().expect_code(0);
    let config = std::fs::read_to_string(project.path().join(".wildside/tofurc")).unwrap();
    let tools_mirror = tool("WILDSIDE_PROVIDER_MIRROR");
    assert!(
        config.contains(other.path().to_str().unwrap())
            && config.contains(tools_mirror.to_str().unwrap()),
        "{config}"
    );
    assert!(
        config.contains("\"registry.opentofu.org/digitalocean/digitalocean\""),
        "{config}"
    );
    assert!(config.contains("direct"), "{config}");

    let doctor = run().args(["doctor", "--output", "json"]).output();
    let report = doctor.json();
    let providers = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "providers")
        .unwrap_or_else(|| panic!("{report}"));
    let detail = providers["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "registry.opentofu.org/digitalocean/digitalocean from the mirror {}",
            other.path().display()
        )),
        "{detail}"
    );
}

#[test]
fn a_mirror_with_a_link_tofu_does_not_follow_is_an_error() {
    let project = Project::new();
    project.stack("linked", &example_stack("", "message = \"linked\""));
    let real = tempfile::tempdir().unwrap();
    mirror_with_digitalocean(real.path());
    let linked = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(linked.path().join("registry.opentofu.org")).unwrap();
    std::os::unix::fs::symlink(
        real.path().join("registry.opentofu.org/digitalocean"),
        linked.path().join("registry.opentofu.org/digitalocean"),
    )
    .unwrap();
    let run = || project.run().env("WILDSIDE_PROVIDER_MIRROR", linked.path());
    let doctor = run().args(["doctor", "--output", "json"]).output();
    assert_eq!(doctor.code(), 1, "{}", doctor.stdout());
    let report = doctor.json();
    let mirror = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "provider mirror")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(mirror["ok"], false, "{mirror}");
    assert!(
        mirror["detail"]
            .as_str()
            .unwrap()
            .contains("is a symbolic link, which tofu does not follow"),
        "{mirror}"
    );
    let plan = run().args(["plan", "linked"]).output();
    assert_eq!(plan.code(), 1, "{}", plan.stderr());
    assert!(plan.stderr().contains("symbolic link"), "{}", plan.stderr());
}
