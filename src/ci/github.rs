//! The sticky pull-request comment, through the GitHub REST API.
//!
//! One comment per stack set, found again by a hidden marker (`<!-- wildside-tofu:... -->`) and its author
//! (the token's own login), and updated in place: anyone may post a comment carrying the marker, and theirs is
//! never edited. Rate limits (429, or 403 with no requests left), server errors and timeouts are retried with
//! backoff, honouring `Retry-After`. A create is never sent twice blindly: GitHub may have made the comment
//! before the reply was lost, so the comment is looked for by its marker again before each retry.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

const RETRY_SECONDS: &[u64] = &[1, 2, 4, 8, 16];
const PAGE_SIZE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub API {method} {url} failed with HTTP {status}: {message}")]
    Http {
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach the GitHub API at {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error(
        "cannot tell which comments are this token's own: GET {url} answered HTTP {status} (a GitHub App's installation token, such as Actions' `GITHUB_TOKEN`, cannot read its user)\n  hint: pass `--author LOGIN`, the login its comments carry: `github-actions[bot]` for Actions' `GITHUB_TOKEN`"
    )]
    UnknownAuthor { url: String, status: u16 },
    #[error("interrupted while waiting to retry the GitHub API; nothing more was sent")]
    Interrupted(#[from] crate::engine::Interrupted),
}

/// What happened to the sticky comment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum StickyOutcome {
    Created { id: u64, url: String },
    Updated { id: u64, url: String },
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    html_url: String,
    /// The author; GitHub leaves it out (`null`) for a deleted account.
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

/// A GitHub REST client for one API base URL (`https://api.github.com`, or GitHub Enterprise's).
pub struct GitHub {
    http: reqwest::Client,
    api_url: String,
    token: SecretString,
}

/// The hidden marker a comment body carries on its first line, if any.
pub fn marker_of(body: &str) -> Option<&str> {
    let first = body.lines().next()?.trim();
    (first.starts_with("<!-- wildside-tofu:") && first.ends_with("-->")).then_some(first)
}

impl GitHub {
    pub fn new(api_url: &str, token: SecretString) -> Result<Self, GitHubError> {
        let transport = |error: reqwest::Error| GitHubError::Transport {
            url: api_url.to_string(),
            detail: error.to_string(),
        };
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("wildside-tofu/", env!("CARGO_PKG_VERSION")));
        if api_url.starts_with("http://") {
            builder = builder.tls_certs_only(Vec::new());
        }
        Ok(Self {
            http: builder.build().map_err(transport)?,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// Creates the comment carrying `marker` on pull request `pr`, or updates it if `author` (by default the
    /// token's own login) wrote it.
    pub async fn upsert_sticky(
        &self,
        repo: &str,
        pr: u64,
        marker: &str,
        body: &str,
        author: Option<&str>,
    ) -> Result<StickyOutcome, GitHubError> {
        let body = if body.contains(marker) {
            body.to_string()
        } else {
            format!("{marker}\n{body}")
        };
        let author = match author {
            Some(author) => author.to_string(),
            None => self.login().await?,
        };
        let target = Sticky {
            marker,
            author: &author,
        };
        if let Some(existing) = self.find(repo, pr, &target).await? {
            return self.update(repo, existing.id, &body).await;
        }
        let url = format!("{}/repos/{repo}/issues/{pr}/comments", self.api_url);
        let mut attempt = 0;
        loop {
            match self
                .send_once::<Comment>(Method::POST, &url, Some(&json!({ "body": body })), attempt)
                .await
            {
                Ok(created) => {
                    return Ok(StickyOutcome::Created {
                        id: created.id,
                        url: created.html_url,
                    });
                }
                Err(Failure {
                    retry_after: Some(wait),
                    error,
                }) if attempt < RETRY_SECONDS.len() => {
                    tracing::warn!(
                        "{error}; looking for the comment again before retrying in {}s",
                        wait.as_secs()
                    );
                    crate::engine::pause(wait).await?;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
            }
            if let Some(existing) = self.find(repo, pr, &target).await? {
                return self.update(repo, existing.id, &body).await;
            }
        }
    }

    /// The token's own login (`GET /user`).
    async fn login(&self) -> Result<String, GitHubError> {
        let url = format!("{}/user", self.api_url);
        match self.send::<User>(Method::GET, &url, None).await {
            Ok(user) => Ok(user.login),
            Err(GitHubError::Http {
                status: status @ (401 | 403),
                url,
                ..
            }) => Err(GitHubError::UnknownAuthor { url, status }),
            Err(error) => Err(error),
        }
    }

    /// Numbers of the repository's open pull requests.
    pub async fn open_pull_requests(&self, repo: &str) -> Result<Vec<u64>, GitHubError> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
        }
        let mut numbers = Vec::new();
        for page in 1.. {
            let url = format!(
                "{}/repos/{repo}/pulls?state=open&per_page={PAGE_SIZE}&page={page}",
                self.api_url
            );
            let pulls: Vec<Pull> = self.send(Method::GET, &url, None).await?;
            let last_page = pulls.len() < PAGE_SIZE;
            numbers.extend(pulls.into_iter().map(|pull| pull.number));
            if last_page {
                break;
            }
        }
        Ok(numbers)
    }

    async fn find(
        &self,
        repo: &str,
        pr: u64,
        sticky: &Sticky<'_>,
    ) -> Result<Option<Comment>, GitHubError> {
        for page in 1.. {
            let url = format!(
                "{}/repos/{repo}/issues/{pr}/comments?per_page={PAGE_SIZE}&page={page}",
                self.api_url
            );
            let comments: Vec<Comment> = self.send(Method::GET, &url, None).await?;
            let last_page = comments.len() < PAGE_SIZE;
            if let Some(found) = comments.into_iter().find(|comment| sticky.is(comment)) {
                return Ok(Some(found));
            }
            if last_page {
                break;
            }
        }
        Ok(None)
    }

    async fn update(&self, repo: &str, id: u64, body: &str) -> Result<StickyOutcome, GitHubError> {
        let url = format!("{}/repos/{repo}/issues/comments/{id}", self.api_url);
        let updated: Comment = self
            .send(Method::PATCH, &url, Some(&json!({ "body": body })))
            .await?;
        Ok(StickyOutcome::Updated {
            id: updated.id,
            url: updated.html_url,
        })
    }

    /// An idempotent request (GET, PATCH), retried while it fails in a way that may pass.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GitHubError> {
        let mut attempt = 0;
        loop {
            match self.send_once(method.clone(), url, body, attempt).await {
                Ok(reply) => return Ok(reply),
                Err(Failure {
                    retry_after: Some(wait),
                    error,
                }) if attempt < RETRY_SECONDS.len() => {
                    tracing::warn!("{error}; retrying in {}s", wait.as_secs());
                    crate::engine::pause(wait).await?;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    /// One request; a failure says how long to wait if trying again may help (`attempt` retries so far).
    async fn send_once<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        attempt: usize,
    ) -> Result<T, Failure> {
        let transport = |error: reqwest::Error| GitHubError::Transport {
            url: url.to_string(),
            detail: error.to_string(),
        };
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(self.token.expose_secret())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let retry_after =
                    (error.is_connect() || error.is_timeout()).then(|| backoff(attempt));
                return Err(Failure {
                    error: transport(error),
                    retry_after,
                });
            }
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = retryable(&response).then(|| wait_for(&response, attempt));
            let message = response.text().await.unwrap_or_default();
            return Err(Failure {
                error: GitHubError::Http {
                    method: method.to_string(),
                    url: url.to_string(),
                    status: status.as_u16(),
                    message,
                },
                retry_after,
            });
        }
        response.json::<T>().await.map_err(|error| Failure {
            error: transport(error),
            retry_after: None,
        })
    }
}

/// Which comment is the sticky one: its first line is the marker, and the expected author wrote it (logins are
/// case-insensitive on GitHub).
struct Sticky<'a> {
    marker: &'a str,
    author: &'a str,
}

impl Sticky<'_> {
    fn is(&self, comment: &Comment) -> bool {
        comment
            .user
            .as_ref()
            .is_some_and(|user| user.login.eq_ignore_ascii_case(self.author))
            && comment
                .body
                .lines()
                .next()
                .is_some_and(|line| line.trim() == self.marker)
    }
}

/// A failed request, and how long to wait before trying again when that may help.
struct Failure {
    error: GitHubError,
    retry_after: Option<Duration>,
}

fn backoff(attempt: usize) -> Duration {
    Duration::from_secs(RETRY_SECONDS[attempt.min(RETRY_SECONDS.len() - 1)])
}

fn retryable(response: &reqwest::Response) -> bool {
    let status = response.status();
    let out_of_requests = response
        .headers()
        .get("x-ratelimit-remaining")
        .is_some_and(|value| value == "0");
    status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || (status == StatusCode::FORBIDDEN && out_of_requests)
}

/// `Retry-After` if the server sent it (capped at a minute), else the backoff schedule.
fn wait_for(response: &reqwest::Response, attempt: usize) -> Duration {
    let header = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    header.map_or_else(
        || backoff(attempt),
        |seconds| Duration::from_secs(seconds.min(60)),
    )
}
