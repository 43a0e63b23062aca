//! Prometheus exposition (`GET /metrics`, text format 0.0.4).
//!
//! Two families:
//! - The server's own figures, counters since start from [`crate::metrics::ServerMetrics`]:
//!   `spanlens_spans_{received,rejected,stored}_total`, `spanlens_attributes_redacted_total`,
//!   `spanlens_ingest_requests_total{protocol}`, `spanlens_ingest_bytes_total`,
//!   `spanlens_ingest_{bad_requests,errors}_total`, `spanlens_uploads_total`,
//!   `spanlens_forward_batches_total{outcome}`, the histogram
//!   `spanlens_ingest_request_duration_seconds`; and the store size (`spanlens_store_traces`,
//!   `spanlens_store_spans`, `spanlens_store_bytes`, gauges).
//! - Tempo metrics-generator series under Tempo's names and labels, computed by
//!   `spanlens_core::analysis` over the stored traces of a recent window (`?window=` Go
//!   duration, default 1h; at most [`tracing_api::MAX_WINDOW_TRACES`] traces):
//!   `traces_spanmetrics_calls_total`, `traces_spanmetrics_latency_{bucket,sum,count}`
//!   (`service`, `span_name`, `span_kind`, `status_code`), `traces_service_graph_request_total`,
//!   `…_failed_total`, `…_server_seconds_{bucket,sum,count}`, `…_client_seconds_{bucket,sum,count}`
//!   (`client`, `server`, `connection_type`).
//!
//! Choice: these series are **figures over the window**, recomputed at each scrape from what the
//! store holds, not counters kept since process start: they survive restarts and agree with the
//! UI, but they can go down when spans leave the window, so they are declared `gauge` (and the
//! histograms' buckets are cumulative per Prometheus `le` rules). Dashboards built for Tempo
//! work when they read the values directly (`sum by (...)`, `histogram_quantile` on the buckets);
//! `rate()` over them is not meaningful. In multi-tenant mode the series cover the tenants of
//! `X-Scope-OrgID` (without it, only the server's own figures are written).

use crate::api::error::ApiError;
use crate::api::tempo::common::{blocking, now_unix_nanos, param};
use crate::api::tracing_api::{self, Window};
use crate::metrics::LATENCY_BUCKETS_SECONDS;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use spanlens_core::analysis::{self, Rules};
use spanlens_core::tempo_api;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Escapes a label value (backslash, double quote, newline).
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn header_line(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn seconds(nanos: u64) -> String {
    let s = nanos as f64 / NANOS_PER_SEC as f64;
    format!("{s}")
}

/// Writes a histogram: cumulative `_bucket` lines over `bounds` (+Inf), `_sum`, `_count`.
fn histogram(
    out: &mut String,
    name: &str,
    base: &[(&str, &str)],
    bounds: &[u64],
    counts: &[u64],
    sum_nanos: u64,
) {
    let mut cumulative = 0u64;
    for (i, bound) in bounds.iter().enumerate() {
        cumulative += counts.get(i).copied().unwrap_or(0);
        let le = seconds(*bound);
        let mut l = base.to_vec();
        l.push(("le", &le));
        let _ = writeln!(out, "{name}_bucket{} {cumulative}", labels(&l));
    }
    cumulative += counts.iter().skip(bounds.len()).sum::<u64>();
    let mut l = base.to_vec();
    l.push(("le", "+Inf"));
    let _ = writeln!(out, "{name}_bucket{} {cumulative}", labels(&l));
    let _ = writeln!(out, "{name}_sum{} {}", labels(base), seconds(sum_nanos));
    let _ = writeln!(out, "{name}_count{} {cumulative}", labels(base));
}

/// Renders the span-metrics and service-graph series of an analysis.
pub fn render_generator_series(out: &mut String, a: &analysis::SetAnalysis) {
    let sm = &a.span_metrics;
    header_line(
        out,
        "traces_spanmetrics_calls_total",
        "gauge",
        "Spans per (service, span name, kind, status) in the window.",
    );
    for g in &sm.groups {
        let l = [
            ("service", g.service.as_str()),
            ("span_name", g.span_name.as_str()),
            ("span_kind", g.span_kind.as_str()),
            ("status_code", g.status_code.as_str()),
        ];
        let _ = writeln!(out, "traces_spanmetrics_calls_total{} {}", labels(&l), g.calls);
    }
    header_line(
        out,
        "traces_spanmetrics_latency",
        "histogram",
        "Span durations in seconds in the window.",
    );
    for g in &sm.groups {
        let l = [
            ("service", g.service.as_str()),
            ("span_name", g.span_name.as_str()),
            ("span_kind", g.span_kind.as_str()),
            ("status_code", g.status_code.as_str()),
        ];
        histogram(
            out,
            "traces_spanmetrics_latency",
            &l,
            &sm.bucket_bounds_nanos,
            &g.histogram,
            g.latency.total_nanos,
        );
    }
    let graph = &a.service_graph;
    header_line(
        out,
        "traces_service_graph_request_total",
        "gauge",
        "Requests between two services in the window.",
    );
    for e in &graph.edges {
        let l = [
            ("client", e.client.as_str()),
            ("server", e.server.as_str()),
            ("connection_type", e.connection_type.tempo_label()),
        ];
        let _ = writeln!(
            out,
            "traces_service_graph_request_total{} {}",
            labels(&l),
            e.requests
        );
    }
    header_line(
        out,
        "traces_service_graph_request_failed_total",
        "gauge",
        "Failed requests between two services in the window.",
    );
    for e in &graph.edges {
        let l = [
            ("client", e.client.as_str()),
            ("server", e.server.as_str()),
            ("connection_type", e.connection_type.tempo_label()),
        ];
        let _ = writeln!(
            out,
            "traces_service_graph_request_failed_total{} {}",
            labels(&l),
            e.failed
        );
    }
    for (name, help, server_side) in [
        (
            "traces_service_graph_request_server_seconds",
            "Server-side request durations in seconds in the window.",
            true,
        ),
        (
            "traces_service_graph_request_client_seconds",
            "Client-side request durations in seconds in the window.",
            false,
        ),
    ] {
        header_line(out, name, "histogram", help);
        for e in &graph.edges {
            let l = [
                ("client", e.client.as_str()),
                ("server", e.server.as_str()),
                ("connection_type", e.connection_type.tempo_label()),
            ];
            let (counts, sum) = if server_side {
                (&e.server_histogram, e.server_latency.total_nanos)
            } else {
                (&e.client_histogram, e.client_latency.total_nanos)
            };
            histogram(out, name, &l, &graph.bucket_bounds_nanos, counts, sum);
        }
    }
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let window_nanos = match param(&q, "window") {
        Some(v) => tempo_api::parse_go_duration(v)
            .map_err(|e| ApiError::BadRequest(format!("invalid window: {e}")))?,
        None => 3600 * NANOS_PER_SEC,
    };
    let now = now_unix_nanos();
    let window = Window {
        start_unix_nanos: now.saturating_sub(window_nanos),
        end_unix_nanos: now,
    };
    let tenants = state.query_tenants(&headers).ok();
    let store = state.store.clone();
    let (stats, analysis) = blocking(move || {
        let stats = store.stats()?;
        let analysis = match tenants {
            Some(t) => {
                let (set, _) =
                    tracing_api::load_window(store.as_ref(), &t, window, tracing_api::MAX_WINDOW_TRACES)?;
                Some(analysis::analyze_set(&set, &Rules::builtin()))
            }
            None => None,
        };
        Ok((stats, analysis))
    })
    .await?;
    let m = &state.metrics;
    let mut out = String::with_capacity(16 * 1024);
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    for (name, help, value) in [
        (
            "spanlens_spans_received_total",
            "Spans received by the OTLP receivers.",
            load(&m.spans_received),
        ),
        (
            "spanlens_spans_rejected_total",
            "Spans refused (bad input or over the trace size cap).",
            load(&m.spans_rejected),
        ),
        (
            "spanlens_spans_stored_total",
            "Spans written durably to the store.",
            load(&m.spans_stored),
        ),
        (
            "spanlens_attributes_redacted_total",
            "Attribute values replaced by [REDACTED] at ingest.",
            load(&m.attributes_redacted),
        ),
        (
            "spanlens_ingest_bytes_total",
            "Request body bytes received by ingest, as sent.",
            load(&m.ingest_bytes),
        ),
        (
            "spanlens_ingest_bad_requests_total",
            "Ingest requests refused as undecodable, too large or of a wrong type.",
            load(&m.ingest_bad_requests),
        ),
        (
            "spanlens_ingest_errors_total",
            "Store failures during ingest.",
            load(&m.ingest_errors),
        ),
        (
            "spanlens_uploads_total",
            "Files stored through POST /api/upload.",
            load(&m.uploads),
        ),
    ] {
        header_line(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    header_line(
        &mut out,
        "spanlens_ingest_requests_total",
        "counter",
        "OTLP export requests answered, by protocol.",
    );
    let _ = writeln!(
        out,
        "spanlens_ingest_requests_total{{protocol=\"http\"}} {}",
        load(&m.ingest_requests_http)
    );
    let _ = writeln!(
        out,
        "spanlens_ingest_requests_total{{protocol=\"grpc\"}} {}",
        load(&m.ingest_requests_grpc)
    );
    header_line(
        &mut out,
        "spanlens_forward_batches_total",
        "counter",
        "Batches forwarded to --forward-otlp, by outcome.",
    );
    for (outcome, v) in [
        ("sent", &m.forward_sent),
        ("failed", &m.forward_failed),
        ("dropped", &m.forward_dropped),
    ] {
        let _ = writeln!(
            out,
            "spanlens_forward_batches_total{{outcome=\"{outcome}\"}} {}",
            load(v)
        );
    }
    header_line(
        &mut out,
        "spanlens_ingest_request_duration_seconds",
        "histogram",
        "Ingest request latency, receive to answer (HTTP and gRPC).",
    );
    let h = &m.ingest_latency;
    let mut cumulative = 0u64;
    for (i, bound) in LATENCY_BUCKETS_SECONDS.iter().enumerate() {
        cumulative += h.buckets.get(i).map(load).unwrap_or(0);
        let _ = writeln!(
            out,
            "spanlens_ingest_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += h
        .buckets
        .get(LATENCY_BUCKETS_SECONDS.len())
        .map(load)
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "spanlens_ingest_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "spanlens_ingest_request_duration_seconds_sum {}",
        load(&h.sum_micros) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "spanlens_ingest_request_duration_seconds_count {}",
        load(&h.count)
    );
    for (name, help, value) in [
        ("spanlens_store_traces", "Traces in the store.", stats.traces),
        ("spanlens_store_spans", "Spans in the store.", stats.spans),
        (
            "spanlens_store_bytes",
            "Bytes the store uses on disk.",
            stats.bytes_on_disk,
        ),
    ] {
        header_line(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    header_line(
        &mut out,
        "spanlens_metrics_window_seconds",
        "gauge",
        "Length of the window the traces_* series cover.",
    );
    let _ = writeln!(out, "spanlens_metrics_window_seconds {}", seconds(window_nanos));
    if let Some(a) = &analysis {
        render_generator_series(&mut out, a);
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
