//! The one place API errors become HTTP statuses and Canvas's JSON bodies.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Errors a handler can answer with. Each variant maps to exactly the body Canvas sends.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("user authorization required")]
    Unauthenticated,
    #[error("invalid access token")]
    InvalidToken,
    #[error("not found")]
    NotFound,
    /// 400 with `{"message": ...}` (SIS import option errors).
    #[error("bad request: {0}")]
    BadRequestMessage(String),
    /// 400 with `{"errors": [...]}` (plain strings).
    #[error("bad request: {0}")]
    BadRequestErrors(String),
    /// 400 with `{"error": ...}`.
    #[error("bad request: {0}")]
    BadRequestError(String),
    /// 400 with `{"errors":[{"message": ...}]}`.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// 400 with a model-validation body: `{"errors": <value>}`.
    #[error("validation failed")]
    Validation(serde_json::Value),
    /// Any other status with a JSON body Canvas sends as is (e.g. 409 on sub-account delete).
    #[error("status {0}")]
    Json(StatusCode, serde_json::Value),
    /// Throttled: 429, or the legacy 403 text body.
    #[error("rate limit exceeded")]
    Throttled { legacy_403: bool },
    /// Something the sandbox itself got wrong; the detail is not sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

const BEARER_REALM: &str = "Bearer realm=\"canvas-lms\"";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                json!({"status":"unauthenticated","errors":[{"message":"user authorization required"}]}),
            ),
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                json!({"errors":[{"message":"Invalid access token."}]}),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({"errors":[{"message":"The specified resource does not exist."}]}),
            ),
            ApiError::BadRequestMessage(m) => (StatusCode::BAD_REQUEST, json!({ "message": m })),
            ApiError::BadRequestErrors(m) => (StatusCode::BAD_REQUEST, json!({ "errors": [m] })),
            ApiError::BadRequestError(m) => (StatusCode::BAD_REQUEST, json!({ "error": m })),
            ApiError::InvalidParam(m) => {
                (StatusCode::BAD_REQUEST, json!({"errors":[{"message": m}]}))
            }
            ApiError::Validation(v) => (StatusCode::BAD_REQUEST, json!({ "errors": v })),
            ApiError::Json(status, v) => (*status, v.clone()),
            ApiError::Throttled { legacy_403 } => {
                let status = if *legacy_403 {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                let text = if *legacy_403 {
                    "403 Forbidden (Rate Limit Exceeded)\n"
                } else {
                    "429 Too Many Requests (Rate Limit Exceeded)\n"
                };
                let mut r = (status, text).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                r.headers_mut()
                    .insert("x-rate-limit-remaining", HeaderValue::from_static("0.0"));
                return r;
            }
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"errors":[{"message":"An error occurred."}]}),
            ),
        };
        let mut r = (status, Json(body)).into_response();
        if matches!(self, ApiError::Unauthenticated | ApiError::InvalidToken) {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BEARER_REALM),
            );
        }
        r
    }
}

/// Errors starting or running the server (not request errors).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not use the listener: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Persist(#[from] crate::persist::PersistError),
    #[error("at least one token is required")]
    NoToken,
}
