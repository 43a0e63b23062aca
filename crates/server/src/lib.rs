//! spanlens-server: the `spanlens serve` process (OTLP ingest, embedded durable store,
//! Tempo-compatible HTTP API, analysis endpoints, SPA serving). Stub until the server lands.

pub mod config;

/// Runs the server until shutdown.
pub fn serve(_args: config::ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("the server is not built yet")
}
