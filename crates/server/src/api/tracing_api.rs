//! Analysis endpoints (`/api/tracing/...`). (Skeleton: handlers answer 501 until written.)

use crate::api::error::ApiError;

pub async fn status() -> ApiError {
    ApiError::NotImplemented
}

pub async fn health() -> ApiError {
    ApiError::NotImplemented
}

pub async fn performance_summary() -> ApiError {
    ApiError::NotImplemented
}

pub async fn performance_bottlenecks() -> ApiError {
    ApiError::NotImplemented
}

pub async fn operation_analysis() -> ApiError {
    ApiError::NotImplemented
}

pub async fn traces_search() -> ApiError {
    ApiError::NotImplemented
}
