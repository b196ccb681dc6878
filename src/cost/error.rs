//! Errors of cost estimation.

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("the {what} JSON cannot be read: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("GET {url}: {message}")]
    Sizes { url: String, message: String },
}
