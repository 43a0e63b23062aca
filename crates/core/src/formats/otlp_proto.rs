//! OTLP protobuf reader: decodes `TracesData` (equally `ExportTraceServiceRequest`, and Tempo's
//! `tempopb.Trace`, which are wire-identical) or Tempo's `TraceByIDResponse` (a message whose
//! field 1 is such a `Trace`) into the model.
//!
//! Follows the OTLP protobuf specification (`opentelemetry/proto/trace/v1/trace.proto`); the
//! wire types live in [`wire`] and are public so the server's OTLP ingest can use them. Bad
//! spans are skipped or repaired and reported as diagnostics, like the JSON reader. Not here:
//! gzip, gRPC framing, writing (see `formats::writers`).

pub mod wire;

use super::otlp_json::InternCache;
use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Link, Range32, Resource, Scope, Span, SpanId, SpanKind, StatusCode, StrId,
    TraceId, TraceSetBuilder, Value,
};
use prost::Message;

/// Reads one protobuf document into the builder, or says why it is not OTLP protobuf.
pub(crate) fn read(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("empty input".to_string());
    }
    let data = decode(bytes)?;
    let mut conv = Converter {
        b: builder,
        cache: InternCache::new(),
        pending: Vec::new(),
        kv_stack: Vec::new(),
    };
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
        Ok(_) => Err(
            "protobuf decodes to no plausible span (no 16-byte trace id with an 8-byte span id)".to_string(),
        ),
        Err(e) => Err(format!("not a protobuf TracesData: {e}")),
    }
}

struct Converter<'b> {
    b: &'b mut TraceSetBuilder,
    cache: InternCache,
    /// Diagnostics of the object being converted, waiting for its location.
    pending: Vec<(DiagnosticKind, &'static str, String)>,
    kv_stack: Vec<KeyValue>,
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
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Converter<'_> {
    fn resource_spans(&mut self, ri: usize, rs: &wire::ResourceSpans) {
        let (attrs, dropped) = match &rs.resource {
            Some(r) => (
                self.attrs(&r.attributes, "resource.attributes"),
                r.dropped_attributes_count,
            ),
            None => (Range32::EMPTY, 0),
        };
        self.flush(|| format!("resourceSpans[{ri}].resource"), None);
        let service_name = match self.b.arena.find_attr(attrs, "service.name") {
            Some(Value::Str(s)) => s,
            _ => StrId::EMPTY,
        };
        let schema_url = self.intern(&rs.schema_url);
        let resource = self.b.arena.push_resource(Resource {
            service_name,
            attrs,
            dropped_attributes_count: dropped,
            schema_url,
        });
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let loc = format!("resourceSpans[{ri}].scopeSpans[{si}]");
            let mut scope = Scope {
                schema_url: self.intern(&ss.schema_url),
                ..Scope::default()
            };
            if let Some(s) = &ss.scope {
                scope.attrs = self.attrs(&s.attributes, "scope.attributes");
                scope.name = self.intern(&s.name);
                scope.version = self.intern(&s.version);
                scope.dropped_attributes_count = s.dropped_attributes_count;
                self.flush(|| format!("{loc}.scope"), None);
            }
            let scope = self.b.arena.push_scope(scope);
            for (pi, span) in ss.spans.iter().enumerate() {
                self.span(&loc, pi, span, resource, scope);
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
                name: self.intern(name),
                version: self.intern(version),
                schema_url: self.intern(&ils.schema_url),
                ..Scope::default()
            };
            let scope = self.b.arena.push_scope(scope);
            for (pi, span) in ils.spans.iter().enumerate() {
                self.span(&loc, pi, span, resource, scope);
            }
        }
    }

    /// Reports every pending diagnostic at `location` (built only when there is one).
    fn flush(&mut self, location: impl FnOnce() -> String, span_id: Option<&[u8]>) {
        if self.pending.is_empty() {
            return;
        }
        let location = location();
        let sid = span_id.map(hex);
        for (kind, field, message) in self.pending.drain(..) {
            self.b
                .diagnostics
                .add(kind, location.as_str(), sid.as_deref(), Some(field), message);
        }
    }

    fn pend(&mut self, kind: DiagnosticKind, field: &'static str, message: impl Into<String>) {
        self.pending.push((kind, field, message.into()));
    }

    fn intern(&mut self, s: &str) -> StrId {
        self.cache.intern(&mut self.b.arena, s)
    }

    fn span(&mut self, scope_loc: &str, pi: usize, s: &wire::Span, resource: u32, scope: u32) {
        let location = || format!("{scope_loc}.spans[{pi}]");
        let Some((trace_id, _)) = id_bytes::<16>(&s.trace_id) else {
            let msg = if s.trace_id.is_empty() {
                "span has no trace id; skipped".to_string()
            } else {
                format!(
                    "trace id has {} bytes, expected 16; span skipped",
                    s.trace_id.len()
                )
            };
            self.pend(DiagnosticKind::MissingTraceId, "traceId", msg);
            self.flush(location, Some(&s.span_id));
            self.b.diagnostics.spans_skipped += 1;
            return;
        };
        let Some((span_id, _)) = id_bytes::<8>(&s.span_id) else {
            let msg = if s.span_id.is_empty() {
                "span has no span id; skipped".to_string()
            } else {
                format!("span id has {} bytes, expected 8; span skipped", s.span_id.len())
            };
            self.pend(DiagnosticKind::MissingSpanId, "spanId", msg);
            self.flush(location, Some(&s.span_id));
            self.b.diagnostics.spans_skipped += 1;
            return;
        };
        let trace_id = TraceId(trace_id);
        let span_id = SpanId(span_id);
        if trace_id.is_zero() {
            self.pend(DiagnosticKind::ZeroId, "traceId", "all-zero trace id kept as is");
        }
        if span_id.is_zero() {
            self.pend(DiagnosticKind::ZeroId, "spanId", "all-zero span id kept as is");
        }
        let parent_span_id = match id_bytes::<8>(&s.parent_span_id) {
            Some((p, _)) if p != [0u8; 8] => Some(SpanId(p)),
            Some(_) => None,
            None => {
                if !s.parent_span_id.is_empty() {
                    let msg = format!("parent span id has {} bytes; ignored", s.parent_span_id.len());
                    self.pend(DiagnosticKind::InvalidField, "parentSpanId", msg);
                }
                None
            }
        };
        let kind = SpanKind::from_i64(i64::from(s.kind)).unwrap_or_else(|| {
            self.pend(
                DiagnosticKind::InvalidField,
                "kind",
                format!("unknown span kind {}; taken as unspecified", s.kind),
            );
            SpanKind::Unspecified
        });
        let (status_code, status_message) = match &s.status {
            Some(st) => {
                let code = StatusCode::from_i64(i64::from(st.code)).unwrap_or_else(|| {
                    self.pend(
                        DiagnosticKind::InvalidField,
                        "status.code",
                        format!("unknown status code {}; taken as unset", st.code),
                    );
                    StatusCode::Unset
                });
                (code, st.message.as_str())
            }
            None => (StatusCode::Unset, ""),
        };
        if s.end_time_unix_nano < s.start_time_unix_nano {
            self.pend(
                DiagnosticKind::NegativeDuration,
                "endTimeUnixNano",
                "end before start; duration taken as 0",
            );
        }
        let attrs = self.attrs(&s.attributes, "attributes");
        let mut events = Vec::with_capacity(s.events.len());
        for e in &s.events {
            let attrs = self.attrs(&e.attributes, "events.attributes");
            events.push(Event {
                time_unix_nanos: e.time_unix_nano,
                name: self.intern(&e.name),
                attrs,
                dropped_attributes_count: e.dropped_attributes_count,
            });
        }
        let mut links = Vec::with_capacity(s.links.len());
        for l in &s.links {
            let (Some((t, _)), Some((sp, _))) = (id_bytes::<16>(&l.trace_id), id_bytes::<8>(&l.span_id))
            else {
                self.pend(
                    DiagnosticKind::InvalidField,
                    "links",
                    "link without a valid trace id and span id; dropped",
                );
                continue;
            };
            let attrs = self.attrs(&l.attributes, "links.attributes");
            links.push(Link {
                trace_id: TraceId(t),
                span_id: SpanId(sp),
                trace_state: self.intern(&l.trace_state),
                attrs,
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            });
        }
        let name = self.intern(&s.name);
        let status_message = self.intern(status_message);
        let trace_state = self.intern(&s.trace_state);
        self.flush(location, Some(&s.span_id));
        let arena = &mut self.b.arena;
        let span = Span {
            trace_id,
            span_id,
            parent_span_id,
            name,
            kind,
            status_code,
            status_message,
            start_unix_nanos: s.start_time_unix_nano,
            end_unix_nanos: s.end_time_unix_nano,
            attrs,
            events: arena.push_events(&events),
            links: arena.push_links(&links),
            resource,
            scope,
            trace_state,
            flags: s.flags,
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
            ..Span::default()
        };
        self.b.push_span(span);
    }

    fn attrs(&mut self, kvs: &[wire::KeyValue], field: &'static str) -> Range32 {
        let base = self.kv_stack.len();
        for kv in kvs {
            if kv.key.is_empty() {
                self.pend(
                    DiagnosticKind::InvalidAttribute,
                    field,
                    "attribute without a key; dropped",
                );
                continue;
            }
            let value = self.value(kv.value.as_ref(), 0);
            let key = self.intern(&kv.key);
            self.kv_stack.push(KeyValue { key, value });
        }
        let range = self.b.arena.push_kvs(self.kv_stack.get(base..).unwrap_or(&[]));
        self.kv_stack.truncate(base);
        range
    }

    fn value(&mut self, v: Option<&wire::AnyValue>, depth: u32) -> Value {
        use wire::AnyValueKind as K;
        let Some(kind) = v.and_then(|v| v.value.as_ref()) else {
            return Value::Empty;
        };
        match kind {
            K::StringValue(s) => Value::Str(self.intern(s)),
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
                let base = self.kv_stack.len();
                for kv in &l.values {
                    let value = self.value(kv.value.as_ref(), depth + 1);
                    let key = self.intern(&kv.key);
                    self.kv_stack.push(KeyValue { key, value });
                }
                let range = self.b.arena.push_kvs(self.kv_stack.get(base..).unwrap_or(&[]));
                self.kv_stack.truncate(base);
                Value::KvList(range)
            }
        }
    }
}

#[cfg(test)]
mod tests;
