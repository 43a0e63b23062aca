//! OTLP protobuf reader: decodes `TracesData` (equally `ExportTraceServiceRequest`, and Tempo's
//! `tempopb.Trace`, which are wire-identical) or Tempo's `TraceByIDResponse` (a message whose
//! field 1 is such a `Trace`) into the model.
//!
//! Follows the OTLP protobuf specification (`opentelemetry/proto/trace/v1/trace.proto`); the
//! wire types live in [`wire`] and are public so the server's OTLP ingest can use them. Bad
//! spans are skipped or repaired and reported as diagnostics, like the JSON reader. Not here:
//! gzip, gRPC framing, writing (see `formats::writers`).

pub mod wire;

use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Link, Resource, Scope, Span, SpanId, SpanKind, StatusCode, TraceId,
    TraceSetBuilder, Value,
};
use prost::Message;

/// Reads one protobuf document into the builder, or says why it is not OTLP protobuf.
pub(crate) fn read(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("empty input".to_string());
    }
    let data = decode(bytes)?;
    let mut conv = Converter { b: builder };
    if let Some((status, message)) = data.partial {
        let text = if message.is_empty() {
            format!("Tempo returned a partial trace (status {status})")
        } else {
            format!("partial trace: {message}")
        };
        conv.b.diagnostics.warnings.push(text.clone());
        conv.b
            .diagnostics
            .add(DiagnosticKind::PartialTrace, "status", None, Some("status"), text);
    }
    for (ri, rs) in data.resource_spans.iter().enumerate() {
        conv.resource_spans(ri, rs);
    }
    Ok(())
}

/// A decoded document: resource spans plus an optional Tempo partial status.
struct Decoded {
    resource_spans: Vec<wire::ResourceSpans>,
    partial: Option<(i32, String)>,
}

/// Counts spans whose ids have the protobuf widths: how plausible an interpretation is.
fn plausible_spans(rs: &[wire::ResourceSpans]) -> usize {
    let ok = |s: &wire::Span| s.trace_id.len() == 16 && s.span_id.len() == 8;
    rs.iter()
        .map(|r| {
            r.scope_spans
                .iter()
                .map(|ss| ss.spans.iter().filter(|s| ok(s)).count())
                .sum::<usize>()
                + r.instrumentation_library_spans
                    .iter()
                    .map(|ss| ss.spans.iter().filter(|s| ok(s)).count())
                    .sum::<usize>()
        })
        .sum()
}

fn total_spans(rs: &[wire::ResourceSpans]) -> usize {
    rs.iter()
        .map(|r| {
            r.scope_spans.iter().map(|ss| ss.spans.len()).sum::<usize>()
                + r.instrumentation_library_spans
                    .iter()
                    .map(|ss| ss.spans.len())
                    .sum::<usize>()
        })
        .sum()
}

/// Decodes as `TracesData`, falling back to `TraceByIDResponse` when that reading is implausible.
fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let direct = wire::TracesData::decode(bytes);
    if let Ok(d) = &direct {
        let total = total_spans(&d.resource_spans);
        if total > 0 && plausible_spans(&d.resource_spans) == total {
            return direct
                .map(|d| Decoded {
                    resource_spans: d.resource_spans,
                    partial: None,
                })
                .map_err(|e| e.to_string());
        }
    }
    let wrapped = wire::TraceByIdResponse::decode(bytes);
    let direct_score = direct
        .as_ref()
        .map(|d| plausible_spans(&d.resource_spans))
        .unwrap_or(0);
    if let Ok(w) = wrapped {
        let batches = w.trace.map(|t| t.batches).unwrap_or_default();
        let score = plausible_spans(&batches);
        if score > 0 && score >= direct_score {
            let partial = (w.status != 0).then_some((w.status, w.message));
            return Ok(Decoded {
                resource_spans: batches,
                partial,
            });
        }
    }
    match direct {
        Ok(d) if direct_score > 0 => Ok(Decoded {
            resource_spans: d.resource_spans,
            partial: None,
        }),
        Ok(_) => Err("protobuf decodes to no plausible span (no 16-byte trace id with an 8-byte span id)"
            .to_string()),
        Err(e) => Err(format!("not a protobuf TracesData: {e}")),
    }
}

struct Converter<'b> {
    b: &'b mut TraceSetBuilder,
}

fn id_bytes<const N: usize>(bytes: &[u8]) -> Option<([u8; N], IdEncoding)> {
    if bytes.is_empty() {
        return None;
    }
    if let Ok(arr) = <[u8; N]>::try_from(bytes) {
        return Some((arr, IdEncoding::Hex));
    }
    if bytes.len() < N {
        // Shorter ids (64-bit Jaeger trace ids): left-pad with zeros.
        let mut out = [0u8; N];
        let offset = N - bytes.len();
        if let Some(dst) = out.get_mut(offset..) {
            dst.copy_from_slice(bytes);
        }
        return Some((out, IdEncoding::Hex));
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Converter<'_> {
    fn resource_spans(&mut self, ri: usize, rs: &wire::ResourceSpans) {
        let loc = format!("resourceSpans[{ri}].resource");
        let (attrs, service_name) = match &rs.resource {
            Some(r) => {
                let attrs = self.attrs(&r.attributes, &loc, None);
                let service = self.b.arena.find_attr(attrs, "service.name");
                let service_name = match service {
                    Some(Value::Str(s)) => s,
                    _ => crate::model::StrId::EMPTY,
                };
                (Some((attrs, r.dropped_attributes_count)), service_name)
            }
            None => (None, crate::model::StrId::EMPTY),
        };
        let (attrs, dropped) = attrs.unwrap_or((crate::model::Range32::EMPTY, 0));
        let schema_url = self.b.arena.intern(&rs.schema_url);
        let resource = self.b.arena.push_resource(Resource {
            service_name,
            attrs,
            dropped_attributes_count: dropped,
            schema_url,
        });
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let loc = format!("resourceSpans[{ri}].scopeSpans[{si}]");
            let scope = match &ss.scope {
                Some(s) => {
                    let attrs = self.attrs(&s.attributes, &loc, None);
                    Scope {
                        name: self.b.arena.intern(&s.name),
                        version: self.b.arena.intern(&s.version),
                        attrs,
                        dropped_attributes_count: s.dropped_attributes_count,
                        schema_url: self.b.arena.intern(&ss.schema_url),
                    }
                }
                None => Scope {
                    schema_url: self.b.arena.intern(&ss.schema_url),
                    ..Scope::default()
                },
            };
            let scope = self.b.arena.push_scope(scope);
            for (pi, span) in ss.spans.iter().enumerate() {
                self.span(&format!("{loc}.spans[{pi}]"), span, resource, scope);
            }
        }
        for (si, ils) in rs.instrumentation_library_spans.iter().enumerate() {
            let loc = format!("resourceSpans[{ri}].instrumentationLibrarySpans[{si}]");
            let (name, version) = ils
                .instrumentation_library
                .as_ref()
                .map(|l| (l.name.as_str(), l.version.as_str()))
                .unwrap_or(("", ""));
            let scope = Scope {
                name: self.b.arena.intern(name),
                version: self.b.arena.intern(version),
                schema_url: self.b.arena.intern(&ils.schema_url),
                ..Scope::default()
            };
            let scope = self.b.arena.push_scope(scope);
            for (pi, span) in ils.spans.iter().enumerate() {
                self.span(&format!("{loc}.spans[{pi}]"), span, resource, scope);
            }
        }
    }

    fn span(&mut self, loc: &str, s: &wire::Span, resource: u32, scope: u32) {
        let d = &mut self.b.diagnostics;
        let sid_text = hex(&s.span_id);
        let Some((trace_id, _)) = id_bytes::<16>(&s.trace_id) else {
            let (kind, msg) = if s.trace_id.is_empty() {
                (DiagnosticKind::MissingTraceId, "span has no trace id".to_string())
            } else {
                (
                    DiagnosticKind::MissingTraceId,
                    format!("trace id has {} bytes, expected 16", s.trace_id.len()),
                )
            };
            d.add(kind, loc, Some(&sid_text), Some("traceId"), msg);
            d.spans_skipped += 1;
            return;
        };
        let Some((span_id, _)) = id_bytes::<8>(&s.span_id) else {
            let msg = if s.span_id.is_empty() {
                "span has no span id".to_string()
            } else {
                format!("span id has {} bytes, expected 8", s.span_id.len())
            };
            d.add(DiagnosticKind::MissingSpanId, loc, Some(&sid_text), Some("spanId"), msg);
            d.spans_skipped += 1;
            return;
        };
        let trace_id = TraceId(trace_id);
        let span_id = SpanId(span_id);
        if trace_id.is_zero() {
            d.add(DiagnosticKind::ZeroId, loc, Some(&sid_text), Some("traceId"), "all-zero trace id");
        }
        if span_id.is_zero() {
            d.add(DiagnosticKind::ZeroId, loc, Some(&sid_text), Some("spanId"), "all-zero span id");
        }
        let parent_span_id = match id_bytes::<8>(&s.parent_span_id) {
            Some((p, _)) if p != [0u8; 8] => Some(SpanId(p)),
            Some(_) => None,
            None => {
                if !s.parent_span_id.is_empty() {
                    d.add(
                        DiagnosticKind::InvalidField,
                        loc,
                        Some(&sid_text),
                        Some("parentSpanId"),
                        format!("parent span id has {} bytes; ignored", s.parent_span_id.len()),
                    );
                }
                None
            }
        };
        let kind = match SpanKind::from_i64(i64::from(s.kind)) {
            Some(k) => k,
            None => {
                d.add(
                    DiagnosticKind::InvalidField,
                    loc,
                    Some(&sid_text),
                    Some("kind"),
                    format!("unknown span kind {}", s.kind),
                );
                SpanKind::Unspecified
            }
        };
        let (status_code, status_message) = match &s.status {
            Some(st) => {
                let code = match StatusCode::from_i64(i64::from(st.code)) {
                    Some(c) => c,
                    None => {
                        d.add(
                            DiagnosticKind::InvalidField,
                            loc,
                            Some(&sid_text),
                            Some("status.code"),
                            format!("unknown status code {}", st.code),
                        );
                        StatusCode::Unset
                    }
                };
                (code, st.message.as_str())
            }
            None => (StatusCode::Unset, ""),
        };
        if s.end_time_unix_nano < s.start_time_unix_nano {
            d.add(
                DiagnosticKind::NegativeDuration,
                loc,
                Some(&sid_text),
                Some("endTimeUnixNano"),
                "end before start; duration taken as 0",
            );
        }
        let attrs = self.attrs(&s.attributes, loc, Some(&sid_text));
        let mut events = Vec::with_capacity(s.events.len());
        for e in &s.events {
            let attrs = self.attrs(&e.attributes, loc, Some(&sid_text));
            events.push(Event {
                time_unix_nanos: e.time_unix_nano,
                name: self.b.arena.intern(&e.name),
                attrs,
                dropped_attributes_count: e.dropped_attributes_count,
            });
        }
        let mut links = Vec::with_capacity(s.links.len());
        for l in &s.links {
            let (Some((t, _)), Some((sp, _))) = (id_bytes::<16>(&l.trace_id), id_bytes::<8>(&l.span_id))
            else {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidField,
                    loc,
                    Some(&sid_text),
                    Some("links"),
                    "link without a valid trace id and span id; dropped",
                );
                continue;
            };
            let attrs = self.attrs(&l.attributes, loc, Some(&sid_text));
            links.push(Link {
                trace_id: TraceId(t),
                span_id: SpanId(sp),
                trace_state: self.b.arena.intern(&l.trace_state),
                attrs,
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            });
        }
        let arena = &mut self.b.arena;
        let span = Span {
            trace_id,
            span_id,
            parent_span_id,
            name: arena.intern(&s.name),
            kind,
            status_code,
            status_message: arena.intern(status_message),
            start_unix_nanos: s.start_time_unix_nano,
            end_unix_nanos: s.end_time_unix_nano,
            attrs,
            events: arena.push_events(&events),
            links: arena.push_links(&links),
            resource,
            scope,
            trace_state: arena.intern(&s.trace_state),
            flags: s.flags,
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
            ..Span::default()
        };
        self.b.push_span(span);
    }

    fn attrs(&mut self, kvs: &[wire::KeyValue], loc: &str, span_id: Option<&str>) -> crate::model::Range32 {
        let mut out = Vec::with_capacity(kvs.len());
        for kv in kvs {
            if kv.key.is_empty() {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidAttribute,
                    loc,
                    span_id,
                    Some("attributes"),
                    "attribute without a key; dropped",
                );
                continue;
            }
            let value = self.value(kv.value.as_ref(), 0);
            out.push(KeyValue {
                key: self.b.arena.intern(&kv.key),
                value,
            });
        }
        self.b.arena.push_kvs(&out)
    }

    fn value(&mut self, v: Option<&wire::AnyValue>, depth: u32) -> Value {
        use wire::AnyValueKind as K;
        let Some(kind) = v.and_then(|v| v.value.as_ref()) else {
            return Value::Empty;
        };
        match kind {
            K::StringValue(s) => Value::Str(self.b.arena.intern(s)),
            K::BoolValue(b) => Value::Bool(*b),
            K::IntValue(i) => Value::Int(*i),
            K::DoubleValue(d) => Value::Double(*d),
            K::BytesValue(b) => Value::Bytes(self.b.arena.push_bytes(b)),
            K::ArrayValue(a) => {
                if depth > 64 {
                    return Value::Empty;
                }
                let values: Vec<Value> = a.values.iter().map(|v| self.value(Some(v), depth + 1)).collect();
                Value::Array(self.b.arena.push_values(&values))
            }
            K::KvlistValue(l) => {
                if depth > 64 {
                    return Value::Empty;
                }
                let mut kvs = Vec::with_capacity(l.values.len());
                for kv in &l.values {
                    let value = self.value(kv.value.as_ref(), depth + 1);
                    kvs.push(KeyValue {
                        key: self.b.arena.intern(&kv.key),
                        value,
                    });
                }
                Value::KvList(self.b.arena.push_kvs(&kvs))
            }
        }
    }
}

#[cfg(test)]
mod tests;
