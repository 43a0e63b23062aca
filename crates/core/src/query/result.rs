//! Search results: the matching traces with their spansets, as plain serializable data, and
//! their rendering in the exact shape of Tempo's `/api/search` response.
//!
//! Tempo's shape (see `design/tempo-api.md`): `traceID` is hex with leading zeros trimmed,
//! `rootServiceName` is `<root span not yet received>` without a root, times are strings of
//! nanoseconds, `durationMs` is omitted when 0, `spanSet` repeats the first of `spanSets`,
//! `serviceStats` counts spans (and errors, omitted when 0) per service. Not here: evaluation.

use serde::Serialize;
use std::collections::BTreeMap;

/// Tempo's `rootServiceName` when a trace has no root span.
pub const NO_ROOT_SERVICE: &str = "<root span not yet received>";

/// A typed attribute value in a result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ResultValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Integer nanoseconds (aggregates over durations).
    Duration(i64),
}

impl ResultValue {
    /// Display text (`500`, `error`, `1.5`, durations as nanoseconds with `ns`).
    pub fn text(&self) -> String {
        match self {
            ResultValue::Str(s) => s.clone(),
            ResultValue::Int(i) => i.to_string(),
            ResultValue::Double(d) => crate::model::format_double(*d),
            ResultValue::Bool(b) => b.to_string(),
            ResultValue::Duration(n) => format_duration(*n),
        }
    }
}

/// [`format_duration`] for an unsigned span or trace duration.
pub fn format_duration_nanos(nanos: u64) -> String {
    format_duration(i64::try_from(nanos).unwrap_or(i64::MAX))
}

/// A duration for people: `1.5s`, `250ms`, `12µs`, `800ns`.
pub fn format_duration(nanos: i64) -> String {
    let abs = nanos.unsigned_abs();
    let sign = if nanos < 0 { "-" } else { "" };
    let (div, unit) = if abs >= 1_000_000_000 {
        (1_000_000_000u64, "s")
    } else if abs >= 1_000_000 {
        (1_000_000, "ms")
    } else if abs >= 1_000 {
        (1_000, "µs")
    } else {
        return format!("{sign}{abs}ns");
    };
    let whole = abs / div;
    let frac = abs % div;
    if frac == 0 {
        return format!("{sign}{whole}{unit}");
    }
    // Three significant decimals at most, trailing zeros dropped.
    let scaled = frac * 1000 / div;
    let mut decimals = format!("{scaled:03}");
    while decimals.ends_with('0') {
        decimals.pop();
    }
    if decimals.is_empty() {
        format!("{sign}{whole}{unit}")
    } else {
        format!("{sign}{whole}.{decimals}{unit}")
    }
}

/// One attribute of a result span or spanset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultAttr {
    pub key: String,
    pub value: ResultValue,
}

/// One span of a spanset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanMatch {
    /// Set-wide span index.
    pub span_index: u32,
    /// 16 hex digits.
    pub span_id: String,
    /// Present when the query mentions `name` (Tempo lists it only then).
    pub name: Option<String>,
    /// The span name, always.
    pub span_name: String,
    pub service_name: String,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    /// The fields the query mentions or selects, in order of first mention.
    pub attributes: Vec<ResultAttr>,
}

/// One spanset of a matching trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpansetMatch {
    /// At most `spss` spans, by start time.
    pub spans: Vec<SpanMatch>,
    /// How many spans the spanset holds (before the `spss` limit).
    pub matched: u32,
    /// Spanset-level values: `count()`, `avg(duration)`, `by(...)`.
    pub attributes: Vec<ResultAttr>,
}

/// Span and error counts of one service in a trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceStats {
    pub span_count: u32,
    pub error_count: u32,
}

/// One matching trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceMatch {
    /// Index of the trace in the set.
    pub trace_index: u32,
    /// 32 hex digits.
    pub trace_id: String,
    /// `None` when the trace has no root span.
    pub root_service_name: Option<String>,
    pub root_trace_name: Option<String>,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub spansets: Vec<SpansetMatch>,
    /// Per service, sorted by name.
    pub service_stats: BTreeMap<String, ServiceStats>,
}

/// The result of a search: matching traces, most recent first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SearchResult {
    pub traces: Vec<TraceMatch>,
    /// Traces evaluated.
    pub inspected_traces: u64,
    /// Spans in the evaluated traces.
    pub inspected_spans: u64,
}

// ---- Tempo's JSON shape ----

/// A protobuf-JSON `AnyValue` as Tempo writes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TempoValue {
    #[serde(rename = "stringValue")]
    String(String),
    /// int64 as a string.
    #[serde(rename = "intValue")]
    Int(String),
    #[serde(rename = "doubleValue")]
    Double(f64),
    #[serde(rename = "boolValue")]
    Bool(bool),
}

/// `{key, value}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoAttr {
    pub key: String,
    pub value: TempoValue,
}

/// A span in a Tempo search spanset.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoSpan {
    #[serde(rename = "spanID")]
    pub span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub start_time_unix_nano: String,
    pub duration_nanos: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<TempoAttr>,
}

/// A Tempo search spanset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoSpanset {
    pub spans: Vec<TempoSpan>,
    pub matched: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<TempoAttr>,
}

/// `serviceStats` entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoServiceStats {
    pub span_count: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub error_count: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// One item of `/api/search`'s `traces`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoTrace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub root_service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_trace_name: Option<String>,
    pub start_time_unix_nano: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_set: Option<TempoSpanset>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub span_sets: Vec<TempoSpanset>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub service_stats: BTreeMap<String, TempoServiceStats>,
}

/// The `/api/search` body: `{"traces":[...],"metrics":{...}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoSearchResponse {
    pub traces: Vec<TempoTrace>,
    pub metrics: TempoSearchMetrics,
}

/// Search metrics (Tempo writes `inspectedBytes` as a string; spanlens reports traces and spans).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoSearchMetrics {
    pub inspected_traces: u64,
    pub inspected_spans: String,
    pub completed_jobs: u32,
    pub total_jobs: u32,
}

impl ResultValue {
    /// As a Tempo `AnyValue` (durations as integer nanoseconds).
    pub fn to_tempo(&self) -> TempoValue {
        match self {
            ResultValue::Str(s) => TempoValue::String(s.clone()),
            ResultValue::Int(i) => TempoValue::Int(i.to_string()),
            ResultValue::Double(d) => TempoValue::Double(*d),
            ResultValue::Bool(b) => TempoValue::Bool(*b),
            ResultValue::Duration(n) => TempoValue::Int(n.to_string()),
        }
    }
}

fn tempo_attrs(attrs: &[ResultAttr]) -> Vec<TempoAttr> {
    attrs
        .iter()
        .map(|a| TempoAttr {
            key: a.key.clone(),
            value: a.value.to_tempo(),
        })
        .collect()
}

impl SpansetMatch {
    /// In Tempo's shape.
    pub fn to_tempo(&self) -> TempoSpanset {
        TempoSpanset {
            spans: self
                .spans
                .iter()
                .map(|s| TempoSpan {
                    span_id: s.span_id.clone(),
                    name: s.name.clone(),
                    start_time_unix_nano: s.start_unix_nanos.to_string(),
                    duration_nanos: s.duration_nanos.to_string(),
                    attributes: tempo_attrs(&s.attributes),
                })
                .collect(),
            matched: self.matched,
            attributes: tempo_attrs(&self.attributes),
        }
    }
}

impl TraceMatch {
    /// The trace as one item of Tempo's `/api/search` `traces` array.
    pub fn to_tempo(&self) -> TempoTrace {
        let trimmed = self.trace_id.trim_start_matches('0');
        let span_sets: Vec<TempoSpanset> = self.spansets.iter().map(SpansetMatch::to_tempo).collect();
        let duration_ms = self.duration_nanos / 1_000_000;
        TempoTrace {
            trace_id: if trimmed.is_empty() {
                "0".into()
            } else {
                trimmed.into()
            },
            root_service_name: self
                .root_service_name
                .clone()
                .unwrap_or_else(|| NO_ROOT_SERVICE.to_string()),
            root_trace_name: self.root_trace_name.clone(),
            start_time_unix_nano: self.start_unix_nanos.to_string(),
            duration_ms: (duration_ms > 0).then_some(duration_ms),
            span_set: span_sets.first().cloned(),
            span_sets,
            service_stats: self
                .service_stats
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        TempoServiceStats {
                            span_count: v.span_count,
                            error_count: v.error_count,
                        },
                    )
                })
                .collect(),
        }
    }
}

impl SearchResult {
    /// The whole `/api/search` response body.
    pub fn to_tempo(&self) -> TempoSearchResponse {
        TempoSearchResponse {
            traces: self.traces.iter().map(TraceMatch::to_tempo).collect(),
            metrics: TempoSearchMetrics {
                inspected_traces: self.inspected_traces,
                inspected_spans: self.inspected_spans.to_string(),
                completed_jobs: 1,
                total_jobs: 1,
            },
        }
    }

    /// [`SearchResult::to_tempo`] as a JSON value.
    pub fn to_tempo_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_tempo()).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(12_000), "12µs");
        assert_eq!(format_duration(800), "800ns");
        assert_eq!(format_duration(-2_000_000_000), "-2s");
    }
}
