//! Writers: a [`TraceSet`] (all of it, one trace, or any list of spans) back to bytes.
//!
//! - OTLP JSON as the OTLP specification writes it ([`to_otlp_json`]): lowercase hex ids,
//!   64-bit integers as strings, enums as integers, camelCase keys, zero values omitted.
//! - Tempo's trace-by-id JSON ([`to_tempo_v1_json`] `{"batches":[...]}`, [`to_tempo_v2_json`]
//!   `{"trace":{"resourceSpans":[...]}}`), byte-for-byte in Tempo's protobuf-JSON style: base64
//!   ids (links too), 64-bit integers as strings, enum names, zero values omitted, unset status
//!   `{}`, doubles without a needless fraction, no span `flags` and no scope `schemaUrl` (Tempo
//!   keeps neither), Go's HTML-safe string escapes.
//! - OTLP protobuf `TracesData` ([`to_otlp_proto`], [`to_traces_data`]).
//!
//! Spans are grouped back into resource and scope groups by the set's resource and scope
//! indexes, in order of first appearance; keys and attributes are written in source order, so
//! output is deterministic. Not here: reading (see the readers), compression, HTTP.

mod json;
mod proto;

pub use json::{spans_to_otlp_json, spans_to_tempo_v1_json, spans_to_tempo_v2_json, TempoV2Meta};
pub use proto::{spans_to_otlp_proto, to_traces_data};

use crate::model::TraceSet;

/// The span indexes of one trace, or of the whole set.
pub fn span_indexes(set: &TraceSet, trace: Option<u32>) -> Vec<u32> {
    match trace {
        Some(t) => set
            .trace(t)
            .map(|t| t.spans.as_range().map(|i| i as u32).collect())
            .unwrap_or_default(),
        None => (0..set.span_count() as u32).collect(),
    }
}

/// Spec OTLP JSON (`{"resourceSpans":[...]}`) of the whole set, or of trace `trace`.
pub fn to_otlp_json(set: &TraceSet, trace: Option<u32>) -> String {
    spans_to_otlp_json(set, &span_indexes(set, trace))
}

/// Tempo v1 `{"batches":[...]}` of the whole set, or of trace `trace`.
pub fn to_tempo_v1_json(set: &TraceSet, trace: Option<u32>) -> String {
    spans_to_tempo_v1_json(set, &span_indexes(set, trace))
}

/// Tempo v2 `{"trace":{"resourceSpans":[...]}}` of the whole set, or of trace `trace`.
pub fn to_tempo_v2_json(set: &TraceSet, trace: Option<u32>, meta: &TempoV2Meta) -> String {
    spans_to_tempo_v2_json(set, &span_indexes(set, trace), meta)
}

/// OTLP protobuf `TracesData` bytes of the whole set, or of trace `trace`.
pub fn to_otlp_proto(set: &TraceSet, trace: Option<u32>) -> Vec<u8> {
    spans_to_otlp_proto(set, &span_indexes(set, trace))
}

/// Spans grouped by resource, then scope, in order of first appearance.
pub(crate) struct ResourceGroup {
    pub resource: u32,
    pub scopes: Vec<(u32, Vec<u32>)>,
}

/// Groups span indexes (invalid ones are ignored) by resource and scope.
pub(crate) fn group_spans(set: &TraceSet, spans: &[u32]) -> Vec<ResourceGroup> {
    let mut groups: Vec<ResourceGroup> = Vec::new();
    let mut by_resource: hashbrown::HashMap<u32, usize> = hashbrown::HashMap::new();
    let mut by_scope: hashbrown::HashMap<(u32, u32), usize> = hashbrown::HashMap::new();
    for &i in spans {
        let Some(span) = set.span(i) else { continue };
        let gi = *by_resource.entry(span.resource).or_insert_with(|| {
            groups.push(ResourceGroup {
                resource: span.resource,
                scopes: Vec::new(),
            });
            groups.len() - 1
        });
        let Some(group) = groups.get_mut(gi) else { continue };
        let si = *by_scope.entry((span.resource, span.scope)).or_insert_with(|| {
            group.scopes.push((span.scope, Vec::new()));
            group.scopes.len() - 1
        });
        if let Some((_, list)) = group.scopes.get_mut(si) {
            list.push(i);
        }
    }
    groups
}

#[cfg(test)]
mod tests;
