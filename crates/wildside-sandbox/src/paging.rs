//! Pagination as the API does it: `page` and `per_page` (up to 200) in, `links.pages` and `meta.total` out,
//! with absolute links that keep the request's other query parameters.

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use serde_json::{Map, Value, json};

use super::error::ApiError;

const DEFAULT_PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 200;

/// The page a list request asks for.
#[derive(Debug, Clone)]
pub(super) struct PageRequest {
    base: String,
    page: usize,
    per_page: usize,
    other: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("127.0.0.1");
        let base = format!("http://{host}{}", parts.uri.path());
        let mut page = 1;
        let mut per_page = DEFAULT_PER_PAGE;
        let mut other = Vec::new();
        for (key, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        {
            let number = || {
                value
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("{key} must be a positive integer")))
            };
            match key.as_ref() {
                "page" => page = number()?.max(1),
                "per_page" => per_page = number()?.clamp(1, MAX_PER_PAGE),
                _ => other.push((key.into_owned(), value.into_owned())),
            }
        }
        Ok(Self {
            base,
            page,
            per_page,
            other,
        })
    }
}

impl PageRequest {
    /// A query parameter other than the paging ones.
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    fn link(&self, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.other {
            query.append_pair(key, value);
        }
        query.append_pair("page", &page.to_string());
        query.append_pair("per_page", &self.per_page.to_string());
        format!("{}?{}", self.base, query.finish())
    }

    /// The page's share of `items` under `key`, with links and the total.
    pub(super) fn respond(&self, key: &str, items: Vec<Value>) -> Value {
        let total = items.len();
        let last = total.div_ceil(self.per_page).max(1);
        let shown: Vec<Value> = items
            .into_iter()
            .skip((self.page - 1) * self.per_page)
            .take(self.per_page)
            .collect();
        let mut pages = Map::new();
        if self.page > 1 {
            pages.insert("first".into(), self.link(1).into());
            pages.insert("prev".into(), self.link((self.page - 1).min(last)).into());
        }
        if self.page < last {
            pages.insert("next".into(), self.link(self.page + 1).into());
            pages.insert("last".into(), self.link(last).into());
        }
        json!({
            key: shown,
            "links": {"pages": pages},
            "meta": {"total": total},
        })
    }
}
