//! A real Tempo cluster as the backend: `--tempo-url` proxies the Tempo query API to it
//! ([`proxy`], passing `X-Scope-OrgID`, `Authorization` and `Accept` through), and
//! `--forward-otlp` sends every ingested (already redacted) batch on to an OTLP/HTTP endpoint
//! ([`Forwarder`]), so one spanlens can front a cluster that does the distributed storage.
//!
//! Plain HTTP/1.1 (hyper) only: TLS to the upstream is not built in (put Tempo behind a
//! local proxy or on a private network). Forwarding is best effort after the local commit: a
//! bounded queue, counted and dropped when full, never blocking ingest.

use crate::metrics::ServerMetrics;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Upstream answers larger than this are refused (protects memory).
const MAX_UPSTREAM_BODY: usize = 512 * 1024 * 1024;
/// Batches waiting to be forwarded before new ones are dropped.
const FORWARD_QUEUE: usize = 256;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Why an upstream URL is unusable.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamUrlError {
    #[error("invalid upstream URL {0:?}: {1}")]
    Invalid(String, String),
    #[error("upstream URL {0:?}: only http:// is supported")]
    NotHttp(String),
}

fn parse_base(url: &str) -> Result<Uri, UpstreamUrlError> {
    let uri: Uri = url
        .trim_end_matches('/')
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| {
            UpstreamUrlError::Invalid(url.to_string(), e.to_string())
        })?;
    if uri.scheme_str() != Some("http") {
        return Err(UpstreamUrlError::NotHttp(url.to_string()));
    }
    Ok(uri)
}

/// Sends ingested batches to an OTLP/HTTP endpoint in the background.
pub struct Forwarder {
    queue: tokio::sync::mpsc::Sender<(String, Vec<u8>)>,
    metrics: Arc<ServerMetrics>,
}

impl Forwarder {
    /// Starts the forwarding task (needs a Tokio runtime). `url` is the receiver's base
    /// (`http://tempo:4318`) or full traces URL (`.../v1/traces`).
    pub fn start(
        url: &str,
        metrics: Arc<ServerMetrics>,
        multitenant: bool,
    ) -> Result<Forwarder, UpstreamUrlError> {
        let base = parse_base(url)?;
        let target = if base.path().ends_with("/v1/traces") {
            base.to_string()
        } else {
            format!("{}/v1/traces", base.to_string().trim_end_matches('/'))
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Vec<u8>)>(FORWARD_QUEUE);
        let task_metrics = metrics.clone();
        tokio::spawn(async move {
            let client = client();
            while let Some((tenant, body)) = rx.recv().await {
                let mut request = axum::http::Request::post(target.as_str())
                    .header(header::CONTENT_TYPE, "application/x-protobuf");
                if multitenant {
                    request = request.header("X-Scope-OrgID", tenant.as_str());
                }
                let Ok(request) = request.body(Full::new(Bytes::from(body))) else {
                    task_metrics.forward_failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                match tokio::time::timeout(Duration::from_secs(30), client.request(request)).await {
                    Ok(Ok(response)) if response.status().is_success() => {
                        task_metrics.forward_sent.fetch_add(1, Ordering::Relaxed);
                        let _ = response.into_body().collect().await;
                    }
                    Ok(Ok(response)) => {
                        tracing::warn!(status = %response.status(), "forward-otlp: upstream refused a batch");
                        task_metrics.forward_failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "forward-otlp: upstream unreachable");
                        task_metrics.forward_failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        tracing::warn!("forward-otlp: upstream timed out");
                        task_metrics.forward_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(Forwarder { queue: tx, metrics })
    }

    /// Queues one protobuf `TracesData` for `tenant`; drops it (counted) when the queue is full.
    pub fn forward(&self, tenant: &str, body: Vec<u8>) {
        if self.queue.try_send((tenant.to_string(), body)).is_err() {
            self.metrics.forward_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Paths of the Tempo query API that go to the upstream Tempo under `--tempo-url`.
pub fn is_tempo_query_path(path: &str) -> bool {
    path == "/api/echo"
        || path == "/api/status/buildinfo"
        || path.starts_with("/api/traces/")
        || path.starts_with("/api/v2/traces/")
        || path == "/api/search"
        || path.starts_with("/api/search/")
        || path.starts_with("/api/v2/search/")
        || path.starts_with("/api/metrics/")
}

/// The reverse proxy to a Tempo.
pub struct TempoProxy {
    base: Uri,
    client: HttpClient,
}

impl TempoProxy {
    pub fn new(url: &str) -> Result<TempoProxy, UpstreamUrlError> {
        Ok(TempoProxy {
            base: parse_base(url)?,
            client: client(),
        })
    }

    /// Forwards one request (method, path and query, the pass-through headers, body).
    pub async fn forward(&self, request: Request) -> Response {
        let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let target = format!(
            "{}{}",
            self.base.to_string().trim_end_matches('/'),
            path_and_query
        );
        let mut upstream = axum::http::Request::builder()
            .method(request.method().clone())
            .uri(target.as_str());
        for name in [
            HeaderName::from_static("x-scope-orgid"),
            header::AUTHORIZATION,
            header::ACCEPT,
            header::CONTENT_TYPE,
        ] {
            if let Some(v) = request.headers().get(&name) {
                upstream = upstream.header(name, v.clone());
            }
        }
        let body = match request.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return bad_gateway(&format!("cannot read the request: {e}")),
        };
        let Ok(upstream) = upstream.body(Full::new(body)) else {
            return bad_gateway("cannot build the upstream request");
        };
        let response =
            match tokio::time::timeout(Duration::from_secs(120), self.client.request(upstream)).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return bad_gateway(&format!("tempo upstream unreachable: {e}")),
                Err(_) => return bad_gateway("tempo upstream timed out"),
            };
        let (parts, body) = response.into_parts();
        let bytes = match http_body_util::Limited::new(body, MAX_UPSTREAM_BODY)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) => return bad_gateway(&format!("tempo upstream answer unreadable: {e}")),
        };
        let mut out = Response::new(Body::from(bytes));
        *out.status_mut() = parts.status;
        for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING] {
            if let Some(v) = parts.headers.get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        out
    }
}

fn bad_gateway(message: &str) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        message.to_string(),
    )
        .into_response()
}

/// Middleware: under `--tempo-url`, Tempo query paths go to the upstream.
pub async fn proxy_layer(State(proxy): State<Arc<TempoProxy>>, request: Request, next: Next) -> Response {
    if is_tempo_query_path(request.uri().path()) {
        return proxy.forward(request).await;
    }
    next.run(request).await
}

/// Builds the forwarder of `state.config.forward_otlp`, if set (needs a Tokio runtime).
pub fn forwarder_for(state: &AppState) -> Result<Option<Arc<Forwarder>>, UpstreamUrlError> {
    match &state.config.forward_otlp {
        Some(url) => Ok(Some(Arc::new(Forwarder::start(
            url,
            state.metrics.clone(),
            state.config.multitenant,
        )?))),
        None => Ok(None),
    }
}
