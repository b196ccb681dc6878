//! `ci comment`: create or update the sticky pull-request comment from a summary file.

use std::path::Path;

use secrecy::SecretString;

use super::report::Report;
use crate::ci::{GitHub, marker_of};
use crate::error::Error;

pub struct CiCommentArgs<'a> {
    pub repo: &'a str,
    pub pr: u64,
    pub body: &'a Path,
    pub marker: Option<&'a str>,
    pub api_url: &'a str,
    /// The login whose comment is updated (default: the token's own, from the API).
    pub author: Option<&'a str>,
}

pub async fn ci_comment(args: CiCommentArgs<'_>) -> Result<Report, Error> {
    if !args.repo.contains('/') {
        return Err(Error::Usage(format!(
            "--repo `{}` is not OWNER/NAME",
            args.repo
        )));
    }
    let body = std::fs::read_to_string(args.body)
        .map_err(|error| Error::io(format!("reading `{}`", args.body.display()), error))?;
    let token = github_token()?;
    let marker = match (args.marker, marker_of(&body)) {
        (Some(key), _) => format!("<!-- wildside-tofu:{key} -->"),
        (None, Some(marker)) => marker.to_string(),
        (None, None) => "<!-- wildside-tofu:comment -->".to_string(),
    };
    let outcome = GitHub::new(args.api_url, token)?
        .upsert_sticky(args.repo, args.pr, &marker, &body, args.author)
        .await?;
    Ok(Report::CiComment(outcome))
}

/// `$GITHUB_TOKEN`, which every GitHub call needs; unset or empty is an error that says where it comes from.
pub(super) fn github_token() -> Result<SecretString, Error> {
    std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|token| !token.is_empty())
        .map(SecretString::from)
        .ok_or(Error::MissingEnv {
            name: "GITHUB_TOKEN",
            hint: "\n  hint: in GitHub Actions, pass `GITHUB_TOKEN: ${{ github.token }}`",
        })
}
