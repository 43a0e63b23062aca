//! Prometheus exposition (`GET /metrics`). (Skeleton: handlers answer 501 until written.)

use crate::api::error::ApiError;

pub async fn metrics() -> ApiError {
    ApiError::NotImplemented
}
