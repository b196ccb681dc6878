//! Releases: `scripts/release-package.sh` packages the binaries with their checksum, and the install step of
//! `actions/setup` installs them, and the OpenTofu they pin, only after checking both checksums. Run against
//! local `file://` URLs laid out as GitHub's and OpenTofu's release downloads are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{sandbox_binary, tool};

const TARGET: &str = "x86_64-unknown-linux-musl";

/// A release of this build under `releases/<tag>/`, and the pinned OpenTofu under `opentofu/v<version>/`.
struct Downloads {
    dir: tempfile::TempDir,
    tag: String,
}

impl Downloads {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
        let binaries = dir.path().join("binaries");
        std::fs::create_dir_all(&binaries).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_wildside-tofu"),
            binaries.join("wildside-tofu"),
        )
        .unwrap();
        std::fs::copy(sandbox_binary(), binaries.join("wildside-sandbox")).unwrap();
        let packaged = Command::new("bash")
            .arg(repo().join("scripts/release-package.sh"))
            .arg("--binaries")
            .arg(&binaries)
            .arg(TARGET)
            .arg(dir.path().join("releases").join(&tag))
            .output()
            .unwrap();
        assert!(
            packaged.status.success(),
            "{}",
            String::from_utf8_lossy(&packaged.stderr)
        );

        let version = opentofu_version();
        let tofu_dir = dir.path().join("opentofu").join(format!("v{version}"));
        std::fs::create_dir_all(&tofu_dir).unwrap();
        let staged = dir.path().join("tofu");
        std::fs::copy(tool("WILDSIDE_TOFU_BIN"), &staged).unwrap();
        let zip_name = format!("tofu_{version}_linux_amd64.zip");
        let zipped = Command::new("python3")
            .args(["-m", "zipfile", "-c"])
            .arg(tofu_dir.join(&zip_name))
            .arg("tofu")
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(zipped.success());
        let sums = Command::new("sha256sum")
            .arg(&zip_name)
            .current_dir(&tofu_dir)
            .output()
            .unwrap();
        std::fs::write(
            tofu_dir.join(format!("tofu_{version}_SHA256SUMS")),
            sums.stdout,
        )
        .unwrap();
        Self { dir, tag }
    }

    fn archive(&self) -> PathBuf {
        self.dir
            .path()
            .join("releases")
            .join(&self.tag)
            .join(format!("wildside-tofu-{}-{TARGET}.tar.gz", self.tag))
    }

    fn install_dir(&self) -> PathBuf {
        self.dir.path().join("installed")
    }

    /// The action's install step, with the action's inputs as its environment.
    fn install(&self) -> Output {
        let github_path = self.dir.path().join("github_path");
        Command::new("bash")
            .arg(repo().join("actions/setup/install.sh"))
            .env("WILDSIDE_VERSION", &self.tag)
            .env(
                "WILDSIDE_RELEASE_URL",
                url(&self.dir.path().join("releases")),
            )
            .env(
                "OPENTOFU_RELEASE_URL",
                url(&self.dir.path().join("opentofu")),
            )
            .env("INSTALL_DIR", self.install_dir())
            .env("GITHUB_PATH", github_path)
            .output()
            .unwrap()
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn opentofu_version() -> String {
    std::fs::read_to_string(repo().join("scripts/versions.env"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("OPENTOFU_VERSION="))
        .unwrap()
        .to_string()
}

/// The archives under test are built for x86-64 Linux, the runner the install step then picks.
fn on_x86_64_linux() -> bool {
    let here = cfg!(target_os = "linux") && cfg!(target_arch = "x86_64");
    if !here {
        eprintln!(
            "skipped: the setup action's test installs the x86-64 Linux archive, and this is not x86-64 Linux"
        );
    }
    here
}

#[test]
fn setup_installs_a_verified_release_and_the_opentofu_it_pins() {
    if !on_x86_64_linux() {
        return;
    }
    let downloads = Downloads::new();
    assert!(
        downloads
            .dir
            .path()
            .join("releases")
            .join(&downloads.tag)
            .join(format!(
                "wildside-tofu-{}-{TARGET}.tar.gz.sha256",
                downloads.tag
            ))
            .is_file()
    );
    let output = downloads.install();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bin = downloads.install_dir().join("bin");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        bin.display().to_string()
    );
    let version = Command::new(bin.join("wildside-tofu"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        String::from_utf8_lossy(&version.stdout)
    );
    let tofu = Command::new(bin.join("tofu"))
        .arg("version")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&tofu.stdout)
            .contains(&format!("OpenTofu v{}", opentofu_version())),
        "{}",
        String::from_utf8_lossy(&tofu.stdout)
    );
    assert!(bin.join("wildside-sandbox").is_file());
    let path = std::fs::read_to_string(downloads.dir.path().join("github_path")).unwrap();
    assert_eq!(path.trim(), bin.display().to_string());
}

#[test]
fn setup_refuses_an_archive_that_does_not_match_its_checksum() {
    if !on_x86_64_linux() {
        return;
    }
    let downloads = Downloads::new();
    let mut archive = std::fs::read(downloads.archive()).unwrap();
    archive.extend_from_slice(b"tampered");
    std::fs::write(downloads.archive(), archive).unwrap();
    let output = downloads.install();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to install it"), "{stderr}");
    assert!(!downloads.install_dir().join("bin/wildside-tofu").exists());
}
