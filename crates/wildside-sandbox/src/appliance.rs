//! A droplet's disk as the appliance's cloud-init leaves it, under the droplet's own directory in the sandbox's
//! data directory (`fs/` is its root): the files `write_files` writes, the user data where cloud-init keeps
//! it, and the server config rendered from its template, made to run here.
//!
//! Making it run here changes addresses and paths only, never the settings: the setup script's placeholder
//! becomes the droplet's reachable (public, loopback) address; a listener on `0.0.0.0` listens on that address
//! alone, since every droplet shares this machine's ports; any droplet's private address (the leader's, in a
//! follower's `retry_join`, or a `NAME="address"` line of an `.env` file) becomes that droplet's reachable
//! address; and absolute paths (`/etc/...`, `/mnt/vault-data/...`) move under the droplet's directory.
//!
//! The scripts that then run there (see `runtime`) make the TLS keys on this disk, as they do on a droplet.
//! No key is in the user data, the sandbox's state file or its log.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use hcl::{Body, Expression, Structure};
use serde::{Deserialize, Serialize};

use super::cloud_init::ServerSetup;

/// The file in a droplet's directory that says it runs a server, and with which config. It holds no secret,
/// so a restarted sandbox can start the server again from the droplet's disk, as the droplet's init system
/// would at boot.
pub(super) const MARKER: &str = "server.json";

/// Why a droplet's disk could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApplianceError {
    #[error("writing `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not an absolute path inside the droplet")]
    UnsafePath { path: String },
    #[error("its server config `{path}` is not valid HCL: {message}")]
    Config { path: String, message: String },
}

/// Where the droplet, and every droplet it may name, can be reached from this machine.
#[derive(Debug, Clone)]
pub(super) struct Addresses {
    /// The droplet's reachable address.
    pub(super) own: Ipv4Addr,
    /// Every droplet's private address, to its reachable one.
    pub(super) reachable: BTreeMap<Ipv4Addr, Ipv4Addr>,
}

/// Where cloud-init keeps a droplet's user data, on the droplet.
pub(super) const USER_DATA: &str = "/var/lib/cloud/instance/user-data.txt";

/// A prepared droplet: the config its server runs with, and what runs beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Prepared {
    pub(super) config: PathBuf,
    /// The droplet's root directory (`ROOT` of the scripts and services).
    pub(super) root: PathBuf,
    /// The `runcmd` scripts to run once, before anything starts (paths under `root`).
    #[serde(skip)]
    pub(super) commands: Vec<Vec<String>>,
    /// The services that run beside the server (paths under `root`).
    pub(super) services: Vec<Vec<String>>,
}

impl Prepared {
    /// The droplet's prepared server, if its directory holds one.
    pub(super) fn load(dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(dir.join(MARKER)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Marks the droplet as ready to run its server and services: its cloud-init has done its work.
    pub(super) fn save(&self, dir: &Path) -> Result<(), ApplianceError> {
        write(
            &dir.join(MARKER),
            &serde_json::to_vec_pretty(self).unwrap_or_default(),
            0o644,
        )
    }
}

/// Writes the droplet's files, its user data and its rendered server config under `dir`.
pub(super) fn prepare(
    dir: &Path,
    user_data: &str,
    setup: &ServerSetup,
    addresses: &Addresses,
) -> Result<Prepared, ApplianceError> {
    let root = dir.join("fs");
    let rewrite = Rewrite {
        root: &root,
        addresses,
    };
    write(&inside(&root, USER_DATA)?, user_data.as_bytes(), 0o600)?;
    for file in &setup.files {
        let content = if file.path.ends_with(".env") {
            rewrite.env(&file.content)
        } else {
            file.content.clone()
        };
        write(&inside(&root, &file.path)?, content.as_bytes(), file.mode())?;
    }
    let text = match &setup.placeholder {
        Some(placeholder) => setup
            .template
            .replace(placeholder.as_str(), &addresses.own.to_string()),
        None => setup.template.clone(),
    };
    let mut body = hcl::parse(&text).map_err(|error| ApplianceError::Config {
        path: setup.config.clone(),
        message: error.to_string(),
    })?;
    rewrite.body(&mut body)?;
    for path in storage_paths(&body) {
        std::fs::create_dir_all(&path).map_err(|source| ApplianceError::Io {
            path: path.clone(),
            source,
        })?;
    }
    let rendered = hcl::format::to_string(&body).map_err(|error| ApplianceError::Config {
        path: setup.config.clone(),
        message: error.to_string(),
    })?;
    let config = inside(&root, &setup.config)?;
    write(&config, rendered.as_bytes(), 0o644)?;
    let written = |word: &String| setup.files.iter().any(|file| file.path == *word);
    let relocate = |command: &Vec<String>| -> Result<Vec<String>, ApplianceError> {
        command
            .iter()
            .map(|word| match written(word) {
                true => Ok(inside(&root, word)?.display().to_string()),
                false => Ok(word.clone()),
            })
            .collect()
    };
    Ok(Prepared {
        config,
        commands: setup
            .commands
            .iter()
            .map(relocate)
            .collect::<Result<_, _>>()?,
        services: setup
            .services
            .iter()
            .map(relocate)
            .collect::<Result<_, _>>()?,
        root,
    })
}

/// `path` (absolute, on the droplet) under `root`; `..` and relative paths are refused.
fn inside(root: &Path, path: &str) -> Result<PathBuf, ApplianceError> {
    let relative = Path::new(path)
        .strip_prefix("/")
        .map_err(|_| ApplianceError::UnsafePath { path: path.into() })?;
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(ApplianceError::UnsafePath { path: path.into() });
    }
    Ok(root.join(relative))
}

fn write(path: &Path, content: &[u8], mode: u32) -> Result<(), ApplianceError> {
    let error = |source| ApplianceError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(error)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(error)?;
    file.write_all(content).map_err(error)
}

struct Rewrite<'a> {
    root: &'a Path,
    addresses: &'a Addresses,
}

impl Rewrite<'_> {
    fn body(&self, body: &mut Body) -> Result<(), ApplianceError> {
        for structure in body.iter_mut() {
            match structure {
                Structure::Attribute(attribute) => {
                    if let Expression::String(value) = &mut attribute.expr {
                        *value = self.value(value)?;
                    }
                }
                Structure::Block(block) => self.body(&mut block.body)?,
            }
        }
        Ok(())
    }

    /// `NAME="address"` lines with the address made reachable; every other line as it is.
    fn env(&self, text: &str) -> String {
        text.lines()
            .map(|line| match line.split_once('=') {
                Some((name, value)) if !name.trim_start().starts_with('#') => {
                    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
                    let bare = if quoted {
                        &value[1..value.len() - 1]
                    } else {
                        value
                    };
                    match bare.parse::<Ipv4Addr>() {
                        Ok(_) if quoted => format!("{name}=\"{}\"\n", self.address(bare)),
                        Ok(_) => format!("{name}={}\n", self.address(bare)),
                        Err(_) => format!("{line}\n"),
                    }
                }
                _ => format!("{line}\n"),
            })
            .collect()
    }

    fn value(&self, value: &str) -> Result<String, ApplianceError> {
        if value.starts_with('/') {
            return Ok(inside(self.root, value)?.display().to_string());
        }
        Ok(self.address(value))
    }

    /// `[scheme://]host[:port][/...]` with an IPv4 host made reachable; anything else as it is.
    fn address(&self, value: &str) -> String {
        let (scheme, rest) = match value.split_once("://") {
            Some((scheme, rest)) => (&value[..scheme.len() + 3], rest),
            None => ("", value),
        };
        let end = rest.find([':', '/']).unwrap_or(rest.len());
        let Ok(host) = rest[..end].parse::<Ipv4Addr>() else {
            return value.to_string();
        };
        let reachable = if host.is_unspecified() {
            self.addresses.own
        } else {
            match self.addresses.reachable.get(&host) {
                Some(address) => *address,
                None => return value.to_string(),
            }
        };
        format!("{scheme}{reachable}{}", &rest[end..])
    }
}

/// The `path` of every `storage` block, which the server expects to exist.
fn storage_paths(body: &Body) -> Vec<PathBuf> {
    body.blocks()
        .filter(|block| block.identifier.as_str() == "storage")
        .flat_map(|block| block.body.attributes())
        .filter(|attribute| attribute.key.as_str() == "path")
        .filter_map(|attribute| match &attribute.expr {
            Expression::String(path) => Some(PathBuf::from(path)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud_init;

    const USER_DATA: &str = r#"#cloud-config
write_files:
  - path: /etc/vault-tls/server-key.pem
    permissions: "0600"
    content: |
      key
  - path: /etc/node.env
    content: |
      LEADER="10.20.0.2"
      BIND=0.0.0.0
      NAMES="10.20.0.2 10.20.0.3"
  - path: /etc/vault-server/server.hcl.in
    content: |
      api_addr     = "https://PRIVATE_IP:8200"
      cluster_addr = "https://PRIVATE_IP:8201"
      storage "raft" {
        path    = "/mnt/vault-data/raft"
        node_id = "n1"
        retry_join {
          leader_api_addr     = "https://10.20.0.2:8200"
          leader_ca_cert_file = "/etc/vault-tls/ca.pem"
        }
      }
      listener "tcp" {
        address         = "0.0.0.0:8200"
        cluster_address = "0.0.0.0:8201"
        tls_key_file    = "/etc/vault-tls/server-key.pem"
      }
  - path: /usr/local/sbin/setup
    content: |
      #!/bin/bash
      sed "s/PRIVATE_IP/$private_ip/g" /etc/vault-server/server.hcl.in > /etc/vault-server/server.hcl
      ExecStart=$binary server -config=/etc/vault-server/server.hcl
"#;

    #[test]
    fn the_config_runs_on_the_droplets_loopback_address_from_its_own_disk() {
        let dir = tempfile::tempdir().unwrap();
        let setup = cloud_init::read(USER_DATA).unwrap().unwrap();
        let addresses = Addresses {
            own: Ipv4Addr::new(127, 0, 9, 3),
            reachable: BTreeMap::from([
                (Ipv4Addr::new(10, 20, 0, 2), Ipv4Addr::new(127, 0, 9, 2)),
                (Ipv4Addr::new(10, 20, 0, 3), Ipv4Addr::new(127, 0, 9, 3)),
            ]),
        };
        let prepared = prepare(dir.path(), USER_DATA, &setup, &addresses).unwrap();
        let root = dir.path().join("fs");
        assert_eq!(prepared.config, root.join("etc/vault-server/server.hcl"));
        let body = hcl::parse(&std::fs::read_to_string(&prepared.config).unwrap()).unwrap();
        let text = hcl::format::to_string(&body).unwrap();
        for expected in [
            "https://127.0.9.3:8200".to_string(),
            "https://127.0.9.3:8201".to_string(),
            "https://127.0.9.2:8200".to_string(),
            "\"127.0.9.3:8200\"".to_string(),
            format!("{}", root.join("mnt/vault-data/raft").display()),
            format!("{}", root.join("etc/vault-tls/server-key.pem").display()),
        ] {
            assert!(text.contains(&expected), "{expected} in {text}");
        }
        assert!(root.join("mnt/vault-data/raft").is_dir());
        let key = std::fs::metadata(root.join("etc/vault-tls/server-key.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
        assert!(
            Prepared::load(dir.path()).is_none(),
            "not ready before its scripts ran"
        );
        prepared.save(dir.path()).unwrap();
        assert_eq!(Prepared::load(dir.path()).unwrap().config, prepared.config);
        let env = std::fs::read_to_string(root.join("etc/node.env")).unwrap();
        assert_eq!(
            env,
            "LEADER=\"127.0.9.2\"\nBIND=127.0.9.3\nNAMES=\"10.20.0.2 10.20.0.3\"\n"
        );
        let kept = std::fs::read_to_string(root.join("var/lib/cloud/instance/user-data.txt"));
        assert_eq!(kept.unwrap(), USER_DATA);
    }

    #[test]
    fn files_outside_the_droplet_are_refused() {
        let root = Path::new("/sandbox/droplet");
        assert!(inside(root, "/etc/../../escape").is_err());
        assert!(inside(root, "relative").is_err());
        assert_eq!(
            inside(root, "/etc/x").unwrap(),
            Path::new("/sandbox/droplet/etc/x")
        );
    }
}
