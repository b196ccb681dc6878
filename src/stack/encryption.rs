//! The `[encryption]` section: state and saved plans are encrypted unless a stack opts out in so many words.
//!
//! With `[vault]`, the key is the transit key `<path_prefix>-<stack>`; without it, a passphrase from the
//! environment. `key = "passphrase"` keeps the key out of the stack's Vault, for a stack whose Vault is the
//! appliance it creates (its state must stay readable when that Vault is gone). `enabled = false` is the only
//! way to store state in plain JSON.

use toml::Spanned;

use super::error::StackError;
use super::load::{KeySource, RawEncryption, RawVault};
use super::model::{StateEncryption, VaultSettings};
use super::platform::VaultAppliance;
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

impl Checker<'_> {
    /// Refuses a transit key kept in the Vault the stack itself creates: the state that describes the
    /// appliance would be readable only while the appliance runs, so losing it would lose the state too.
    pub(super) fn key_outside_its_vault(
        &self,
        encryption: &StateEncryption,
        raw_encryption: Option<&Spanned<RawEncryption>>,
        vault: Option<&Spanned<RawVault>>,
        appliance: Option<&VaultAppliance>,
    ) -> Result<(), StackError> {
        let (StateEncryption::Transit { .. }, Some(vault), Some(appliance)) =
            (encryption, vault, appliance)
        else {
            return Ok(());
        };
        let address = &vault.get_ref().address;
        let Some(host) = url::Url::parse(address.get_ref().trim())
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        else {
            return Ok(());
        };
        let own = appliance
            .tls_names
            .iter()
            .chain(&appliance.tls_ips)
            .any(|name| {
                name.trim()
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(host.trim_end_matches('.'))
            });
        if !own {
            return Ok(());
        }
        // Point at what chose transit: an explicit `key = "transit"`, else the `[vault]` address.
        let explicit = raw_encryption
            .and_then(|raw| raw.get_ref().key.as_ref())
            .filter(|key| *key.get_ref() == KeySource::Transit);
        let message = format!(
            "the state's key would live in the Vault this stack creates (`{}` is its `[vault_appliance]`): when that Vault is down or lost, so is the state that manages it",
            address.get_ref().trim()
        );
        let error = match explicit {
            Some(key) => self.error(key, message),
            None => self.error(address, message),
        };
        Err(error.with_hint(
            "add `[encryption]` with `key = \"passphrase\"` (the key then comes from $WILDSIDE_STATE_PASSPHRASE), or point `[vault]` at a Vault outside this stack",
        ))
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

    /// A platform stack with `[vault]` at `address` and an appliance whose certificate names `vault.ours.example`.
    fn with_appliance(address: &str, encryption: &str) -> Result<StateEncryption, String> {
        let text = format!(
            "[digitalocean]\nregion = \"nyc3\"\n[vault]\naddress = \"{address}\"\n{encryption}[vault_appliance]\nopenbao_sha256 = \"{}\"\nssh_cidrs = [\"203.0.113.0/24\"]\napi_cidrs = [\"203.0.113.0/24\"]\ntls_names = [\"vault.ours.example\"]\ntls_ips = [\"10.10.0.5\"]\n",
            "0".repeat(64)
        );
        parse_stack(Path::new("stacks/s.toml"), &text, &[])
            .map(|stack| stack.encryption)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_state_key_is_never_kept_in_the_vault_the_stack_creates() {
        for address in [
            "https://vault.ours.example:8200",
            "https://VAULT.ours.example",
            "https://10.10.0.5:8200/",
        ] {
            let error = with_appliance(address, "").unwrap_err();
            assert!(error.starts_with("stacks/s.toml:4:11: "), "{error}");
            assert!(error.contains("the Vault this stack creates"), "{error}");
            assert!(error.contains("`key = \"passphrase\"`"), "{error}");
            let error = with_appliance(address, "[encryption]\nkey = \"transit\"\n").unwrap_err();
            assert!(error.starts_with("stacks/s.toml:6:7: "), "{error}");
        }
        assert_eq!(
            with_appliance(
                "https://vault.ours.example:8200",
                "[encryption]\nkey = \"passphrase\"\n"
            ),
            Ok(StateEncryption::Passphrase)
        );
        assert!(matches!(
            with_appliance("https://vault.elsewhere.example:8200", ""),
            Ok(StateEncryption::Transit { .. })
        ));
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
