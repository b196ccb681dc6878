//! How tofu installs providers: each filesystem mirror serves only the providers it holds (`include`), and
//! everything else comes from the registry (`direct` with those providers `exclude`d). A mirror therefore never
//! hides a provider it lacks, and a second mirror adds to the first instead of replacing it.
//!
//! tofu walks a mirror without following symbolic links inside it, except at the top and at a package's
//! platform directory; a mirror with a link elsewhere looks empty to tofu, so it is refused here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression};

use crate::render::cli_config_text;

/// A provider's source address as a mirror lays it out: `<host>/<namespace>/<type>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderAddress {
    pub host: String,
    pub namespace: String,
    pub name: String,
}

impl ProviderAddress {
    /// The address of `namespace/name` on OpenTofu's registry, as a stack's `source` names it.
    pub fn on_registry(source: &str) -> Option<Self> {
        let (namespace, name) = source.split_once('/')?;
        Some(Self {
            host: "registry.opentofu.org".into(),
            namespace: namespace.into(),
            name: name.into(),
        })
    }
}

impl fmt::Display for ProviderAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}/{}", self.host, self.namespace, self.name)
    }
}

/// A filesystem mirror and the provider versions it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub path: PathBuf,
    pub providers: BTreeMap<ProviderAddress, Vec<String>>,
}

/// Why a mirror cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(
        "provider mirror `{}` is not a directory\n  hint: run `make tools`, or point WILDSIDE_PROVIDER_MIRROR at a mirror (`tofu providers mirror DIR` makes one)",
        path.display()
    )]
    Missing { path: PathBuf },
    #[error(
        "provider mirror `{}`: `{}` is a symbolic link, which tofu does not follow there, so it would find no provider\n  hint: copy the directory it points to into the mirror (only the mirror itself and a package's platform directory may be links)",
        mirror.display(),
        link.display()
    )]
    Unfollowable { mirror: PathBuf, link: PathBuf },
    #[error(
        "provider mirror `{}`: `{}` is a link to nothing",
        mirror.display(),
        link.display()
    )]
    Dangling { mirror: PathBuf, link: PathBuf },
    #[error("reading provider mirror `{}`", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the provider mirror path `{}` is not valid UTF-8, which OpenTofu's configuration cannot hold",
        path.display()
    )]
    NotUnicode { path: PathBuf },
}

/// The entries of `dir` as (path, name), sorted; links anywhere but `links_allowed` are refused.
fn entries(
    mirror: &Path,
    dir: &Path,
    links_allowed: bool,
) -> Result<Vec<(PathBuf, String)>, MirrorError> {
    let io = |source| MirrorError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_symlink() {
            if !links_allowed {
                return Err(MirrorError::Unfollowable {
                    mirror: mirror.to_path_buf(),
                    link: path,
                });
            }
            if !path.exists() {
                return Err(MirrorError::Dangling {
                    mirror: mirror.to_path_buf(),
                    link: path,
                });
            }
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        found.push((path, name));
    }
    found.sort();
    Ok(found)
}

/// Reads what a mirror holds, in either layout tofu reads: unpacked
/// (`<host>/<namespace>/<type>/<version>/<os>_<arch>/`) or packed
/// (`<host>/<namespace>/<type>/terraform-provider-<type>_<version>_<os>_<arch>.zip`).
pub fn scan(path: &Path) -> Result<Mirror, MirrorError> {
    if !path.is_dir() {
        return Err(MirrorError::Missing {
            path: path.to_path_buf(),
        });
    }
    let root = std::path::absolute(path).map_err(|source| MirrorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if root.to_str().is_none() {
        return Err(MirrorError::NotUnicode { path: root });
    }
    let mut providers = BTreeMap::new();
    for (host_dir, host) in entries(&root, &root, false)? {
        if !host_dir.is_dir() {
            continue;
        }
        for (namespace_dir, namespace) in entries(&root, &host_dir, false)? {
            if !namespace_dir.is_dir() {
                continue;
            }
            for (type_dir, name) in entries(&root, &namespace_dir, false)? {
                if !type_dir.is_dir() {
                    continue;
                }
                let packed_prefix = format!("terraform-provider-{name}_");
                let mut versions = Vec::new();
                for (version_path, version) in entries(&root, &type_dir, false)? {
                    if version_path.is_dir() {
                        if !entries(&root, &version_path, true)?.is_empty() {
                            versions.push(version);
                        }
                    } else if let Some(rest) = version
                        .strip_prefix(&packed_prefix)
                        .and_then(|rest| rest.strip_suffix(".zip"))
                        && let Some((version, _platform)) = rest.split_once('_')
                        && !versions.iter().any(|known| known == version)
                    {
                        versions.push(version.to_string());
                    }
                }
                if !versions.is_empty() {
                    providers.insert(
                        ProviderAddress {
                            host: host.clone(),
                            namespace: namespace.clone(),
                            name,
                        },
                        versions,
                    );
                }
            }
        }
    }
    Ok(Mirror {
        path: root,
        providers,
    })
}

/// Which mirror, if any, tofu installs `provider` from under [`cli_config`]: the first that holds it.
pub fn source_of<'a>(mirrors: &'a [Mirror], provider: &ProviderAddress) -> Option<&'a Mirror> {
    mirrors
        .iter()
        .find(|mirror| mirror.providers.contains_key(provider))
}

/// The `provider_installation` CLI configuration for `mirrors`, in order of preference: each provider from
/// the first mirror that holds it, everything else from the registry.
pub fn cli_config(mirrors: &[Mirror]) -> String {
    let mut installation = Block::builder("provider_installation");
    let mut mirrored: Vec<&ProviderAddress> = Vec::new();
    for mirror in mirrors {
        let include: Vec<&ProviderAddress> = mirror
            .providers
            .keys()
            .filter(|provider| !mirrored.contains(provider))
            .collect();
        if include.is_empty() {
            continue;
        }
        mirrored.extend(&include);
        installation = installation.add_block(
            Block::builder("filesystem_mirror")
                .add_attribute((
                    "path",
                    cli_config_text(mirror.path.to_str().unwrap_or_default()),
                ))
                .add_attribute(("include", addresses(&include)))
                .build(),
        );
    }
    let mut direct = Block::builder("direct");
    if !mirrored.is_empty() {
        direct = direct.add_attribute(("exclude", addresses(&mirrored)));
    }
    let body = Body::builder()
        .add_block(installation.add_block(direct.build()).build())
        .build();
    format!(
        "# Generated by wildside-tofu: providers from the mirrors that hold them, the rest from the registry.\n{}",
        hcl::format::to_string(&body).unwrap_or_default()
    )
}

fn addresses(providers: &[&ProviderAddress]) -> Expression {
    Expression::Array(
        providers
            .iter()
            .map(|provider| cli_config_text(&provider.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{MirrorError, ProviderAddress, cli_config, scan, source_of};
    use std::path::Path;

    fn package(mirror: &Path, provider: &str, version: &str) {
        let dir = mirror.join(provider).join(version).join("linux_amd64");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("terraform-provider"), "").unwrap();
    }

    #[test]
    fn each_mirror_serves_what_it_holds_and_the_registry_the_rest() {
        let scratch = tempfile::tempdir().unwrap();
        let first = scratch.path().join("first");
        let second = scratch.path().join("second");
        package(
            &first,
            "registry.opentofu.org/digitalocean/digitalocean",
            "2.99.1",
        );
        package(
            &second,
            "registry.opentofu.org/digitalocean/digitalocean",
            "2.50.0",
        );
        package(&second, "registry.opentofu.org/hashicorp/time", "0.13.1");
        let packed = second.join("registry.opentofu.org/hashicorp/tls");
        std::fs::create_dir_all(&packed).unwrap();
        std::fs::write(
            packed.join("terraform-provider-tls_4.2.1_linux_amd64.zip"),
            "",
        )
        .unwrap();
        let mirrors = [scan(&first).unwrap(), scan(&second).unwrap()];
        assert_eq!(mirrors[1].providers.len(), 3);
        let digitalocean = ProviderAddress::on_registry("digitalocean/digitalocean").unwrap();
        assert_eq!(
            source_of(&mirrors, &digitalocean).unwrap().path,
            mirrors[0].path
        );
        let random = ProviderAddress::on_registry("hashicorp/random").unwrap();
        assert!(source_of(&mirrors, &random).is_none());

        let text = cli_config(&mirrors);
        let body: hcl::Body = hcl::from_str(&text).unwrap();
        let installation = body.blocks().next().unwrap();
        let blocks: Vec<&hcl::Block> = installation.body().blocks().collect();
        let list = |block: &hcl::Block, key: &str| -> Vec<String> {
            let attribute = block.body().attributes().find(|a| a.key() == key).unwrap();
            match attribute.expr() {
                hcl::Expression::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        hcl::Expression::String(text) => text.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(blocks.len(), 3, "{text}");
        assert_eq!(
            list(blocks[0], "include"),
            ["registry.opentofu.org/digitalocean/digitalocean"]
        );
        assert_eq!(
            list(blocks[1], "include"),
            [
                "registry.opentofu.org/hashicorp/time",
                "registry.opentofu.org/hashicorp/tls"
            ]
        );
        assert_eq!(blocks[2].identifier(), "direct");
        assert_eq!(list(blocks[2], "exclude").len(), 3);
    }

    #[test]
    fn no_mirror_means_the_registry_for_everything() {
        let text = cli_config(&[]);
        let body: hcl::Body = hcl::from_str(&text).unwrap();
        let installation = body.blocks().next().unwrap();
        let blocks: Vec<&hcl::Block> = installation.body().blocks().collect();
        assert_eq!(blocks.len(), 1, "{text}");
        assert_eq!(blocks[0].identifier(), "direct");
        assert_eq!(blocks[0].body().iter().count(), 0, "{text}");
    }

    #[test]
    fn links_tofu_does_not_follow_are_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let real = scratch.path().join("real");
        package(&real, "registry.opentofu.org/hashicorp/tls", "4.2.1");
        // The mirror itself may be a link.
        let linked_root = scratch.path().join("linked-root");
        std::os::unix::fs::symlink(&real, &linked_root).unwrap();
        assert_eq!(scan(&linked_root).unwrap().providers.len(), 1);
        // A link inside it is not followed by tofu.
        let inner = scratch.path().join("inner");
        std::fs::create_dir_all(inner.join("registry.opentofu.org")).unwrap();
        std::os::unix::fs::symlink(
            real.join("registry.opentofu.org/hashicorp"),
            inner.join("registry.opentofu.org/hashicorp"),
        )
        .unwrap();
        let error = scan(&inner).unwrap_err();
        assert!(matches!(error, MirrorError::Unfollowable { .. }), "{error}");
        assert!(error.to_string().contains("hint: copy"), "{error}");
        assert!(matches!(
            scan(&scratch.path().join("absent")),
            Err(MirrorError::Missing { .. })
        ));
    }
}
