//! Analysis endpoints (`/api/tracing/...`): JSON figures computed with
//! `spanlens_core::analysis` over the stored traces of a time window.
//!
//! Window: `start`/`end` (unix seconds) or `since` (Go duration, before `end`); default the last
//! hour. At most [`MAX_WINDOW_TRACES`] traces (the most recent) are analysed; `truncated` says
//! when more were in the window. Every answer carries the `window` it used. Keys are
//! snake_case; durations are milliseconds as floats (`*_ms`) unless the key ends in `_nanos`.
//!
//! - `GET /api/tracing/status`: store size, ingest counters, traces/spans/services in window.
//! - `GET /api/tracing/health`: `healthy|degraded|unhealthy|no_data` with the reasons, the
//!   overall and per-service grades (A–F, `design/analysis.md` §4) and error rates. Rule:
//!   unhealthy when the error rate is ≥ 20% or a service is graded F; degraded when it is ≥ 5%,
//!   a service is graded D, or a bottleneck is critical; else healthy.
//! - `GET /api/tracing/performance/summary`: trace latency p50/p95/p99, per-service and
//!   per-operation figures with category, grade and p50/p90/p95/p99.
//! - `GET /api/tracing/performance/bottlenecks?threshold_ms=`: bottlenecks (§5) whose p95 is at
//!   least `threshold_ms` (default 0), highest impact first, with recommendations.
//! - `GET /api/tracing/operations/{name}/analysis[?service=]`: one operation (span name) in every
//!   service that has it: figures, span-metrics groups, bottleneck, error clusters; 404 when absent.
//! - `GET /api/tracing/traces/search?min_duration_ms=&service=&status=ok|error&limit=`: trace
//!   summaries, most recent first (default limit 20).
//!
//! Errors: 400 `text/plain` naming the bad parameter.

use crate::api::error::ApiError;
use crate::api::tempo::common::{blocking, now_unix_nanos, param, tenants, Json};
use crate::state::AppState;
use crate::store::{TraceFilter, TraceStore};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use spanlens_core::analysis::{self, Grade, Rules, SetAnalysis, Severity};
use spanlens_core::model::{TraceId, TraceSet, TraceSetBuilder};
use spanlens_core::tempo_api;
use std::sync::atomic::Ordering;

/// Most traces analysed per request.
pub const MAX_WINDOW_TRACES: usize = 5000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const CHUNK: usize = 500;

type Pairs = Query<Vec<(String, String)>>;

/// A time window in unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
}

/// Reads `start`/`end`/`since` (see the module docs); `default_nanos` is the length without them.
pub fn parse_window(pairs: &[(String, String)], now: u64, default_nanos: u64) -> Result<Window, ApiError> {
    let secs = |name: &str, v: &str| -> Result<u64, ApiError> {
        Ok(u64::try_from(tempo_api::parse_unix_seconds(name, v)?)
            .unwrap_or(0)
            .saturating_mul(NANOS_PER_SEC))
    };
    let end = match param(pairs, "end") {
        Some(v) => secs("end", v)?,
        None => now,
    };
    let start = match (param(pairs, "start"), param(pairs, "since")) {
        (Some(v), _) => secs("start", v)?,
        (None, Some(s)) => end.saturating_sub(
            tempo_api::parse_go_duration(s)
                .map_err(|e| ApiError::BadRequest(format!("invalid since: {e}")))?,
        ),
        (None, None) => end.saturating_sub(default_nanos),
    };
    if start > end {
        return Err(ApiError::BadRequest(format!(
            "http parameter start must be before end. received start={} end={}",
            start / NANOS_PER_SEC,
            end / NANOS_PER_SEC
        )));
    }
    Ok(Window {
        start_unix_nanos: start,
        end_unix_nanos: end,
    })
}

/// The traces of a window, at most `max` (most recent), as one set; and whether more existed.
pub fn load_window(
    store: &dyn TraceStore,
    tenants: &[String],
    window: Window,
    max: usize,
) -> Result<(TraceSet, bool), ApiError> {
    let filter = TraceFilter {
        start_unix_nanos: Some(window.start_unix_nanos),
        end_unix_nanos: Some(window.end_unix_nanos),
        limit: max + 1,
        ..TraceFilter::default()
    };
    let mut found = store.find_traces(tenants, &filter)?;
    let truncated = found.len() > max;
    found.truncate(max);
    let ids: Vec<TraceId> = found.iter().map(|s| s.trace_id).collect();
    if ids.len() <= CHUNK {
        return Ok((store.load_traces(tenants, &ids)?, truncated));
    }
    let mut builder = TraceSetBuilder::new();
    for chunk in ids.chunks(CHUNK) {
        builder.append_set(&store.load_traces(tenants, chunk)?);
    }
    Ok((builder.finish(), truncated))
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// Loads and analyses the window of a request.
async fn analysed(
    state: &AppState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Analysed, ApiError> {
    let window = parse_window(pairs, now_unix_nanos(), 3600 * NANOS_PER_SEC)?;
    let tenants = tenants(state, headers)?;
    let store = state.store.clone();
    blocking(move || {
        let (set, truncated) = load_window(store.as_ref(), &tenants, window, MAX_WINDOW_TRACES)?;
        let analysis = analysis::analyze_set(&set, &Rules::builtin());
        Ok(Analysed {
            window,
            truncated,
            analysis,
        })
    })
    .await
}

struct Analysed {
    window: Window,
    truncated: bool,
    analysis: SetAnalysis,
}

fn overall(a: &SetAnalysis) -> (u64, u64, f64, Option<Grade>) {
    let calls: u64 = a.services.iter().map(|s| s.calls).sum();
    let errors: u64 = a.services.iter().map(|s| s.errors).sum();
    let rate = if calls == 0 {
        0.0
    } else {
        errors as f64 / calls as f64
    };
    let grade = (calls > 0).then(|| {
        let points: f64 = a.services.iter().map(|s| s.grade_points * s.calls as f64).sum();
        Grade::from_mean_points(points / calls as f64)
    });
    (calls, errors, rate, grade)
}

/// `GET /api/tracing/status`.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let window = parse_window(&q, now_unix_nanos(), 3600 * NANOS_PER_SEC)?;
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let (stats, summaries) = blocking(move || {
        let stats = store.stats()?;
        let filter = TraceFilter {
            start_unix_nanos: Some(window.start_unix_nanos),
            end_unix_nanos: Some(window.end_unix_nanos),
            ..TraceFilter::default()
        };
        Ok((stats, store.find_traces(&tenants, &filter)?))
    })
    .await?;
    let spans: u64 = summaries.iter().map(|s| s.span_count).sum();
    let errors: u64 = summaries.iter().map(|s| s.error_count).sum();
    let mut roots: Vec<&str> = summaries
        .iter()
        .map(|s| s.root_service.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    let m = &state.metrics;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "multitenant": state.config.multitenant,
        "window": window,
        "store": { "traces": stats.traces, "spans": stats.spans, "bytes_on_disk": stats.bytes_on_disk },
        "ingest": {
            "spans_received": m.spans_received.load(Ordering::Relaxed),
            "spans_rejected": m.spans_rejected.load(Ordering::Relaxed),
            "spans_stored": m.spans_stored.load(Ordering::Relaxed),
            "attributes_redacted": m.attributes_redacted.load(Ordering::Relaxed),
        },
        "in_window": {
            "traces": summaries.len(),
            "spans": spans,
            "error_spans": errors,
            "root_services": roots,
        },
    }))
    .into_response())
}

/// `GET /api/tracing/health`.
pub async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let Analysed {
        window,
        truncated,
        analysis: a,
    } = analysed(&state, &headers, &q).await?;
    let (calls, errors, error_rate, grade) = overall(&a);
    let mut reasons = Vec::new();
    let mut level = 0u8;
    if calls == 0 {
        reasons.push("no spans in the window".to_string());
    }
    if error_rate >= 0.20 {
        level = level.max(2);
        reasons.push(format!("error rate {:.1}% is at least 20%", error_rate * 100.0));
    } else if error_rate >= 0.05 {
        level = level.max(1);
        reasons.push(format!("error rate {:.1}% is at least 5%", error_rate * 100.0));
    }
    for s in &a.services {
        match s.grade {
            Grade::F => {
                level = level.max(2);
                reasons.push(format!("service {} is graded F", s.service));
            }
            Grade::D => {
                level = level.max(1);
                reasons.push(format!("service {} is graded D", s.service));
            }
            _ => {}
        }
    }
    for b in a.bottlenecks.iter().filter(|b| b.severity == Severity::Critical) {
        level = level.max(1);
        reasons.push(format!(
            "critical bottleneck {} / {} (p95 {:.1} ms)",
            b.service,
            b.operation,
            ms(b.p95_nanos)
        ));
    }
    let status = match (calls, level) {
        (0, _) => "no_data",
        (_, 0) => "healthy",
        (_, 1) => "degraded",
        _ => "unhealthy",
    };
    let services: Vec<_> = a
        .services
        .iter()
        .map(|s| {
            json!({
                "service": s.service,
                "grade": s.grade.letter(),
                "calls": s.calls,
                "errors": s.errors,
                "error_rate": if s.calls == 0 { 0.0 } else { s.errors as f64 / s.calls as f64 },
            })
        })
        .collect();
    Ok(Json(json!({
        "status": status,
        "reasons": reasons,
        "window": window,
        "truncated": truncated,
        "grade": grade.map(Grade::letter),
        "spans": calls,
        "errors": errors,
        "error_rate": error_rate,
        "traces_with_errors": a.errors.traces_with_errors,
        "critical_bottlenecks": a.bottlenecks.iter().filter(|b| b.severity == Severity::Critical).count(),
        "services": services,
    }))
    .into_response())
}

fn latency_ms(l: &analysis::DurationSummary) -> serde_json::Value {
    json!({
        "p50_ms": ms(l.p50_nanos), "p90_ms": ms(l.p90_nanos), "p95_ms": ms(l.p95_nanos),
        "p99_ms": ms(l.p99_nanos), "max_ms": ms(l.max_nanos), "mean_ms": ms(l.mean_nanos),
    })
}

fn operation_json(o: &analysis::OperationSummary) -> serde_json::Value {
    json!({
        "service": o.service,
        "operation": o.name,
        "category": o.category,
        "grade": o.grade.letter(),
        "calls": o.calls,
        "errors": o.errors,
        "error_rate": o.error_rate,
        "latency": latency_ms(&o.latency),
        "self_time_mean_ms": ms(o.self_mean_nanos),
        "over_target": o.over_target,
        "bottleneck": o.bottleneck,
    })
}

/// `GET /api/tracing/performance/summary`.
pub async fn performance_summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let Analysed {
        window,
        truncated,
        analysis: a,
    } = analysed(&state, &headers, &q).await?;
    let mut durations: Vec<u64> = a.traces.iter().map(|t| t.duration_nanos).collect();
    durations.sort_unstable();
    let traces = analysis::DurationSummary::of_sorted(&durations);
    let (calls, errors, error_rate, grade) = overall(&a);
    let mut slowest: Vec<&analysis::OperationSummary> = a.operations.iter().collect();
    slowest.sort_by_key(|o| std::cmp::Reverse(o.latency.p95_nanos));
    slowest.truncate(10);
    Ok(Json(json!({
        "window": window,
        "truncated": truncated,
        "trace_count": a.trace_count,
        "span_count": a.span_count,
        "grade": grade.map(Grade::letter),
        "calls": calls,
        "errors": errors,
        "error_rate": error_rate,
        "trace_latency": latency_ms(&traces),
        "services": a.services.iter().map(|s| json!({
            "service": s.service, "grade": s.grade.letter(), "operations": s.operations,
            "calls": s.calls, "errors": s.errors,
        })).collect::<Vec<_>>(),
        "operations": a.operations.iter().map(operation_json).collect::<Vec<_>>(),
        "slowest_operations": slowest.into_iter().map(operation_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/tracing/performance/bottlenecks?threshold_ms=`.
pub async fn performance_bottlenecks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let threshold_ms = match param(&q, "threshold_ms") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid threshold_ms: {v:?} is not a non-negative number"
                ))
            })?,
        None => 0.0,
    };
    let Analysed {
        window,
        truncated,
        analysis: a,
    } = analysed(&state, &headers, &q).await?;
    let list: Vec<_> = a
        .bottlenecks
        .iter()
        .filter(|b| ms(b.p95_nanos) >= threshold_ms)
        .map(|b| {
            json!({
                "service": b.service,
                "operation": b.operation,
                "category": b.category,
                "severity": match b.severity { Severity::Alert => "alert", Severity::Critical => "critical" },
                "impact": b.impact,
                "duration_impact": b.duration_impact,
                "frequency_impact": b.frequency_impact,
                "reliability_impact": b.reliability_impact,
                "calls": b.calls,
                "errors": b.errors,
                "error_rate": b.error_rate,
                "p95_ms": ms(b.p95_nanos),
                "target_ms": ms(b.target_nanos),
                "alert_ms": ms(b.alert_nanos),
                "critical_ms": ms(b.critical_nanos),
                "over_target_fraction": b.over_target_fraction,
                "recommendations": b.recommendations.iter().map(|r| json!({
                    "kind": r.kind, "message": r.message,
                    "related_service": r.related_service, "related_operation": r.related_operation,
                    "example_trace_ids": r.example_trace_ids,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "window": window,
        "truncated": truncated,
        "threshold_ms": threshold_ms,
        "count": list.len(),
        "bottlenecks": list,
    }))
    .into_response())
}

/// `GET /api/tracing/operations/{name}/analysis[?service=]`.
pub async fn operation_analysis(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let service = param(&q, "service").map(str::to_string);
    let Analysed {
        window,
        truncated,
        analysis: a,
    } = analysed(&state, &headers, &q).await?;
    let wanted = |svc: &str, op: &str| op == name && service.as_deref().is_none_or(|s| s == svc);
    let ops: Vec<_> = a
        .operations
        .iter()
        .filter(|o| wanted(&o.service, &o.name))
        .map(operation_json)
        .collect();
    if ops.is_empty() {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("operation {name:?} not found in the window"), "window": window })),
        )
            .into_response());
    }
    let groups: Vec<_> = a
        .span_metrics
        .groups
        .iter()
        .filter(|g| wanted(&g.service, &g.span_name))
        .map(|g| {
            json!({
                "service": g.service, "span_kind": g.span_kind, "status_code": g.status_code,
                "calls": g.calls, "errors": g.errors, "latency": latency_ms(&g.latency),
            })
        })
        .collect();
    let bottlenecks: Vec<_> = a
        .bottlenecks
        .iter()
        .filter(|b| wanted(&b.service, &b.operation))
        .map(|b| json!({ "service": b.service, "impact": b.impact, "severity": b.severity, "recommendations": b.recommendations.iter().map(|r| &r.message).collect::<Vec<_>>() }))
        .collect();
    let errors: Vec<_> = a
        .errors
        .clusters
        .iter()
        .filter(|c| wanted(&c.service, &c.span_name))
        .map(|c| json!({ "service": c.service, "reason": c.reason, "count": c.count, "example_message": c.example_message, "example_trace_ids": c.example_trace_ids }))
        .collect();
    Ok(Json(json!({
        "operation": name,
        "window": window,
        "truncated": truncated,
        "services": ops,
        "span_metrics": groups,
        "bottlenecks": bottlenecks,
        "error_clusters": errors,
    }))
    .into_response())
}

/// `GET /api/tracing/traces/search?min_duration_ms=&service=&status=&limit=`.
pub async fn traces_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Result<Response, ApiError> {
    let min_duration_nanos = match param(&q, "min_duration_ms") {
        Some(v) => Some(
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| (x * 1e6) as u64)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "invalid min_duration_ms: {v:?} is not a non-negative number"
                    ))
                })?,
        ),
        None => None,
    };
    let status = match param(&q, "status") {
        None | Some("any") | Some("all") => None,
        Some("error") => Some(true),
        Some("ok") => Some(false),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid status: {other:?} (expected ok, error or any)"
            )))
        }
    };
    let limit = match param(&q, "limit") {
        Some(v) => tempo_api::parse_positive("limit", v)? as usize,
        None => 20,
    };
    let window = parse_window(&q, now_unix_nanos(), 3600 * NANOS_PER_SEC)?;
    let filter = TraceFilter {
        start_unix_nanos: Some(window.start_unix_nanos),
        end_unix_nanos: Some(window.end_unix_nanos),
        min_duration_nanos,
        service: param(&q, "service").map(str::to_string),
        errors_only: status == Some(true),
        limit: if status == Some(false) { 0 } else { limit },
        ..TraceFilter::default()
    };
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.find_traces(&tenants, &filter)?)).await?;
    let traces: Vec<_> = found
        .iter()
        .filter(|s| status != Some(false) || s.error_count == 0)
        .take(limit)
        .map(|s| {
            json!({
                "trace_id": s.trace_id.to_hex(),
                "root_service": s.root_service,
                "root_name": s.root_name,
                "start_unix_nanos": s.start_unix_nanos,
                "duration_ms": ms(s.end_unix_nanos.saturating_sub(s.start_unix_nanos)),
                "span_count": s.span_count,
                "error_count": s.error_count,
                "status": if s.error_count > 0 { "error" } else { "ok" },
            })
        })
        .collect();
    Ok(Json(json!({ "window": window, "count": traces.len(), "traces": traces })).into_response())
}
