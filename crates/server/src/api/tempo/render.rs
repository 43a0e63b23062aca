//! Trace-by-id bodies: Tempo v1 `{"batches":…}` JSON, v2 `{"trace":…,"metrics":…}` JSON, and
//! their protobuf forms (`tempopb.Trace`, wire-compatible with OTLP `TracesData`, and
//! `tempopb.TraceByIDResponse`), written with `spanlens_core::formats::writers`.

use crate::api::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use spanlens_core::formats::writers::{self, TempoV2Meta};
use spanlens_core::model::TraceSet;

/// The `message` of a v2 answer filtered by `q=` (Tempo's words).
pub const FILTERED_MESSAGE: &str = "Trace filtered, only a subset of spans matching the filter is returned";
/// The `message` of a v2 answer for a trace cut at the size cap.
pub const TRUNCATED_MESSAGE: &str = "Trace exceeds maximum size and has been truncated";

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn protobuf(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/protobuf")], body).into_response()
}

fn all_spans(set: &TraceSet) -> Vec<u32> {
    (0..set.span_count() as u32).collect()
}

/// v1 JSON of a whole stored trace.
pub fn json_v1(set: &TraceSet) -> Result<Response, ApiError> {
    Ok(json(writers::spans_to_tempo_v1_json(set, &all_spans(set))))
}

/// v1 protobuf (`tempopb.Trace` = `TracesData` on the wire).
pub fn protobuf_v1(set: &TraceSet) -> Result<Response, ApiError> {
    Ok(protobuf(writers::spans_to_otlp_proto(set, &all_spans(set))))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field << 3 | 2));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// v2 answer. `found` = the set, the span indexes to write and the PARTIAL message, if any;
/// `None` = unknown id (`{"trace":{},"metrics":{}}`).
pub fn v2(found: Option<(&TraceSet, &[u32], Option<&str>)>, as_protobuf: bool) -> Result<Response, ApiError> {
    let inspected = found.map(|(set, _, _)| set.heap_bytes() as u64).unwrap_or(0);
    if as_protobuf {
        let mut out = Vec::new();
        if let Some((set, spans, message)) = found {
            put_len_field(&mut out, 1, &writers::spans_to_otlp_proto(set, spans));
            let mut metrics = Vec::new();
            if inspected > 0 {
                put_varint(&mut metrics, 1 << 3);
                put_varint(&mut metrics, inspected);
            }
            put_len_field(&mut out, 2, &metrics);
            if let Some(m) = message {
                put_varint(&mut out, 3 << 3);
                put_varint(&mut out, 1);
                put_len_field(&mut out, 4, m.as_bytes());
            }
        }
        return Ok(protobuf(out));
    }
    let body = match found {
        Some((set, spans, message)) => writers::spans_to_tempo_v2_json(
            set,
            spans,
            &TempoV2Meta {
                inspected_bytes: Some(inspected),
                partial_message: message.map(str::to_string),
            },
        ),
        None => writers::spans_to_tempo_v2_json(
            &TraceSet::default(),
            &[],
            &TempoV2Meta {
                inspected_bytes: Some(0),
                partial_message: None,
            },
        ),
    };
    Ok(json(body))
}

/// Every span of `set`.
pub fn every_span(set: &TraceSet) -> Vec<u32> {
    all_spans(set)
}
