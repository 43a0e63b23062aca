//! spanlens-server: the `spanlens serve` process — OTLP ingest (HTTP and gRPC), an embedded
//! durable store, a Tempo-compatible HTTP API, analysis endpoints, Prometheus metrics, and the
//! built SPA — all from one [`app`] router.
//!
//! Ports: `--http-listen` (default 127.0.0.1:3200) serves everything ([`app`]);
//! `--otlp-http-listen` (:4318) and `--otlp-grpc-listen` (:4317) serve only ingest
//! ([`ingest_app`]), so exposing them never exposes the query API. [`serve`] runs it all until
//! SIGINT/SIGTERM, then finishes in-flight requests and closes the store.
//!
//! Not here: parsing or analysis (that is `spanlens-core`), or the CLI's file commands.

pub mod api;
pub mod config;
pub mod demo;
pub mod ingest;
pub mod metrics;
pub mod redact;
pub mod security;
pub mod spa;
pub mod state;
pub mod store;

use anyhow::Context;
use axum::middleware::from_fn_with_state;
use axum::Router;
use config::{Config, LogFormat};
use ingest::grpc::{TraceServiceServer, EXPORT_PATH};
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::sqlite::SqliteStore;
use store::tempo::TempoProxy;
use store::TraceStore as _;
use tower_http::compression::CompressionLayer;

/// Builds the whole HTTP application: every route and layer, over `state`.
///
/// Layers, outermost first: security headers (CSP `frame-ancestors`, nosniff), CORS (when an
/// allow-list is set), gzip compression, bearer tokens, then (under `--tempo-url`) the proxy
/// of the Tempo query paths. The gRPC Export path is routed beside them (it checks its own
/// token and answers with gRPC statuses).
pub fn app(state: AppState) -> Router {
    let mut router = api::routes::routes().fallback(spa::fallback);
    if let Some(url) = &state.config.tempo_url {
        match TempoProxy::new(url) {
            Ok(proxy) => {
                router = router.layer(from_fn_with_state(Arc::new(proxy), store::tempo::proxy_layer));
            }
            Err(e) => tracing::error!(error = %e, "--tempo-url ignored"),
        }
    }
    let router = router.layer(from_fn_with_state(state.clone(), security::require_token));
    finish(router, &state)
}

/// The OTLP-only application of the ingest ports: `POST /v1/traces` and gRPC Export.
pub fn ingest_app(state: AppState) -> Router {
    let router = api::routes::ingest_routes()
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), security::require_token));
    finish(router, &state)
}

async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "404 page not found\n")
}

fn finish(router: Router<AppState>, state: &AppState) -> Router {
    let mut router = router
        .layer(CompressionLayer::new().gzip(true))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    if let Some(cors) = security::cors_layer(&state.config) {
        router = router.layer(cors);
    }
    router
        .layer(from_fn_with_state(state.clone(), security::security_headers))
        .with_state(state.clone())
        .route_service(EXPORT_PATH, TraceServiceServer::new(state.clone()))
}

/// Installs the `tracing` subscriber (`--log-format`, `--log`, or `RUST_LOG` when set).
pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&config.log_filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs the server until shutdown.
pub fn serve(args: config::ServeArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("spanlens")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(config))
}

async fn bind(addr: SocketAddr, flag: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({flag})"))
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Runs the configured server on the current Tokio runtime until SIGINT/SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let store = {
        let dir = data_dir.clone();
        let cap = config.max_trace_bytes;
        tokio::task::spawn_blocking(move || SqliteStore::open_with_cap(&dir, cap))
            .await
            .context("store open task failed")?
            .with_context(|| format!("cannot open the store in {}", data_dir.display()))?
    };
    let state = match &config.tempo_url {
        // Under --tempo-url, Tempo is the store: reads go to it, ingest is pushed to its OTLP
        // receiver (--forward-otlp, else <tempo-url>/v1/traces) before answering.
        Some(url) => {
            let mut tempo = store::tempo::TempoStore::new(url)?;
            if let Some(push) = &config.forward_otlp {
                tempo = tempo.with_push_url(&store::tempo::otlp_traces_url(push)?);
            }
            AppState::new(Arc::new(tempo), config.clone())
        }
        None => {
            let mut state = AppState::new(store.clone(), config.clone());
            state.forwarder = store::tempo::forwarder_for(&state)?;
            state
        }
    };

    if config.demo {
        let demo_state = state.clone();
        let outcome = tokio::task::spawn_blocking(move || demo::load(&demo_state))
            .await
            .context("demo task failed")??;
        tracing::info!(
            spans = outcome.spans_stored,
            traces = outcome.traces,
            "demo data loaded"
        );
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    let mut bound: Vec<SocketAddr> = Vec::new();
    let listeners = [
        (config.http_listen, "--http-listen", true),
        (config.otlp_http_listen, "--otlp-http-listen", false),
        (config.otlp_grpc_listen, "--otlp-grpc-listen", false),
    ];
    for (addr, flag, full) in listeners {
        let Some(addr) = addr else { continue };
        if bound.contains(&addr) {
            continue;
        }
        let listener = bind(addr, flag).await?;
        bound.push(addr);
        let router = if full {
            app(state.clone())
        } else {
            ingest_app(state.clone())
        };
        let mut rx = stop_rx.clone();
        tracing::info!(%addr, listener = flag.trim_start_matches("--"), "listening");
        servers.push(tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        }));
    }
    if servers.is_empty() {
        anyhow::bail!("every listener is off: set --http-listen, --otlp-http-listen or --otlp-grpc-listen");
    }
    tracing::info!(
        data_dir = %data_dir.display(),
        dist = %config.dist_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "(none)".to_string()),
        multitenant = config.multitenant,
        tempo_url = config.tempo_url.as_deref().unwrap_or(""),
        "spanlens serving"
    );

    let retention_task = config.retention.map(|retention| {
        let store = store.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = rx.wait_for(|stop| *stop) => break,
                }
                let cutoff = std::time::SystemTime::now()
                    .checked_sub(retention)
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| u64::try_from(d.as_nanos()).unwrap_or(0))
                    .unwrap_or(0);
                let store = store.clone();
                match tokio::task::spawn_blocking(move || store.delete_before(cutoff)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(traces = n, "retention: deleted old traces"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "retention failed"),
                    Err(e) => tracing::warn!(error = %e, "retention task failed"),
                }
            }
        })
    });

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    for server in servers {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "listener ended with an error"),
            Err(e) => tracing::warn!(error = %e, "listener task failed"),
        }
    }
    if let Some(task) = retention_task {
        let _ = task.await;
    }
    drop(state);
    tokio::task::spawn_blocking(move || store.close())
        .await
        .context("store close task failed")?;
    tracing::info!("store flushed and closed; bye");
    Ok(())
}
