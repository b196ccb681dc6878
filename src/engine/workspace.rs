//! Workspace names, checked where they enter: a name becomes part of file paths (plans, locks, local state)
//! and of tofu's arguments, so it must be a plain name, not a path or an option.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// The longest workspace name accepted.
const LONGEST: usize = 90;

/// An OpenTofu workspace name: ASCII letters, digits, `.`, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Workspace(String);

/// Why a text is not a workspace name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a workspace name: use up to 90 ASCII letters, digits, `.`, `-` and `_`, starting with a letter or digit (such as `staging` or `pr-12`)"
)]
pub struct InvalidWorkspace(String);

impl FromStr for Workspace {
    type Err = InvalidWorkspace;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut chars = text.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && text.len() <= LONGEST;
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(InvalidWorkspace(text.to_string()))
        }
    }
}

impl Workspace {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Workspace {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Workspace {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Workspace;

    #[test]
    fn plain_names_only() {
        for name in ["default", "pr-12", "staging_2", "v1.2"] {
            assert_eq!(name.parse::<Workspace>().unwrap().to_string(), name);
        }
        let long = "w".repeat(91);
        for name in [
            "",
            "../x",
            "a/b",
            "-w",
            ".hidden",
            "a b",
            "é",
            long.as_str(),
        ] {
            assert!(name.parse::<Workspace>().is_err(), "{name:?}");
        }
    }
}
