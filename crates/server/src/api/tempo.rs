//! Tempo-compatible query endpoints. (Skeleton: handlers answer 501 until written.)

use crate::api::error::ApiError;

pub async fn ready() -> ApiError {
    ApiError::NotImplemented
}

pub async fn echo() -> ApiError {
    ApiError::NotImplemented
}

pub async fn buildinfo() -> ApiError {
    ApiError::NotImplemented
}

pub async fn trace_v1() -> ApiError {
    ApiError::NotImplemented
}

pub async fn trace_v2() -> ApiError {
    ApiError::NotImplemented
}

pub async fn search() -> ApiError {
    ApiError::NotImplemented
}

pub async fn tags_v1() -> ApiError {
    ApiError::NotImplemented
}

pub async fn tags_v2() -> ApiError {
    ApiError::NotImplemented
}

pub async fn tag_values_v1() -> ApiError {
    ApiError::NotImplemented
}

pub async fn tag_values_v2() -> ApiError {
    ApiError::NotImplemented
}

pub async fn metrics_query_range() -> ApiError {
    ApiError::NotImplemented
}

pub async fn metrics_query() -> ApiError {
    ApiError::NotImplemented
}
