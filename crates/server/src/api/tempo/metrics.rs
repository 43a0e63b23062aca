//! TraceQL metrics (`/api/metrics/query_range`, `/api/metrics/query`) evaluated over the stored
//! spans: the core parses the query and selects the spans (`spanlens_core::query`); this module
//! buckets them by time and aggregates.
//!
//! Rules (observed on Tempo, see `responses/082`, `083`, `091`):
//! - Range: `start`/`end` (unix seconds) or `since` (Go duration, default 1h) before `end`
//!   (default now); `end` is clamped to 30 s before now, as Tempo's query frontend does (its
//!   `query_end_cutoff`: the most recent spans may still be arriving). `step` is a Go duration
//!   or seconds (default 15s).
//! - Sample timestamps are `start` aligned down to the step, then every step while before `end`;
//!   the sample at `t` holds the spans that started in `(t - step, t]`. Steps without spans are
//!   listed without `value`.
//! - `rate()` = spans / step seconds; `count_over_time()` = spans; `sum|min|max|avg_over_time(f)`
//!   over the numeric values of `f` (durations in seconds); `quantile_over_time(f, q…)` gives one
//!   series per quantile labelled `p` (exact, linearly interpolated between the sorted values,
//!   where Tempo interpolates inside power-of-two buckets: values differ slightly);
//!   `histogram_over_time(f)` one series per power-of-two bucket labelled `__bucket` (upper
//!   bound, seconds for durations). `by(f, …)` adds one label per field (spans without a value
//!   for a `by` field are left out). Without labels a series is labelled `__name__` = function.
//! - The instant query aggregates the whole range into one value per series (`rate` divides by
//!   the range in seconds).
//! - Exemplars: at most one per series and step, labelled `trace:id`.

use super::common::{blocking, now_unix_nanos, param, tenants, Json};
use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::TraceFilter;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use spanlens_core::model::{TraceId, TraceSet, Value};
use spanlens_core::query::{self, AttrScope, FieldRef, Intrinsic, MetricsFunc, MetricsStage, QueryError};
use spanlens_core::tempo_api::{
    self, AnyValue, Exemplar, InstantQueryResponse, InstantSeries, KeyValue, QueryMetrics,
    QueryRangeResponse, Sample, TimeSeries,
};
use std::collections::BTreeMap;

const NANOS_PER_SEC: u64 = 1_000_000_000;
const DEFAULT_RANGE_NANOS: u64 = 3600 * NANOS_PER_SEC;
const DEFAULT_STEP_NANOS: u64 = 15 * NANOS_PER_SEC;
/// Queries end at most this long before now.
const END_CUTOFF_NANOS: u64 = 30 * NANOS_PER_SEC;
/// Traces loaded from the store at a time.
const CHUNK: usize = 256;

/// A field's value on one span.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    DurationNanos(u64),
}

impl FieldValue {
    /// As a number (durations in seconds).
    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::Double(d) => Some(*d),
            FieldValue::DurationNanos(n) => Some(*n as f64 / NANOS_PER_SEC as f64),
            FieldValue::Str(_) | FieldValue::Bool(_) => None,
        }
    }

    fn to_any(&self) -> AnyValue {
        match self {
            FieldValue::Str(s) => AnyValue::StringValue(s.clone()),
            FieldValue::Int(i) => AnyValue::IntValue(*i),
            FieldValue::Double(d) => AnyValue::DoubleValue(*d),
            FieldValue::Bool(b) => AnyValue::BoolValue(*b),
            FieldValue::DurationNanos(n) => AnyValue::IntValue(i64::try_from(*n).unwrap_or(i64::MAX)),
        }
    }
}

fn from_model(set: &TraceSet, v: Value) -> FieldValue {
    match v {
        Value::Str(s) => FieldValue::Str(set.str(s).to_string()),
        Value::Int(i) => FieldValue::Int(i),
        Value::Double(d) => FieldValue::Double(d),
        Value::Bool(b) => FieldValue::Bool(b),
        other => FieldValue::Str(set.arena.value_text(other)),
    }
}

/// The value of `field` on span `index` of `set`.
pub fn field_value(set: &TraceSet, index: u32, field: &FieldRef) -> Option<FieldValue> {
    let span = set.span(index)?;
    match field {
        FieldRef::Intrinsic(i) => Some(match i {
            Intrinsic::Name => FieldValue::Str(set.name(span).to_string()),
            Intrinsic::Status => FieldValue::Str(span.status_code.short_name().to_string()),
            Intrinsic::StatusMessage => FieldValue::Str(set.str(span.status_message).to_string()),
            Intrinsic::Kind => FieldValue::Str(span.kind.short_name().to_string()),
            Intrinsic::Duration => FieldValue::DurationNanos(span.duration_nanos()),
            Intrinsic::TraceDuration => FieldValue::DurationNanos(set.trace_of(span)?.duration_nanos()),
            Intrinsic::RootName | Intrinsic::RootServiceName => {
                let root = set.span(set.root_of(set.trace_of(span)?)?)?;
                if *i == Intrinsic::RootName {
                    FieldValue::Str(set.name(root).to_string())
                } else {
                    FieldValue::Str(set.service_name(root).to_string())
                }
            }
        }),
        FieldRef::Attr { scope, name } => {
            let span_value = || set.span_attr(span, name).map(|v| from_model(set, v));
            let resource_value = || {
                set.resource_attr(span, name)
                    .map(|v| from_model(set, v))
                    .or_else(|| {
                        (name == "service.name").then(|| FieldValue::Str(set.service_name(span).to_string()))
                    })
            };
            match scope {
                AttrScope::Span => span_value(),
                AttrScope::Resource => resource_value(),
                AttrScope::Any => span_value().or_else(resource_value),
            }
        }
    }
}

/// The time range and step of a metrics request, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub step: u64,
}

fn parse_time(name: &str, v: &str) -> Result<u64, ApiError> {
    let secs = tempo_api::parse_unix_seconds(name, v)?;
    let secs = u64::try_from(secs).unwrap_or(0);
    // Tempo also accepts nanoseconds: a value past year 33658 in seconds is one.
    Ok(if secs > 1_000_000_000_000 {
        secs
    } else {
        secs.saturating_mul(NANOS_PER_SEC)
    })
}

fn parse_step(v: &str) -> Result<u64, ApiError> {
    let nanos = match v.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => (secs * NANOS_PER_SEC as f64) as u64,
        _ => {
            tempo_api::parse_go_duration(v).map_err(|e| ApiError::BadRequest(format!("invalid step: {e}")))?
        }
    };
    if nanos == 0 {
        return Err(ApiError::BadRequest(
            "invalid step: step must be greater than 0".into(),
        ));
    }
    Ok(nanos)
}

/// Reads `start`, `end`, `since`, `step` (see the module docs).
pub fn parse_range(pairs: &[(String, String)], now: u64) -> Result<Range, ApiError> {
    let latest = now.saturating_sub(END_CUTOFF_NANOS);
    let end = match param(pairs, "end") {
        Some(v) => parse_time("end", v)?.min(latest),
        None => latest,
    };
    let start = match (param(pairs, "start"), param(pairs, "since")) {
        (Some(v), _) => parse_time("start", v)?,
        (None, Some(since)) => {
            let d = tempo_api::parse_go_duration(since)
                .map_err(|e| ApiError::BadRequest(format!("invalid since: {e}")))?;
            end.saturating_sub(d)
        }
        (None, None) => end.saturating_sub(DEFAULT_RANGE_NANOS),
    };
    if start >= end {
        return Err(ApiError::BadRequest(format!(
            "http parameter start must be before end. received start={} end={}",
            start / NANOS_PER_SEC,
            end / NANOS_PER_SEC
        )));
    }
    let step = match param(pairs, "step") {
        Some(v) => parse_step(v)?,
        None => DEFAULT_STEP_NANOS,
    };
    Ok(Range { start, end, step })
}

/// One series being accumulated: per step, the values (1.0 per span for counts).
struct Acc {
    labels: Vec<KeyValue>,
    steps: Vec<Vec<f64>>,
    exemplars: Vec<Option<String>>,
}

fn func_name(f: &MetricsFunc) -> &'static str {
    match f {
        MetricsFunc::Rate => "rate",
        MetricsFunc::CountOverTime => "count_over_time",
        MetricsFunc::QuantileOverTime { .. } => "quantile_over_time",
        MetricsFunc::HistogramOverTime(_) => "histogram_over_time",
        MetricsFunc::SumOverTime(_) => "sum_over_time",
        MetricsFunc::MinOverTime(_) => "min_over_time",
        MetricsFunc::MaxOverTime(_) => "max_over_time",
        MetricsFunc::AvgOverTime(_) => "avg_over_time",
    }
}

/// Upper bound of the power-of-two bucket holding `v` (for durations: nanoseconds → seconds).
fn pow2_bucket(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::DurationNanos(n) => Some((*n).max(1).next_power_of_two() as f64 / NANOS_PER_SEC as f64),
        other => {
            let x = other.number()?;
            if x <= 0.0 {
                return Some(0.0);
            }
            Some(2f64.powf(x.log2().ceil()))
        }
    }
}

/// Spans selected by the query, grouped into series and steps.
struct Evaluation {
    series: BTreeMap<String, Acc>,
    inspected_bytes: u64,
    timestamps: Vec<u64>,
}

fn evaluate(
    store: &dyn crate::store::TraceStore,
    tenants: &[String],
    parsed: &query::Query,
    stage: &MetricsStage,
    range: Range,
    instant: bool,
) -> Result<Evaluation, ApiError> {
    let first = range.start - range.start % range.step;
    let mut timestamps = Vec::new();
    let mut t = first;
    while t < range.end {
        timestamps.push(t);
        t = t.saturating_add(range.step);
        if timestamps.len() > 11_000 {
            return Err(ApiError::BadRequest(
                "exceeded maximum number of steps (11000): use a larger step".into(),
            ));
        }
    }
    if instant {
        timestamps = vec![range.start];
    }
    let filter = TraceFilter {
        start_unix_nanos: Some(range.start.saturating_sub(range.step)),
        end_unix_nanos: Some(range.end),
        ..TraceFilter::default()
    };
    let candidates = store.find_traces(tenants, &filter)?;
    let mut series: BTreeMap<String, Acc> = BTreeMap::new();
    let mut inspected_bytes = 0u64;
    let field = match &stage.func {
        MetricsFunc::QuantileOverTime { field, .. }
        | MetricsFunc::HistogramOverTime(field)
        | MetricsFunc::SumOverTime(field)
        | MetricsFunc::MinOverTime(field)
        | MetricsFunc::MaxOverTime(field)
        | MetricsFunc::AvgOverTime(field) => Some(field),
        MetricsFunc::Rate | MetricsFunc::CountOverTime => None,
    };
    for chunk in candidates.chunks(CHUNK) {
        let ids: Vec<TraceId> = chunk.iter().map(|s| s.trace_id).collect();
        let set = store.load_traces(tenants, &ids)?;
        inspected_bytes += set.heap_bytes() as u64;
        for ti in 0..set.traces().len() as u32 {
            for si in query::matching_spans(&set, ti, parsed) {
                let Some(span) = set.span(si) else { continue };
                let ts = span.start_unix_nanos;
                let step_index = if instant {
                    if ts < range.start || ts > range.end {
                        continue;
                    }
                    0
                } else {
                    if ts + range.step <= first {
                        continue;
                    }
                    let k = (ts - first).div_ceil(range.step) as usize;
                    if k >= timestamps.len() {
                        continue;
                    }
                    k
                };
                let mut labels = Vec::new();
                let mut missing = false;
                for by in &stage.by {
                    match field_value(&set, si, by) {
                        Some(v) => labels.push(KeyValue {
                            key: by.label(),
                            value: v.to_any(),
                        }),
                        None => missing = true,
                    }
                }
                if missing {
                    continue;
                }
                let value = match field {
                    Some(f) => match field_value(&set, si, f) {
                        Some(v) => Some(v),
                        None => continue,
                    },
                    None => None,
                };
                let mut number = 1.0;
                if let MetricsFunc::HistogramOverTime(_) = &stage.func {
                    let Some(bucket) = value.as_ref().and_then(pow2_bucket) else {
                        continue;
                    };
                    labels.push(KeyValue {
                        key: "__bucket".into(),
                        value: AnyValue::DoubleValue(bucket),
                    });
                } else if let Some(v) = &value {
                    match v.number() {
                        Some(n) => number = n,
                        None => continue,
                    }
                }
                if labels.is_empty() && !matches!(stage.func, MetricsFunc::QuantileOverTime { .. }) {
                    labels.push(KeyValue::string("__name__", func_name(&stage.func)));
                }
                let key = serde_json::to_string(&labels).unwrap_or_default();
                let acc = series.entry(key).or_insert_with(|| Acc {
                    labels,
                    steps: vec![Vec::new(); timestamps.len()],
                    exemplars: vec![None; timestamps.len()],
                });
                if let Some(slot) = acc.steps.get_mut(step_index) {
                    slot.push(number);
                }
                if let Some(slot) = acc.exemplars.get_mut(step_index) {
                    if slot.is_none() {
                        *slot = Some(span.trace_id.to_hex());
                    }
                }
            }
        }
    }
    Ok(Evaluation {
        series,
        inspected_bytes,
        timestamps,
    })
}

/// Quantile `q` of `values` (sorted in place), linear interpolation between closest ranks.
fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let a = *values.get(lo)?;
    let b = *values.get(hi)?;
    Some(a + (b - a) * (pos - lo as f64))
}

/// The value of one step of one series (not quantiles).
fn reduce(func: &MetricsFunc, values: &[f64], seconds: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match func {
        MetricsFunc::Rate => values.len() as f64 / seconds,
        MetricsFunc::CountOverTime | MetricsFunc::HistogramOverTime(_) => values.len() as f64,
        MetricsFunc::SumOverTime(_) => values.iter().sum(),
        MetricsFunc::MinOverTime(_) => values.iter().copied().fold(f64::INFINITY, f64::min),
        MetricsFunc::MaxOverTime(_) => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        MetricsFunc::AvgOverTime(_) => values.iter().sum::<f64>() / values.len() as f64,
        MetricsFunc::QuantileOverTime { .. } => return None,
    })
}

/// Output series: (labels, per-step values, per-step exemplar trace ids).
type Output = Vec<(Vec<KeyValue>, Vec<Option<f64>>, Vec<Option<String>>)>;

fn finish(stage: &MetricsStage, eval: Evaluation, seconds: f64) -> Output {
    let mut out = Vec::new();
    for (_, mut acc) in eval.series {
        match &stage.func {
            MetricsFunc::QuantileOverTime { quantiles, .. } => {
                for q in quantiles {
                    let mut labels = acc.labels.clone();
                    labels.push(KeyValue {
                        key: "p".into(),
                        value: AnyValue::DoubleValue(*q),
                    });
                    let values = acc.steps.iter_mut().map(|v| quantile(v, *q)).collect();
                    out.push((labels, values, acc.exemplars.clone()));
                }
            }
            func => {
                let values = acc.steps.iter().map(|v| reduce(func, v, seconds)).collect();
                out.push((acc.labels, values, acc.exemplars));
            }
        }
    }
    out
}

fn millis(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Handles both metrics endpoints.
pub async fn handle(
    state: AppState,
    headers: HeaderMap,
    pairs: Vec<(String, String)>,
    instant: bool,
) -> Result<Response, ApiError> {
    let text = param(&pairs, "q").unwrap_or("");
    let parsed = query::parse_metrics(text).map_err(|e| match e {
        QueryError::NotMetrics => ApiError::BadRequest("not a metrics query".into()),
        QueryError::Parse(p) => ApiError::BadRequest(format!("invalid TraceQL query: {p}")),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let Some(stage) = parsed.metrics.clone() else {
        return Err(ApiError::BadRequest("not a metrics query".into()));
    };
    let range = parse_range(&pairs, now_unix_nanos())?;
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let (eval, seconds) = blocking(move || {
        let eval = evaluate(store.as_ref(), &tenants, &parsed, &stage, range, instant)?;
        let seconds = if instant {
            range.end - range.start
        } else {
            range.step
        } as f64
            / NANOS_PER_SEC as f64;
        Ok((eval, seconds))
    })
    .await?;
    let metrics = QueryMetrics {
        inspected_bytes: eval.inspected_bytes,
        completed_jobs: 1,
        total_jobs: 1,
        ..QueryMetrics::default()
    };
    let timestamps = eval.timestamps.clone();
    let Some(stage) = query::parse_metrics(text).ok().and_then(|q| q.metrics) else {
        return Err(ApiError::BadRequest("not a metrics query".into()));
    };
    let output = finish(&stage, eval, seconds);
    if instant {
        let series = output
            .into_iter()
            .filter_map(|(labels, values, _)| {
                values
                    .first()
                    .copied()
                    .flatten()
                    .map(|value| InstantSeries { labels, value })
            })
            .collect();
        return Ok(Json(InstantQueryResponse { series, metrics }).into_response());
    }
    let series = output
        .into_iter()
        .map(|(labels, values, exemplar_ids)| {
            let samples = timestamps
                .iter()
                .zip(&values)
                .map(|(t, v)| Sample {
                    timestamp_ms: millis(*t),
                    value: *v,
                })
                .collect();
            let exemplars = timestamps
                .iter()
                .zip(values.iter().zip(&exemplar_ids))
                .filter_map(|(t, (v, id))| {
                    let (v, id) = (v.as_ref()?, id.as_ref()?);
                    let mut ex_labels = vec![KeyValue::string("trace:id", id.trim_start_matches('0'))];
                    ex_labels.extend(labels_without_internal(&labels));
                    Some(Exemplar {
                        labels: ex_labels,
                        value: *v,
                        timestamp_ms: millis(*t),
                    })
                })
                .collect();
            TimeSeries {
                labels,
                samples,
                exemplars,
            }
        })
        .collect();
    Ok(Json(QueryRangeResponse { series, metrics }).into_response())
}

fn labels_without_internal(labels: &[KeyValue]) -> Vec<KeyValue> {
    labels
        .iter()
        .filter(|l| !l.key.starts_with("__") && l.key != "p")
        .cloned()
        .collect()
}
