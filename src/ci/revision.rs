//! A git revision given on the command line (`--base`), checked before git sees it: it can never be read as
//! an option (`--output=FILE`), a range (`a..b`), a path (`REV:path`) or a pattern.

use std::fmt;

/// A revision such as `origin/main`, `HEAD~1`, `v1.2`, `main@{1}` or a commit id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRevision(String);

#[derive(Debug, thiserror::Error)]
#[error(
    "`{text}` is not a git revision: {reason}\n  hint: pass a branch, tag or commit, like `origin/main` or `HEAD~1`"
)]
pub struct RevisionError {
    pub text: String,
    pub reason: &'static str,
}

impl GitRevision {
    pub fn parse(text: &str) -> Result<Self, RevisionError> {
        let refuse = |reason| {
            Err(RevisionError {
                text: text.to_string(),
                reason,
            })
        };
        if text.is_empty() {
            return refuse("it is empty");
        }
        if text.starts_with('-') {
            return refuse("it starts with `-`, like an option");
        }
        if text.contains("..") {
            return refuse("it contains `..`, like a range");
        }
        if let Some(bad) = text.chars().find(|c| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '_' | '-' | '~' | '^' | '@' | '{' | '}' | '+'))
        }) {
            return refuse(match bad {
                ':' => "it contains `:`, which names a path in a revision",
                c if c.is_whitespace() => "it contains white space",
                _ => "it contains a character that no branch, tag or commit has",
            });
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GitRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::GitRevision;

    #[test]
    fn revisions_and_non_revisions() {
        for good in [
            "main",
            "origin/main",
            "HEAD~1",
            "HEAD^",
            "v1.2.3",
            "main@{1}",
            "0123abcd",
            "feature/x_y-z+1",
        ] {
            assert!(GitRevision::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-p",
            "--output=/tmp/x",
            "a..b",
            "a...b",
            "HEAD:file",
            "a b",
            "a\nb",
            "*",
            "a[1]",
            "é",
        ] {
            assert!(GitRevision::parse(bad).is_err(), "{bad:?}");
        }
    }
}
