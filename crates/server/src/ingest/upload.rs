//! `POST /api/upload`. (Skeleton.)

use crate::api::error::ApiError;

pub async fn upload() -> ApiError {
    ApiError::NotImplemented
}
