//! Request security: optional bearer tokens (one for ingest, one for queries), the CORS
//! allow-list, and the headers every answer carries (`Content-Security-Policy:
//! frame-ancestors ...`, `X-Content-Type-Options: nosniff`).
//!
//! Which token a path needs: ingest (`/v1/traces`, `/api/upload`, the gRPC Export path) the
//! ingest token; the query API (`/api/...`, `/metrics`) the query token; the web app's static
//! files and `/ready` none (the app must load to ask for a token). Tokens are compared in
//! constant time. Not here: tenants (see `state`).

use crate::config::Config;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// Which token a request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Ingest,
    Query,
    Open,
}

/// Classifies a path.
pub fn access_for(path: &str) -> Access {
    if path == "/v1/traces" || path == "/api/upload" || path.starts_with("/opentelemetry.proto.") {
        Access::Ingest
    } else if path.starts_with("/api/") || path == "/metrics" {
        Access::Query
    } else {
        Access::Open
    }
}

/// Constant-time comparison.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when `headers` carry `Authorization: Bearer <token>`.
pub fn bearer_ok(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("bearer "))
                .and_then(|_| v.get(7..))
        })
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

/// Middleware: refuses requests without the token their path needs (401, `WWW-Authenticate`).
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let needed = match access_for(request.uri().path()) {
        Access::Ingest => state.config.ingest_token.as_deref(),
        Access::Query => state.config.query_token.as_deref(),
        Access::Open => None,
    };
    if let Some(token) = needed {
        if !bearer_ok(request.headers(), token) {
            return (
                StatusCode::UNAUTHORIZED,
                [
                    (header::WWW_AUTHENTICATE, "Bearer"),
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                ],
                "missing or wrong bearer token",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Middleware: security headers on every answer.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(v) = HeaderValue::from_str(&format!("frame-ancestors {}", state.config.frame_ancestors)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

/// The CORS layer for `config.cors_origins`; `None` when the list is empty (no CORS headers).
pub fn cors_layer(config: &Config) -> Option<CorsLayer> {
    if config.cors_origins.is_empty() {
        return None;
    }
    let origin = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok())
            .collect();
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(Any)
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_access() {
        let mut h = HeaderMap::new();
        assert!(!bearer_ok(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(bearer_ok(&h, "s3cret"));
        assert!(!bearer_ok(&h, "s3cre"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer s3cret"));
        assert!(bearer_ok(&h, "s3cret"));
        assert_eq!(access_for("/v1/traces"), Access::Ingest);
        assert_eq!(access_for("/api/search"), Access::Query);
        assert_eq!(access_for("/trace/abc"), Access::Open);
        assert_eq!(access_for("/ready"), Access::Open);
    }
}
