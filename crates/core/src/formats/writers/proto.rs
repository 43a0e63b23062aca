//! OTLP protobuf writer: the model back to [`wire::TracesData`] (and its bytes). Ids are written
//! at full width; zero values are left at their protobuf defaults.

use super::group_spans;
use crate::formats::otlp_proto::wire;
use crate::model::{Arena, KeyValue, Range32, Span, TraceSet, Value};
use prost::Message;

/// The given spans as a `TracesData` message (for the server's OTLP/gRPC and protobuf answers).
pub fn to_traces_data(set: &TraceSet, spans: &[u32]) -> wire::TracesData {
    let arena = &set.arena;
    let mut out = wire::TracesData::default();
    for group in group_spans(set, spans) {
        let r = arena
            .resources
            .get(group.resource as usize)
            .copied()
            .unwrap_or_default();
        let mut rs = wire::ResourceSpans {
            resource: Some(wire::Resource {
                attributes: kvs(arena, r.attrs, 0),
                dropped_attributes_count: r.dropped_attributes_count,
            }),
            schema_url: arena.str(r.schema_url).to_string(),
            ..Default::default()
        };
        for (scope_index, members) in &group.scopes {
            let s = arena
                .scopes
                .get(*scope_index as usize)
                .copied()
                .unwrap_or_default();
            rs.scope_spans.push(wire::ScopeSpans {
                scope: Some(wire::InstrumentationScope {
                    name: arena.str(s.name).to_string(),
                    version: arena.str(s.version).to_string(),
                    attributes: kvs(arena, s.attrs, 0),
                    dropped_attributes_count: s.dropped_attributes_count,
                }),
                spans: members
                    .iter()
                    .filter_map(|&i| set.span(i))
                    .map(|sp| span(arena, sp))
                    .collect(),
                schema_url: arena.str(s.schema_url).to_string(),
            });
        }
        out.resource_spans.push(rs);
    }
    out
}

/// OTLP protobuf `TracesData` bytes of the given spans.
pub fn spans_to_otlp_proto(set: &TraceSet, spans: &[u32]) -> Vec<u8> {
    to_traces_data(set, spans).encode_to_vec()
}

fn span(arena: &Arena, s: &Span) -> wire::Span {
    let status = (s.status_code as u8 != 0 || !s.status_message.is_empty()).then(|| wire::Status {
        message: arena.str(s.status_message).to_string(),
        code: i32::from(s.status_code as u8),
    });
    wire::Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: arena.str(s.trace_state).to_string(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        name: arena.str(s.name).to_string(),
        kind: i32::from(s.kind as u8),
        start_time_unix_nano: s.start_unix_nanos,
        end_time_unix_nano: s.end_unix_nanos,
        attributes: kvs(arena, s.attrs, 0),
        dropped_attributes_count: s.dropped_attributes_count,
        events: arena
            .event_slice(s.events)
            .iter()
            .map(|e| wire::Event {
                time_unix_nano: e.time_unix_nanos,
                name: arena.str(e.name).to_string(),
                attributes: kvs(arena, e.attrs, 0),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: arena
            .link_slice(s.links)
            .iter()
            .map(|l| wire::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: arena.str(l.trace_state).to_string(),
                attributes: kvs(arena, l.attrs, 0),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status,
        flags: s.flags,
    }
}

fn kvs(arena: &Arena, r: Range32, depth: u32) -> Vec<wire::KeyValue> {
    kv_slice(arena, arena.kv_slice(r), depth)
}

fn kv_slice(arena: &Arena, items: &[KeyValue], depth: u32) -> Vec<wire::KeyValue> {
    items
        .iter()
        .map(|kv| wire::KeyValue {
            key: arena.str(kv.key).to_string(),
            value: Some(any_value(arena, kv.value, depth)),
        })
        .collect()
}

fn any_value(arena: &Arena, v: Value, depth: u32) -> wire::AnyValue {
    use wire::AnyValueKind as K;
    let value = match v {
        Value::Empty => None,
        Value::Str(s) => Some(K::StringValue(arena.str(s).to_string())),
        Value::Bool(b) => Some(K::BoolValue(b)),
        Value::Int(i) => Some(K::IntValue(i)),
        Value::Double(d) => Some(K::DoubleValue(d)),
        Value::Bytes(r) => Some(K::BytesValue(arena.byte_slice(r).to_vec())),
        Value::Array(r) if depth < 64 => Some(K::ArrayValue(wire::ArrayValue {
            values: arena
                .value_slice(r)
                .iter()
                .map(|item| any_value(arena, *item, depth + 1))
                .collect(),
        })),
        Value::KvList(r) if depth < 64 => Some(K::KvlistValue(wire::KeyValueList {
            values: kv_slice(arena, arena.kv_slice(r), depth + 1),
        })),
        Value::Array(_) | Value::KvList(_) => None,
    };
    wire::AnyValue { value }
}
