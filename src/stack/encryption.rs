//! The `[encryption]` section: state and saved plans are encrypted unless a stack opts out in so many words.
//!
//! With `[vault]`, the key is the transit key `<path_prefix>-<stack>`; without it, a passphrase from the
//! environment. `key = "passphrase"` keeps the key out of the stack's Vault, for a stack whose Vault is the
//! appliance it creates (its state must stay readable when that Vault is gone). `enabled = false` is the only
//! way to store state in plain JSON.

use toml::Spanned;

use super::error::StackError;
use super::load::{KeySource, RawEncryption};
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
        let source = raw.and_then(|raw| raw.key.as_ref());
        let mount = raw.and_then(|raw| raw.transit_mount.as_ref());
        let vault = match (source, vault) {
            (Some(source), None) if *source.get_ref() == KeySource::Transit => {
                return Err(self
                    .error(source, "`key = \"transit\"` needs a `[vault]` section")
                    .with_hint("add [vault], or remove `key` to use $WILDSIDE_STATE_PASSPHRASE"));
            }
            (Some(source), Some(_)) if *source.get_ref() == KeySource::Passphrase => {
                if let Some(mount) = mount {
                    return Err(self
                        .error(mount, "`transit_mount` is for `key = \"transit\"`")
                        .with_hint("remove `transit_mount`, or `key = \"passphrase\"` to use the transit key"));
                }
                None
            }
            (_, vault) => vault,
        };
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
    use std::path::Path;

    use super::transit_key_name;
    use crate::stack::{StateEncryption, parse_stack};

    const VAULT: &str = "[vault]\naddress = \"https://vault.example:8200\"\n";

    /// The encryption of a stack with one module and `text` before it.
    fn encryption(text: &str) -> Result<StateEncryption, String> {
        let text = format!("{text}[[modules]]\nname = \"m\"\nsource = \"./m\"\n");
        parse_stack(Path::new("stacks/s.toml"), &text, &[])
            .map(|stack| stack.encryption)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_key_source_defaults_to_transit_with_vault_and_can_be_a_passphrase() {
        assert_eq!(
            encryption(VAULT),
            Ok(StateEncryption::Transit {
                mount: "transit".into(),
                key: "wildside-s".into()
            })
        );
        assert_eq!(
            encryption(&format!("{VAULT}[encryption]\nkey = \"passphrase\"\n")),
            Ok(StateEncryption::Passphrase)
        );
        assert_eq!(encryption(""), Ok(StateEncryption::Passphrase));
    }

    #[test]
    fn contradictory_key_settings_are_located_errors() {
        let error = encryption("[encryption]\nkey = \"transit\"\n").unwrap_err();
        assert!(error.contains("stacks/s.toml:2:7"), "{error}");
        assert!(error.contains("needs a `[vault]` section"), "{error}");
        let error = encryption(&format!(
            "{VAULT}[encryption]\nkey = \"passphrase\"\ntransit_mount = \"t\"\n"
        ))
        .unwrap_err();
        assert!(error.contains("`transit_mount` is for"), "{error}");
        let error = encryption("[encryption]\nkey = \"kms\"\n").unwrap_err();
        assert!(error.contains("stacks/s.toml:2"), "{error}");
    }

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
