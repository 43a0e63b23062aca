//! A real Tempo cluster as the backend: `--tempo-url` proxies the Tempo query API to it
//! ([`TempoProxy`], passing `X-Scope-OrgID`, `Authorization` and `Accept` through) and makes
//! [`TempoStore`] the store behind everything else (analysis endpoints), and
//! `--forward-otlp` sends every ingested (already redacted) batch on to an OTLP/HTTP endpoint
//! ([`Forwarder`]), so one spanlens can front a cluster that does the distributed storage.
//!
//! Plain HTTP/1.1 (hyper) only: TLS to the upstream is not built in (put Tempo behind a
//! local proxy or on a private network). Forwarding is best effort after the local commit: a
//! bounded queue, counted and dropped when full, never blocking ingest.

use super::{
    AppendOutcome, StoreError, StoreStats, StoredTrace, TagScope, TagValue, TraceFilter, TraceStore,
    TraceSummary, DEFAULT_TENANT,
};
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
use spanlens_core::formats;
use spanlens_core::model::{TraceId, TraceSet, TraceSetBuilder};
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

/// The OTLP/HTTP traces URL for a receiver base (`http://tempo:4318`) or full URL.
pub fn otlp_traces_url(url: &str) -> Result<String, UpstreamUrlError> {
    let base = parse_base(url)?;
    Ok(if base.path().ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{}/v1/traces", base.to_string().trim_end_matches('/'))
    })
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
        let target = otlp_traces_url(url)?;
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

/// The [`TraceStore`] over a Tempo's HTTP API, so the analysis endpoints and anything else
/// that reads through the store work under `--tempo-url` too: trace by id (protobuf), search
/// (`tags`, `minDuration`, `maxDuration`, `start`, `end`, `limit`), tag names and values;
/// `append` pushes OTLP to `<tempo>/v1/traces` (or [`TempoStore::with_push_url`]).
/// Retention and sizes are Tempo's business: `delete_before` does nothing, `stats` is zero.
///
/// Blocking like every store: call it from the blocking pool of a Tokio runtime (it drives
/// its HTTP calls on that runtime's handle).
pub struct TempoStore {
    base: String,
    push_url: String,
    client: HttpClient,
    handle: tokio::runtime::Handle,
}

fn upstream(e: impl std::fmt::Display) -> StoreError {
    StoreError::Upstream(e.to_string())
}

impl TempoStore {
    /// A store reading `url` (Tempo's HTTP API base). Needs a Tokio runtime.
    pub fn new(url: &str) -> Result<TempoStore, UpstreamUrlError> {
        let base = parse_base(url)?.to_string().trim_end_matches('/').to_string();
        Ok(TempoStore {
            push_url: format!("{base}/v1/traces"),
            base,
            client: client(),
            handle: tokio::runtime::Handle::try_current()
                .map_err(|e| UpstreamUrlError::Invalid(url.to_string(), e.to_string()))?,
        })
    }

    /// Pushes appends to this OTLP/HTTP traces URL instead of `<tempo>/v1/traces`.
    pub fn with_push_url(mut self, url: &str) -> TempoStore {
        self.push_url = url.to_string();
        self
    }

    fn call(
        &self,
        method: axum::http::Method,
        url: &str,
        tenants: &[String],
        accept: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), StoreError> {
        let mut request = axum::http::Request::builder().method(method).uri(url);
        if !tenants.is_empty() && tenants != [DEFAULT_TENANT] {
            request = request.header("X-Scope-OrgID", tenants.join("|"));
        }
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-protobuf");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(upstream)?;
        let client = self.client.clone();
        self.handle.block_on(async move {
            let response = tokio::time::timeout(Duration::from_secs(60), client.request(request))
                .await
                .map_err(|_| upstream("tempo timed out"))?
                .map_err(upstream)?;
            let status = response.status();
            let bytes = http_body_util::Limited::new(response.into_body(), MAX_UPSTREAM_BODY)
                .collect()
                .await
                .map_err(upstream)?
                .to_bytes();
            Ok((status, bytes))
        })
    }

    fn get_json(&self, path_and_query: &str, tenants: &[String]) -> Result<serde_json::Value, StoreError> {
        let url = format!("{}{}", self.base, path_and_query);
        let (status, body) = self.call(axum::http::Method::GET, &url, tenants, None, None)?;
        if !status.is_success() {
            return Err(upstream(format!(
                "tempo answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        serde_json::from_slice(&body).map_err(upstream)
    }
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_u64(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn tempo_scope(scope: TagScope) -> &'static str {
    match scope {
        TagScope::Resource => "resource",
        TagScope::Span => "span",
        TagScope::Event => "event",
        TagScope::Link => "link",
    }
}

impl TraceStore for TempoStore {
    fn append(&self, tenant: &str, batch: &TraceSet) -> Result<AppendOutcome, StoreError> {
        use prost::Message;
        let data = super::set_to_otlp(batch)?;
        let tenants = [tenant.to_string()];
        let (status, body) = self.call(
            axum::http::Method::POST,
            &self.push_url,
            &tenants,
            None,
            Some(data.encode_to_vec()),
        )?;
        if !status.is_success() {
            return Err(upstream(format!(
                "tempo refused the spans: {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(AppendOutcome {
            spans_stored: batch.span_count() as u64,
            spans_rejected: 0,
        })
    }

    fn get_trace(
        &self,
        tenants: &[String],
        trace_id: TraceId,
        window: Option<(u64, u64)>,
    ) -> Result<Option<StoredTrace>, StoreError> {
        let mut url = format!("{}/api/traces/{}", self.base, trace_id.to_hex());
        if let Some((start, end)) = window {
            url.push_str(&format!(
                "?start={}&end={}",
                start / 1_000_000_000,
                end.div_ceil(1_000_000_000)
            ));
        }
        let (status, body) = self.call(
            axum::http::Method::GET,
            &url,
            tenants,
            Some("application/protobuf"),
            None,
        )?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(upstream(format!("tempo answered {status}")));
        }
        let set = formats::read(&body, None).map_err(upstream)?;
        let partial = !set.diagnostics.warnings.is_empty()
            && set.diagnostics.warnings.iter().any(|w| w.contains("partial"));
        Ok(Some(StoredTrace { set, partial }))
    }

    fn find_traces(&self, tenants: &[String], filter: &TraceFilter) -> Result<Vec<TraceSummary>, StoreError> {
        let mut tags: Vec<String> = Vec::new();
        if let Some(service) = &filter.service {
            tags.push(format!("service.name={service}"));
        }
        if let Some(name) = &filter.span_name {
            tags.push(format!("name={name}"));
        }
        if filter.errors_only {
            tags.push("error=true".to_string());
        }
        for (k, v) in &filter.attributes {
            tags.push(format!("{k}={v}"));
        }
        let mut q = vec![format!(
            "limit={}",
            if filter.limit == 0 { 1000 } else { filter.limit }
        )];
        if !tags.is_empty() {
            q.push(format!("tags={}", query_escape(&tags.join(" "))));
        }
        if let Some(min) = filter.min_duration_nanos {
            q.push(format!("minDuration={min}ns"));
        }
        if let Some(max) = filter.max_duration_nanos {
            q.push(format!("maxDuration={max}ns"));
        }
        if let Some(start) = filter.start_unix_nanos {
            q.push(format!("start={}", start / 1_000_000_000));
        }
        if let Some(end) = filter.end_unix_nanos {
            q.push(format!("end={}", end.div_ceil(1_000_000_000)));
        }
        let v = self.get_json(&format!("/api/search?{}", q.join("&")), tenants)?;
        let mut out = Vec::new();
        for t in v["traces"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let Some(id) = t["traceID"].as_str().and_then(|h| TraceId::parse_any(h).ok()) else {
                continue;
            };
            let start = json_u64(&t["startTimeUnixNano"]);
            let duration_ms = json_u64(&t["durationMs"]);
            let root_service = t["rootServiceName"].as_str().unwrap_or("");
            out.push(TraceSummary {
                trace_id: id.0,
                root_service: if root_service.starts_with('<') {
                    String::new()
                } else {
                    root_service.to_string()
                },
                root_name: t["rootTraceName"].as_str().unwrap_or("").to_string(),
                start_unix_nanos: start,
                end_unix_nanos: start.saturating_add(duration_ms.saturating_mul(1_000_000)),
                span_count: 0,
                error_count: 0,
            });
        }
        out.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nanos));
        Ok(out)
    }

    fn load_traces(&self, tenants: &[String], ids: &[TraceId]) -> Result<TraceSet, StoreError> {
        let mut builder = TraceSetBuilder::new();
        for id in ids {
            if let Some(t) = self.get_trace(tenants, *id, None)? {
                builder.append_set(&t.set);
            }
        }
        Ok(builder.finish())
    }

    fn tag_names(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
    ) -> Result<Vec<(TagScope, String)>, StoreError> {
        let path = match scope {
            Some(s) => format!("/api/v2/search/tags?scope={}", tempo_scope(s)),
            None => "/api/v2/search/tags".to_string(),
        };
        let v = self.get_json(&path, tenants)?;
        let mut out = Vec::new();
        for s in v["scopes"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let scope = match s["name"].as_str() {
                Some("resource") => TagScope::Resource,
                Some("span") => TagScope::Span,
                Some("event") => TagScope::Event,
                Some("link") => TagScope::Link,
                _ => continue,
            };
            for tag in s["tags"].as_array().map(Vec::as_slice).unwrap_or_default() {
                if let Some(name) = tag.as_str() {
                    out.push((scope, name.to_string()));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn tag_values(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
        key: &str,
        limit: usize,
    ) -> Result<Vec<TagValue>, StoreError> {
        let scoped = match scope {
            Some(s) => format!("{}.{key}", tempo_scope(s)),
            None => format!(".{key}"),
        };
        let v = self.get_json(
            &format!("/api/v2/search/tag/{}/values", query_escape(&scoped)),
            tenants,
        )?;
        let mut out = Vec::new();
        for t in v["tagValues"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let value_type = match t["type"].as_str() {
                Some("int") => "int",
                Some("float") => "float",
                Some("bool") => "bool",
                _ => "string",
            };
            if let Some(value) = t["value"].as_str() {
                out.push(TagValue {
                    value_type,
                    value: value.to_string(),
                });
            }
        }
        out.sort();
        out.dedup();
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
    }

    fn delete_before(&self, _cutoff_unix_nanos: u64) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(StoreStats::default())
    }
}
