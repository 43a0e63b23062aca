//! Response bodies of the Tempo HTTP API, spelled as a Tempo writes them: protobuf-JSON with
//! camelCase names, 64-bit integers as strings, zero values and empty lists omitted. Every type
//! reads back what it writes (`Serialize` + `Deserialize`), so the SPA parses a Tempo's answers
//! and the server writes the same bytes.

use crate::model::OwnedValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// `u64`/`i64` written as a JSON string (protobuf-JSON), read from a string or a number.
mod int_str {
    use super::*;

    pub fn serialize<S: Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: std::str::FromStr + TryFrom<i128>,
    {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(i128),
        }
        match Either::deserialize(d)? {
            Either::S(s) => s
                .parse::<T>()
                .map_err(|_| serde::de::Error::custom("bad integer string")),
            Either::N(n) => T::try_from(n).map_err(|_| serde::de::Error::custom("integer out of range")),
        }
    }
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// An OTLP `AnyValue` in protobuf-JSON (`{"stringValue":"x"}`, `{"intValue":"3"}`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnyValue {
    StringValue(String),
    BoolValue(bool),
    IntValue(#[serde(with = "int_str")] i64),
    DoubleValue(f64),
    /// Base64.
    BytesValue(String),
    ArrayValue(ArrayValue),
    KvlistValue(KvList),
}

/// `{"values":[AnyValue…]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ArrayValue {
    #[serde(default)]
    pub values: Vec<AnyValue>,
}

/// `{"values":[KeyValue…]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct KvList {
    #[serde(default)]
    pub values: Vec<KeyValue>,
}

impl AnyValue {
    /// Converts a model value; `Empty` becomes an empty string.
    pub fn from_owned(v: &OwnedValue) -> AnyValue {
        match v {
            OwnedValue::Empty => AnyValue::StringValue(String::new()),
            OwnedValue::Str(s) => AnyValue::StringValue(s.clone()),
            OwnedValue::Bool(b) => AnyValue::BoolValue(*b),
            OwnedValue::Int(i) => AnyValue::IntValue(*i),
            OwnedValue::Double(d) => AnyValue::DoubleValue(*d),
            OwnedValue::Bytes(b) => {
                use base64::Engine;
                AnyValue::BytesValue(base64::engine::general_purpose::STANDARD.encode(b))
            }
            OwnedValue::Array(items) => AnyValue::ArrayValue(ArrayValue {
                values: items.iter().map(AnyValue::from_owned).collect(),
            }),
            OwnedValue::KvList(items) => AnyValue::KvlistValue(KvList {
                values: items
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: AnyValue::from_owned(v),
                    })
                    .collect(),
            }),
        }
    }
}

/// An OTLP `KeyValue`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: AnyValue,
}

impl KeyValue {
    /// A string-valued pair.
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: AnyValue::StringValue(value.into()),
        }
    }
}

/// The `metrics` block of query answers (`inspectedBytes` etc.); all fields optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryMetrics {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub inspected_traces: u32,
    #[serde(default, skip_serializing_if = "is_zero_u64", with = "int_str")]
    pub inspected_bytes: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub completed_jobs: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub total_jobs: u32,
}

/// `GET /api/search` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    #[serde(default)]
    pub traces: Vec<TraceSearchMetadata>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// Root name of a trace whose root span has not arrived, as Tempo spells it.
pub const ROOT_SPAN_NOT_YET_RECEIVED: &str = "<root span not yet received>";

/// One trace in a search answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSearchMetadata {
    /// Hex, leading zeros removed.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_service_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_trace_name: String,
    #[serde(with = "int_str")]
    pub start_time_unix_nano: u64,
    /// Whole milliseconds, absent when 0.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub duration_ms: u32,
    /// Deprecated: the first spanset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_set: Option<SpanSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub span_sets: Vec<SpanSet>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_stats: BTreeMap<String, ServiceStats>,
}

/// Span and error counts of one service in a trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStats {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub span_count: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub error_count: u32,
}

/// The spans of a trace that matched a query (at most `spss` listed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanSet {
    #[serde(default)]
    pub spans: Vec<SpanSetSpan>,
    /// How many spans matched in all.
    #[serde(default)]
    pub matched: u32,
    /// Aggregates (`count()`) and `by()` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
}

/// One matched span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanSetSpan {
    /// 16 hex digits.
    #[serde(rename = "spanID")]
    pub span_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(with = "int_str")]
    pub start_time_unix_nano: u64,
    #[serde(with = "int_str")]
    pub duration_nanos: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
}

/// `GET /api/search/tags`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagNamesResponse {
    #[serde(default)]
    pub tag_names: Vec<String>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// `GET /api/v2/search/tags`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagNamesV2Response {
    #[serde(default)]
    pub scopes: Vec<TagScopeNames>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// The tag names of one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagScopeNames {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The intrinsic tag names a Tempo lists in the `intrinsic` scope, in its order.
pub const INTRINSIC_TAGS: [&str; 25] = [
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "link:spanID",
    "link:traceID",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:id",
    "span:kind",
    "span:name",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:id",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

/// `GET /api/search/tag/{tag}/values`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagValuesResponse {
    #[serde(default)]
    pub tag_values: Vec<String>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// `GET /api/v2/search/tag/{tag}/values`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagValuesV2Response {
    #[serde(default)]
    pub tag_values: Vec<TypedTagValue>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// A value with its type: `string`, `int`, `float`, `bool`, `keyword`, `duration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedTagValue {
    #[serde(rename = "type")]
    pub value_type: String,
    pub value: String,
}

/// `GET /api/metrics/query_range`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryRangeResponse {
    #[serde(default)]
    pub series: Vec<TimeSeries>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// One series of a range query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    #[serde(default)]
    pub labels: Vec<KeyValue>,
    #[serde(default)]
    pub samples: Vec<Sample>,
    #[serde(default)]
    pub exemplars: Vec<Exemplar>,
}

/// One step; `value` absent when the step holds no data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    #[serde(with = "int_str")]
    pub timestamp_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// A sample pointing at one trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    #[serde(default)]
    pub labels: Vec<KeyValue>,
    pub value: f64,
    #[serde(with = "int_str")]
    pub timestamp_ms: i64,
}

/// `GET /api/metrics/query`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstantQueryResponse {
    #[serde(default)]
    pub series: Vec<InstantSeries>,
    #[serde(default)]
    pub metrics: QueryMetrics,
}

/// One series of an instant query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstantSeries {
    #[serde(default)]
    pub labels: Vec<KeyValue>,
    pub value: f64,
}

/// `GET /api/status/buildinfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    pub build_user: String,
    pub build_date: String,
    pub go_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_reads_and_writes_tempos_spelling() {
        let text = r#"{"traces":[{"traceID":"6077f4fd","rootServiceName":"api-gateway","rootTraceName":"POST /v1/chat","startTimeUnixNano":"1795247398714305634","durationMs":1958,"spanSet":{"spans":[{"spanID":"f94a25509d40bcb5","startTimeUnixNano":"1795247382102205634","durationNanos":"13759449","attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}}]}],"matched":3,"attributes":[{"key":"count()","value":{"intValue":"3"}}]},"serviceStats":{"api-gateway":{"spanCount":3},"llm-proxy":{"spanCount":4,"errorCount":2}}}],"metrics":{"inspectedTraces":36,"inspectedBytes":"31501","completedJobs":3,"totalJobs":3}}"#;
        let parsed: SearchResponse = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.traces[0].duration_ms, 1958);
        let back = serde_json::to_string(&parsed).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn range_samples_omit_empty_values() {
        let r = QueryRangeResponse {
            series: vec![TimeSeries {
                labels: vec![KeyValue {
                    key: "p".into(),
                    value: AnyValue::DoubleValue(0.95),
                }],
                samples: vec![
                    Sample {
                        timestamp_ms: 1,
                        value: None,
                    },
                    Sample {
                        timestamp_ms: 2,
                        value: Some(1.5),
                    },
                ],
                exemplars: vec![],
            }],
            metrics: QueryMetrics::default(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"series":[{"labels":[{"key":"p","value":{"doubleValue":0.95}}],"samples":[{"timestampMs":"1"},{"timestampMs":"2","value":1.5}],"exemplars":[]}],"metrics":{}}"#
        );
    }
}
