//! The dependency lock file: the providers it records, and how tofu says that a lock file and the providers
//! (or a saved plan) disagree.

use super::error::EngineError;

/// One `provider` block of a lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedProvider {
    /// The provider's source address, such as `registry.opentofu.org/hashicorp/time`.
    pub address: String,
    pub version: String,
}

/// The providers a lock file records, in its order.
pub fn locked_providers(text: &str) -> Result<Vec<LockedProvider>, hcl::Error> {
    let body = hcl::parse(text)?;
    Ok(body
        .blocks()
        .filter(|block| block.identifier() == "provider")
        .filter_map(|block| {
            let address = block.labels().first()?.as_str().to_string();
            let version = block.body().attributes().find_map(|attribute| {
                match (attribute.key(), attribute.expr()) {
                    ("version", hcl::Expression::String(version)) => Some(version.clone()),
                    _ => None,
                }
            })?;
            Some(LockedProvider { address, version })
        })
        .collect())
}

/// How tofu refused a run because of the dependency lock file. OpenTofu gives these diagnostics no code, so
/// their summaries (and, for a failed install, the detail that names the lock file) are matched here, in one
/// place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockConflict {
    /// `init -lockfile=readonly`: the configuration needs a provider (or version) the lock file does not record.
    Unrecorded,
    /// `init`: a provider package matches none of the hashes the lock file records for it.
    HashMismatch,
    /// `apply` of a saved plan: the plan was made with other provider selections than the lock file holds now.
    PlanDiffers,
}

impl LockConflict {
    pub fn of(error: &EngineError) -> Option<Self> {
        error
            .diagnostics()
            .iter()
            .find_map(|diagnostic| match diagnostic.summary.as_str() {
                "Provider dependency changes detected" => Some(Self::Unrecorded),
                "Inconsistent dependency lock file" => Some(Self::PlanDiffers),
                "Failed to install provider"
                    if diagnostic
                        .detail
                        .contains("checksums previously recorded in the dependency lock file") =>
                {
                    Some(Self::HashMismatch)
                }
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{LockedProvider, locked_providers};

    #[test]
    fn reads_the_provider_blocks() {
        let text = r#"
# This file is maintained automatically by "tofu init".
provider "registry.opentofu.org/hashicorp/time" {
  version     = "0.14.2"
  constraints = "~> 0.14"
  hashes = [
    "h1:abc=",
  ]
}
"#;
        assert_eq!(
            locked_providers(text).unwrap(),
            vec![LockedProvider {
                address: "registry.opentofu.org/hashicorp/time".into(),
                version: "0.14.2".into(),
            }]
        );
    }

    #[test]
    fn an_unreadable_lock_file_is_an_error() {
        assert!(locked_providers("provider \"x\" {").is_err());
    }
}
