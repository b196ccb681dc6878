//! DigitalOcean's error responses: a status and a `{"id", "message", "request_id"}` body, as godo parses them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error the API answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) id: &'static str,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            id: "not_found",
            message: "The resource you were accessing could not be found.".into(),
        }
    }

    pub(super) fn unprocessable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            id: "unprocessable_entity",
            message: message.into(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            id: "bad_request",
            message: message.into(),
        }
    }

    pub(super) fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            id: "Unauthorized",
            message: "Unable to authenticate you".into(),
        }
    }

    /// What DigitalOcean answers a token whose scopes do not cover the request (a read token's write).
    pub(super) fn forbidden() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            id: "forbidden",
            message: "You do not have permission to perform this action.".into(),
        }
    }

    pub(super) fn too_many_requests() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            id: "too_many_requests",
            message: "API Rate limit exceeded.".into(),
        }
    }

    pub(super) fn server_error(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            id: "server_error",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "id": self.id,
            "message": self.message,
            "request_id": uuid::Uuid::new_v4().to_string(),
        });
        (self.status, Json(body)).into_response()
    }
}
