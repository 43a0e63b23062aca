//! spanlens-server: the `spanlens serve` process — OTLP ingest (HTTP and gRPC), an embedded
//! durable store, a Tempo-compatible HTTP API, analysis endpoints, Prometheus metrics, and the
//! built SPA — all from one [`app`] router.
//!
//! Not here: parsing or analysis (that is `spanlens-core`), or the CLI's file commands.

pub mod api;
pub mod config;
pub mod ingest;
pub mod metrics;
pub mod state;
pub mod store;

use axum::Router;

/// Builds the whole HTTP application: every route and layer, over `state`.
pub fn app(state: state::AppState) -> Router {
    api::routes::routes().with_state(state)
}

/// Runs the server until shutdown. (Skeleton.)
pub fn serve(_args: config::ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("the server is not built yet")
}
