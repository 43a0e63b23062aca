//! Every HTTP path of the server in one table. Handlers live in their modules; this file only
//! wires paths to them (the SPA fallback comes last).

use crate::api::{prometheus, tempo, tracing_api};
use crate::ingest;
use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The route table (without layers; see `crate::app`).
pub fn routes() -> Router<AppState> {
    Router::new()
        // Tempo HTTP API
        .route("/ready", get(tempo::ready))
        .route("/api/echo", get(tempo::echo))
        .route("/api/status/buildinfo", get(tempo::buildinfo))
        .route("/api/traces/{id}", get(tempo::trace_v1))
        .route("/api/v2/traces/{id}", get(tempo::trace_v2))
        .route("/api/search", get(tempo::search))
        .route("/api/search/tags", get(tempo::tags_v1))
        .route("/api/v2/search/tags", get(tempo::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tempo::tag_values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tempo::tag_values_v2))
        .route("/api/metrics/query_range", get(tempo::metrics_query_range))
        .route("/api/metrics/query", get(tempo::metrics_query))
        // Analysis endpoints
        .route("/api/tracing/status", get(tracing_api::status))
        .route("/api/tracing/health", get(tracing_api::health))
        .route(
            "/api/tracing/performance/summary",
            get(tracing_api::performance_summary),
        )
        .route(
            "/api/tracing/performance/bottlenecks",
            get(tracing_api::performance_bottlenecks),
        )
        .route(
            "/api/tracing/operations/{name}/analysis",
            get(tracing_api::operation_analysis),
        )
        .route("/api/tracing/traces/search", get(tracing_api::traces_search))
        // Prometheus
        .route("/metrics", get(prometheus::metrics))
        // Ingest and upload
        .route(
            "/v1/traces",
            post(ingest::http::export).fallback(ingest::http::method_not_allowed),
        )
        .route("/api/upload", post(ingest::upload::upload))
}

/// The routes of the OTLP/HTTP port (`--otlp-http-listen`): ingest only, never the query API.
pub fn ingest_routes() -> Router<AppState> {
    Router::new().route(
        "/v1/traces",
        post(ingest::http::export).fallback(ingest::http::method_not_allowed),
    )
}
