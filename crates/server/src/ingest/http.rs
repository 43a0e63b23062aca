//! OTLP/HTTP `POST /v1/traces`. (Skeleton.)

use crate::api::error::ApiError;

pub async fn export() -> ApiError {
    ApiError::NotImplemented
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::NotImplemented
}
