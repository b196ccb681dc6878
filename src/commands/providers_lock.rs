//! `providers lock <stack>`: (re)writes the stack's committed lock file with the hashes of its providers'
//! packages for several platforms, so machines of every platform install exactly the reviewed providers.
//!
//! With a filesystem mirror configured (`--provider-mirror`, or the one `make tools` keeps), the hashes come
//! from the mirror, which is where init installs from; a platform the mirror holds no package of is reported,
//! never locked with a hash from elsewhere. Without one, they come from the providers' registries.

use std::path::{Path, PathBuf};

use super::report::{LockedEntry, MissingPlatform, Report};
use crate::engine::{EngineSettings, LOCK_FILE, LockedProvider, LockfileMode, locked_providers};
use crate::error::Error;
use crate::run::context::{Context, PrepareOptions, Secrets, lock_file_out, prepare_with};

/// The platforms locked when none are named: Linux runners and developers' Macs.
pub const DEFAULT_PLATFORMS: [&str; 3] = ["linux_amd64", "darwin_arm64", "darwin_amd64"];

pub async fn providers_lock(
    context: &Context,
    stack: &str,
    platforms: &[String],
) -> Result<Report, Error> {
    // Writing the lock file is this command's purpose, whatever --lockfile says for other runs.
    let context = Context {
        project: context.project.clone(),
        engine: EngineSettings {
            lockfile: LockfileMode::Update,
            ..context.engine.clone()
        },
        interrupts: context.interrupts.clone(),
        approval: context.approval,
    };
    let options = PrepareOptions {
        secrets: Secrets::Skip,
        shared: true,
        workspace_known: true,
        ..PrepareOptions::default()
    };
    let mut prepared = prepare_with(&context, stack, "default", options).await?;
    let in_build = prepared.build_dir.join(LOCK_FILE);
    let providers = read_locked(&in_build, &prepared.stack.name)?;
    let mirror = context.engine.provider_mirror.clone();
    let mut locked = Vec::new();
    let mut missing = Vec::new();
    for platform in platforms {
        let absent: Vec<String> = match &mirror {
            Some(mirror) => providers
                .iter()
                .filter(|provider| !mirror_holds(mirror, provider, platform))
                .map(|provider| format!("{} {}", provider.address, provider.version))
                .collect(),
            None => Vec::new(),
        };
        if absent.is_empty() {
            locked.push(platform.clone());
        } else {
            missing.push(MissingPlatform {
                platform: platform.clone(),
                providers: absent,
            });
        }
    }
    if !providers.is_empty() {
        if locked.is_empty() {
            return Err(Error::NoLockablePlatform {
                stack: prepared.stack.name.clone(),
                platforms: platforms.join(", "),
                reason: format!(
                    "the provider mirror `{}` holds no package of {} for them",
                    mirror.as_deref().unwrap_or(Path::new("")).display(),
                    missing
                        .iter()
                        .flat_map(|missing| missing.providers.iter().cloned())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint: "add their packages to the mirror, or lock against the registry without --provider-mirror".into(),
            });
        }
        if let Err(error) = prepared
            .tofu
            .providers_lock(&locked, mirror.as_deref())
            .await
        {
            return Err(prepared.explain(error).await);
        }
    }
    lock_file_out(&prepared)?;
    let providers = read_locked(&in_build, &prepared.stack.name)?
        .into_iter()
        .map(|provider| LockedEntry {
            address: provider.address,
            version: provider.version,
        })
        .collect();
    Ok(Report::ProvidersLock {
        stack: prepared.stack.name.clone(),
        lock_file: prepared.lock_file.clone(),
        mirror,
        providers,
        platforms: locked,
        missing,
    })
}

/// The providers the root's lock file records after init; none when the root needs no provider.
fn read_locked(path: &Path, stack: &str) -> Result<Vec<LockedProvider>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Error::io(format!("reading `{}`", path.display()), error)),
    };
    locked_providers(&text).map_err(|source| Error::LockFileUnreadable {
        stack: stack.to_string(),
        lock_file: path.to_path_buf(),
        source,
    })
}

/// Whether a filesystem mirror holds the provider's package for the platform, unpacked
/// (`<address>/<version>/<platform>/`) or packed (`<address>/terraform-provider-<type>_<version>_<platform>.zip`).
fn mirror_holds(mirror: &Path, provider: &LockedProvider, platform: &str) -> bool {
    let dir: PathBuf = mirror.join(&provider.address);
    let kind = provider
        .address
        .rsplit('/')
        .next()
        .unwrap_or(&provider.address);
    dir.join(&provider.version).join(platform).is_dir()
        || dir
            .join(format!(
                "terraform-provider-{kind}_{}_{platform}.zip",
                provider.version
            ))
            .is_file()
}

#[cfg(test)]
mod tests {
    use super::mirror_holds;
    use crate::engine::LockedProvider;

    #[test]
    fn finds_unpacked_and_packed_packages() {
        let mirror = tempfile::tempdir().unwrap();
        let address = "registry.opentofu.org/hashicorp/time";
        std::fs::create_dir_all(mirror.path().join(address).join("0.14.2/linux_amd64")).unwrap();
        std::fs::write(
            mirror
                .path()
                .join(address)
                .join("terraform-provider-time_0.14.2_darwin_arm64.zip"),
            b"",
        )
        .unwrap();
        let provider = LockedProvider {
            address: address.into(),
            version: "0.14.2".into(),
        };
        assert!(mirror_holds(mirror.path(), &provider, "linux_amd64"));
        assert!(mirror_holds(mirror.path(), &provider, "darwin_arm64"));
        assert!(!mirror_holds(mirror.path(), &provider, "darwin_amd64"));
    }
}
