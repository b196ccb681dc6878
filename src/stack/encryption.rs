//! The `[encryption]` section: state and saved plans are encrypted unless a stack opts out in so many words.
//!
//! With `[vault]`, the key is the transit key `<path_prefix>-<stack>`; without it, a passphrase from the
//! environment. `enabled = false` is the only way to store state in plain JSON.

use toml::Spanned;

use super::error::StackError;
use super::load::RawEncryption;
use super::model::{StateEncryption, VaultSettings};
use super::validate::Checker;

/// The transit mount used when `[encryption]` names none.
const DEFAULT_TRANSIT_MOUNT: &str = "transit";

impl Checker<'_> {
    pub(super) fn encryption(
        &self,
        raw: Option<&Spanned<RawEncryption>>,
        vault: Option<&VaultSettings>,
        stack: &str,
    ) -> Result<StateEncryption, StackError> {
        let raw = raw.map(Spanned::get_ref);
        let enabled = raw
            .and_then(|raw| raw.enabled.as_ref())
            .is_none_or(|enabled| *enabled.get_ref());
        let mount = raw.and_then(|raw| raw.transit_mount.as_ref());
        if let Some(mount) = mount {
            if vault.is_none() {
                return Err(self
                    .error(mount, "`transit_mount` needs a `[vault]` section")
                    .with_hint("without [vault] the key comes from $WILDSIDE_STATE_PASSPHRASE; remove `transit_mount` or add [vault]"));
            }
            let text = mount.get_ref().trim_matches('/');
            if text.is_empty() || text.contains(char::is_whitespace) {
                return Err(self
                    .error(mount, format!("`{}` is not a mount path", mount.get_ref()))
                    .with_hint("name the transit engine's mount, such as \"transit\""));
            }
        }
        if !enabled {
            return Ok(StateEncryption::Disabled);
        }
        Ok(match vault {
            Some(vault) => StateEncryption::Transit {
                mount: mount.map_or(DEFAULT_TRANSIT_MOUNT.to_string(), |mount| {
                    mount.get_ref().trim_matches('/').to_string()
                }),
                key: transit_key_name(&vault.path_prefix, stack),
            },
            None => StateEncryption::Passphrase,
        })
    }
}

/// `<prefix>-<stack>`; a prefix with `/` (a nested KV path) keeps its parts, joined with `-`.
pub(super) fn transit_key_name(path_prefix: &str, stack: &str) -> String {
    let prefix: Vec<&str> = path_prefix
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    if prefix.is_empty() {
        stack.to_string()
    } else {
        format!("{}-{stack}", prefix.join("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::transit_key_name;

    #[test]
    fn key_names_are_prefix_dash_stack() {
        assert_eq!(transit_key_name("wildside", "dev"), "wildside-dev");
        assert_eq!(
            transit_key_name("team/wildside/", "dev"),
            "team-wildside-dev"
        );
        assert_eq!(transit_key_name("", "dev"), "dev");
    }
}
