//! Helpers shared by the query and analysis handlers: the tenants a request may read
//! (`X-Scope-OrgID`, `a|b`), running blocking store calls off the async runtime, query-pair
//! lookup, and the wall clock.

use crate::api::error::ApiError;
use crate::state::{AppState, TenantError};
use crate::store::StoreError;
use axum::http::HeaderMap;

pub use axum::Json;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// The tenants a query reads ([`AppState::query_tenants`]): missing header in multi-tenant
/// mode → 401 `no org id`; a malformed one → 400.
pub fn tenants(state: &AppState, headers: &HeaderMap) -> Result<Vec<String>, ApiError> {
    state.query_tenants(headers).map_err(|e| match e {
        TenantError::Missing => ApiError::NoOrgId,
        other => ApiError::BadRequest(other.to_string()),
    })
}

/// Runs a blocking store call on tokio's blocking pool.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
}

/// The last non-empty value of query parameter `name`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Query pairs as `(&str, &str)`.
pub fn pairs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Now, in unix nanoseconds (0 if the clock is before 1970).
pub fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
