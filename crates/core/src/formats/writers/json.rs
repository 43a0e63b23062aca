//! JSON writers: spec OTLP JSON and Tempo's protobuf-JSON flavour, written by hand into one
//! `String` (no intermediate tree). Key order is the `.proto` declaration order, which is what
//! protobuf-JSON marshallers (and so Tempo) produce. See the parent module for the rules.

use super::group_spans;
use crate::model::{Arena, KeyValue, Range32, Span, SpanId, SpanKind, StatusCode, TraceId, TraceSet, Value};
use base64::Engine;
use std::fmt::Write;

/// Extra top-level fields of a Tempo v2 trace-by-id response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TempoV2Meta {
    /// `metrics.inspectedBytes`; `None` leaves `metrics` out.
    pub inspected_bytes: Option<u64>,
    /// When set, `"status":"PARTIAL"` and this `message` are added.
    pub partial_message: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// OTLP/JSON per the OTLP specification.
    Otlp,
    /// Tempo's gogo-jsonpb output.
    Tempo,
}

/// Spec OTLP JSON of the given spans.
pub fn spans_to_otlp_json(set: &TraceSet, spans: &[u32]) -> String {
    let mut w = Writer::new(set, Style::Otlp, spans.len());
    w.out.push_str("{\"resourceSpans\":");
    w.resource_spans(spans);
    w.out.push('}');
    w.out
}

/// Tempo v1 (`{"batches":[...]}`) of the given spans.
pub fn spans_to_tempo_v1_json(set: &TraceSet, spans: &[u32]) -> String {
    let mut w = Writer::new(set, Style::Tempo, spans.len());
    w.out.push_str("{\"batches\":");
    w.resource_spans(spans);
    w.out.push('}');
    w.out
}

/// Tempo v2 (`{"trace":{"resourceSpans":[...]},...}`) of the given spans. No spans gives
/// `{"trace":{}}`, as Tempo answers for an unknown id.
pub fn spans_to_tempo_v2_json(set: &TraceSet, spans: &[u32], meta: &TempoV2Meta) -> String {
    let mut w = Writer::new(set, Style::Tempo, spans.len());
    w.out.push_str("{\"trace\":{");
    if spans.iter().any(|&i| set.span(i).is_some()) {
        w.out.push_str("\"resourceSpans\":");
        w.resource_spans(spans);
    }
    w.out.push('}');
    if let Some(bytes) = meta.inspected_bytes {
        if bytes == 0 {
            w.out.push_str(",\"metrics\":{}");
        } else {
            let _ = write!(w.out, ",\"metrics\":{{\"inspectedBytes\":\"{bytes}\"}}");
        }
    }
    if let Some(message) = &meta.partial_message {
        w.out.push_str(",\"status\":\"PARTIAL\"");
        if !message.is_empty() {
            w.out.push_str(",\"message\":");
            w.string(message);
        }
    }
    w.out.push('}');
    w.out
}

struct Writer<'a> {
    set: &'a TraceSet,
    arena: &'a Arena,
    style: Style,
    out: String,
}

impl<'a> Writer<'a> {
    fn new(set: &'a TraceSet, style: Style, spans: usize) -> Self {
        Writer {
            set,
            arena: &set.arena,
            style,
            out: String::with_capacity(64 + spans * 900),
        }
    }

    fn resource_spans(&mut self, spans: &[u32]) {
        let groups = group_spans(self.set, spans);
        self.out.push('[');
        for (gi, group) in groups.iter().enumerate() {
            if gi > 0 {
                self.out.push(',');
            }
            let resource = self
                .arena
                .resources
                .get(group.resource as usize)
                .copied()
                .unwrap_or_default();
            self.out.push_str("{\"resource\":{");
            let mut first = true;
            if !resource.attrs.is_empty() {
                self.out.push_str("\"attributes\":");
                self.attrs(resource.attrs);
                first = false;
            }
            self.count(
                &mut first,
                "droppedAttributesCount",
                resource.dropped_attributes_count,
            );
            self.out.push_str("},\"scopeSpans\":[");
            for (si, (scope_index, members)) in group.scopes.iter().enumerate() {
                if si > 0 {
                    self.out.push(',');
                }
                self.scope_spans(*scope_index, members);
            }
            self.out.push(']');
            // Tempo does not keep schema URLs (observed on Tempo 3.1).
            if !resource.schema_url.is_empty() && self.style == Style::Otlp {
                self.out.push_str(",\"schemaUrl\":");
                self.string(self.arena.str(resource.schema_url));
            }
            self.out.push('}');
        }
        self.out.push(']');
    }

    fn scope_spans(&mut self, scope_index: u32, members: &[u32]) {
        let scope = self
            .arena
            .scopes
            .get(scope_index as usize)
            .copied()
            .unwrap_or_default();
        self.out.push('{');
        let scope_empty = scope.name.is_empty()
            && scope.version.is_empty()
            && scope.attrs.is_empty()
            && scope.dropped_attributes_count == 0;
        if !scope_empty || self.style == Style::Tempo {
            self.out.push_str("\"scope\":{");
            let mut first = true;
            if !scope.name.is_empty() {
                self.key(&mut first, "name");
                self.string(self.arena.str(scope.name));
            }
            if !scope.version.is_empty() {
                self.key(&mut first, "version");
                self.string(self.arena.str(scope.version));
            }
            if !scope.attrs.is_empty() {
                self.key(&mut first, "attributes");
                self.attrs(scope.attrs);
            }
            self.count(
                &mut first,
                "droppedAttributesCount",
                scope.dropped_attributes_count,
            );
            self.out.push_str("},");
        }
        self.out.push_str("\"spans\":[");
        for (k, &i) in members.iter().enumerate() {
            if k > 0 {
                self.out.push(',');
            }
            if let Some(span) = self.set.span(i) {
                self.span(span);
            }
        }
        self.out.push(']');
        // Tempo does not keep the scope's schema URL (observed on Tempo 3.1).
        if !scope.schema_url.is_empty() && self.style == Style::Otlp {
            self.out.push_str(",\"schemaUrl\":");
            self.string(self.arena.str(scope.schema_url));
        }
        self.out.push('}');
    }

    fn span(&mut self, s: &Span) {
        self.out.push_str("{\"traceId\":");
        self.trace_id(s.trace_id);
        self.out.push_str(",\"spanId\":");
        self.span_id(s.span_id);
        if !s.trace_state.is_empty() {
            self.out.push_str(",\"traceState\":");
            self.string(self.arena.str(s.trace_state));
        }
        if let Some(p) = s.parent_span_id {
            self.out.push_str(",\"parentSpanId\":");
            self.span_id(p);
        }
        if s.flags != 0 && self.style == Style::Otlp {
            let _ = write!(self.out, ",\"flags\":{}", s.flags);
        }
        if !s.name.is_empty() {
            self.out.push_str(",\"name\":");
            self.string(self.arena.str(s.name));
        }
        if s.kind != SpanKind::Unspecified {
            match self.style {
                Style::Otlp => {
                    let _ = write!(self.out, ",\"kind\":{}", s.kind as u8);
                }
                Style::Tempo => {
                    let _ = write!(self.out, ",\"kind\":\"{}\"", s.kind.enum_name());
                }
            }
        }
        let _ = write!(
            self.out,
            ",\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\"",
            s.start_unix_nanos, s.end_unix_nanos
        );
        let mut first = false;
        if !s.attrs.is_empty() {
            self.out.push_str(",\"attributes\":");
            self.attrs(s.attrs);
        }
        self.count(&mut first, "droppedAttributesCount", s.dropped_attributes_count);
        if !s.events.is_empty() {
            self.out.push_str(",\"events\":[");
            let mut events: Vec<&crate::model::Event> = self.arena.event_slice(s.events).iter().collect();
            if self.style != Style::Otlp {
                // Tempo returns a span's events sorted by time (stable for equal times).
                events.sort_by_key(|e| e.time_unix_nanos);
            }
            for (k, e) in events.into_iter().enumerate() {
                if k > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{{\"timeUnixNano\":\"{}\"", e.time_unix_nanos);
                if !e.name.is_empty() {
                    self.out.push_str(",\"name\":");
                    self.string(self.arena.str(e.name));
                }
                if !e.attrs.is_empty() {
                    self.out.push_str(",\"attributes\":");
                    self.attrs(e.attrs);
                }
                let mut f = false;
                self.count(&mut f, "droppedAttributesCount", e.dropped_attributes_count);
                self.out.push('}');
            }
            self.out.push(']');
        }
        self.count(&mut first, "droppedEventsCount", s.dropped_events_count);
        if !s.links.is_empty() {
            self.out.push_str(",\"links\":[");
            for (k, l) in self.arena.link_slice(s.links).iter().enumerate() {
                if k > 0 {
                    self.out.push(',');
                }
                self.out.push_str("{\"traceId\":");
                self.trace_id(l.trace_id);
                self.out.push_str(",\"spanId\":");
                self.span_id(l.span_id);
                if !l.trace_state.is_empty() {
                    self.out.push_str(",\"traceState\":");
                    self.string(self.arena.str(l.trace_state));
                }
                if !l.attrs.is_empty() {
                    self.out.push_str(",\"attributes\":");
                    self.attrs(l.attrs);
                }
                let mut f = false;
                self.count(&mut f, "droppedAttributesCount", l.dropped_attributes_count);
                // Tempo drops link flags, as it drops span flags.
                if l.flags != 0 && self.style == Style::Otlp {
                    let _ = write!(self.out, ",\"flags\":{}", l.flags);
                }
                self.out.push('}');
            }
            self.out.push(']');
        }
        self.count(&mut first, "droppedLinksCount", s.dropped_links_count);
        let status_set = s.status_code != StatusCode::Unset || !s.status_message.is_empty();
        if status_set || self.style == Style::Tempo {
            self.out.push_str(",\"status\":{");
            let mut f = true;
            if !s.status_message.is_empty() {
                self.key(&mut f, "message");
                self.string(self.arena.str(s.status_message));
            }
            if s.status_code != StatusCode::Unset {
                self.key(&mut f, "code");
                match self.style {
                    Style::Otlp => {
                        let _ = write!(self.out, "{}", s.status_code as u8);
                    }
                    Style::Tempo => {
                        let _ = write!(self.out, "\"{}\"", s.status_code.enum_name());
                    }
                }
            }
            self.out.push('}');
        }
        self.out.push('}');
    }

    /// Writes `,"name":` (or `"name":` for the first key of an object).
    fn key(&mut self, first: &mut bool, name: &str) {
        if !*first {
            self.out.push(',');
        }
        *first = false;
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
    }

    /// A uint32 count, left out when zero (protobuf-JSON writes uint32 as a number).
    fn count(&mut self, first: &mut bool, name: &str, value: u32) {
        if value != 0 {
            self.key(first, name);
            let _ = write!(self.out, "{value}");
        }
    }

    fn trace_id(&mut self, id: TraceId) {
        self.out.push('"');
        match self.style {
            Style::Otlp => push_hex(&mut self.out, &id.0),
            Style::Tempo => base64::engine::general_purpose::STANDARD.encode_string(id.0, &mut self.out),
        }
        self.out.push('"');
    }

    fn span_id(&mut self, id: SpanId) {
        self.out.push('"');
        match self.style {
            Style::Otlp => push_hex(&mut self.out, &id.0),
            Style::Tempo => base64::engine::general_purpose::STANDARD.encode_string(id.0, &mut self.out),
        }
        self.out.push('"');
    }

    fn attrs(&mut self, r: Range32) {
        self.kv_list(self.arena.kv_slice(r), 0);
    }

    fn kv_list(&mut self, kvs: &[KeyValue], depth: u32) {
        self.out.push('[');
        for (k, kv) in kvs.iter().enumerate() {
            if k > 0 {
                self.out.push(',');
            }
            self.out.push_str("{\"key\":");
            self.string(self.arena.str(kv.key));
            self.out.push_str(",\"value\":");
            self.value(kv.value, depth);
            self.out.push('}');
        }
        self.out.push(']');
    }

    fn value(&mut self, v: Value, depth: u32) {
        match v {
            Value::Empty => self.out.push_str("{}"),
            Value::Str(s) => {
                self.out.push_str("{\"stringValue\":");
                self.string(self.arena.str(s));
                self.out.push('}');
            }
            Value::Bool(b) => {
                let _ = write!(self.out, "{{\"boolValue\":{b}}}");
            }
            Value::Int(i) => {
                let _ = write!(self.out, "{{\"intValue\":\"{i}\"}}");
            }
            Value::Double(d) => {
                self.out.push_str("{\"doubleValue\":");
                push_double(&mut self.out, d);
                self.out.push('}');
            }
            Value::Bytes(r) => {
                self.out.push_str("{\"bytesValue\":\"");
                base64::engine::general_purpose::STANDARD
                    .encode_string(self.arena.byte_slice(r), &mut self.out);
                self.out.push_str("\"}");
            }
            Value::Array(r) => {
                self.out.push_str("{\"arrayValue\":{");
                let values = self.arena.value_slice(r);
                if !values.is_empty() && depth < 64 {
                    self.out.push_str("\"values\":[");
                    for (k, item) in values.iter().enumerate() {
                        if k > 0 {
                            self.out.push(',');
                        }
                        self.value(*item, depth + 1);
                    }
                    self.out.push(']');
                }
                self.out.push_str("}}");
            }
            Value::KvList(r) => {
                self.out.push_str("{\"kvlistValue\":{");
                let kvs = self.arena.kv_slice(r);
                if !kvs.is_empty() && depth < 64 {
                    self.out.push_str("\"values\":");
                    self.kv_list(kvs, depth + 1);
                }
                self.out.push_str("}}");
            }
        }
    }

    fn string(&mut self, s: &str) {
        push_json_string(&mut self.out, s, self.style == Style::Tempo);
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[(b >> 4) as usize]));
        out.push(char::from(DIGITS[(b & 0x0f) as usize]));
    }
}

/// A double as protobuf-JSON writes it: shortest round-trip digits, no `.0` on integers, Go's
/// exponent form outside `[1e-6, 1e21)`, and the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn push_double(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("\"NaN\"");
    } else if d.is_infinite() {
        out.push_str(if d > 0.0 { "\"Infinity\"" } else { "\"-Infinity\"" });
    } else {
        let abs = d.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let text = format!("{d:e}");
            match text.split_once('e') {
                Some((mantissa, exp)) if !exp.starts_with('-') => {
                    let _ = write!(out, "{mantissa}e+{exp}");
                }
                _ => out.push_str(&text),
            }
        } else if d == 0.0 {
            out.push('0');
        } else {
            let _ = write!(out, "{d}");
        }
    }
}

/// Writes a JSON string literal. `html_safe` escapes `<`, `>`, `&`, U+2028 and U+2029 the way
/// Go's encoding/json does.
pub(crate) fn push_json_string(out: &mut String, s: &str, html_safe: bool) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' if html_safe => Some("\\u003c"),
            '>' if html_safe => Some("\\u003e"),
            '&' if html_safe => Some("\\u0026"),
            '\u{2028}' if html_safe => Some("\\u2028"),
            '\u{2029}' if html_safe => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        match escape {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}
