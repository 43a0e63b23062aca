//! The one mapping from errors to HTTP answers: Tempo answers errors as `400 text/plain` with
//! the reason; ingest errors use the OTLP shapes in `ingest`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no org id")]
    NoOrgId,
    #[error("{0}")]
    Internal(String),
    /// A request body over the configured limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The store or an upstream is unavailable (503).
    #[error("{0}")]
    Unavailable(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NoOrgId => StatusCode::UNAUTHORIZED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            [("content-type", "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}
