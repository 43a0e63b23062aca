//! Reader for Jaeger query-service / UI JSON (`shared/fixtures/FORMATS.md` section 3).
//!
//! Accepted envelopes: `{"data": [trace, ...], "total", "limit", "offset", "errors"}` (the
//! `/api/traces` response and the UI's "Trace JSON" download), `{"data": {trace}}`, a bare trace
//! object `{"traceID", "spans", "processes", "warnings"}`, and a JSON array of trace objects.
//! Unknown keys anywhere (`_comment`, `warnings` on spans, the UI's `relativeStartTime`, `depth`,
//! `hasChildren`, nested `span` objects inside references, ...) are ignored.
//!
//! Mapping into the model (decisions written down here):
//! - `processes[processID]` becomes a resource: `serviceName` is the service name and also the
//!   first attribute (`service.name`), followed by the process tags. A span's inline `process`
//!   object is used when its `processID` is missing or unknown. Each distinct process gives one
//!   resource per document.
//! - Parent: the first `CHILD_OF` reference within the same trace; failing that, the first
//!   `FOLLOWS_FROM` within the same trace; failing that, the deprecated `parentSpanID` field
//!   (an all-zero value means "none"). A reference without `traceID` is taken to be in the same
//!   trace; one without `refType` is `CHILD_OF` (Jaeger's default). Every other reference (into
//!   another trace, or not chosen as the parent) becomes a link with the attribute
//!   `opentracing.ref_type` = `child_of` / `follows_from`.
//! - Times: `startTime` and `duration` are microseconds, multiplied by 1000 with checked integer
//!   math. A span without a readable `startTime` is skipped (`invalid_time`); a missing duration
//!   is taken as 0 (`invalid_time`), a negative one as 0 (`negative_duration`).
//! - Tags become typed attributes (`string`, `bool` incl. the strings `"true"`/`"false"`,
//!   `int64` as a JSON number or a decimal string, `float64`, `binary` as base64). An unknown or
//!   missing `type` is inferred from the JSON value. A value that does not fit its type is
//!   dropped (`invalid_attribute`).
//! - Tags that the model has a field for are moved into that field and **removed** from the
//!   attributes, as Jaeger's own OTLP translator does: `span.kind` → kind, `error` (true/false)
//!   and `otel.status_code` / `otel.status_description` → status (`otel.status_code` wins over
//!   `error`), `otel.scope.name` / `otel.library.name` and their `.version` → scope,
//!   `w3c.tracestate` → trace state. A tag with an unreadable value is kept as an attribute.
//! - Logs become events: the string field `event` names the event (or, without it, the field
//!   `message`); the remaining fields are its attributes. A log without a timestamp is placed at
//!   the span start (`invalid_time`).
//! - Ids that are neither hex nor base64 (`"span-1"`) are hashed (`opaque_id`, reported once per
//!   distinct id string per document).
//! - Trace-level `warnings` go to the diagnostics' document warnings (the first 20 per
//!   document); span-level ones are ignored.
//!
//! Not here: deciding whether bytes are Jaeger JSON at all when no format was given (see
//! `detect`), assembling trees (`model::assemble`).

use super::detect::strip_bom;
use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Link, Resource, Scope, Span, SpanId, SpanKind, StatusCode, StrId, TraceId,
    TraceSetBuilder, Value,
};
use base64::Engine;
use serde_json::{Map, Value as J};
use std::collections::{HashMap, HashSet};

/// Reads one Jaeger JSON document into the builder, or says why it is not one.
pub(crate) fn read(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    let doc: J = serde_json::from_slice(strip_bom(bytes)).map_err(|e| format!("not valid JSON: {e}"))?;
    let (traces, bad_elements) = collect_traces(&doc)?;
    let mut reader = Reader {
        b: builder,
        scopes: HashMap::new(),
        inline_processes: HashMap::new(),
        opaque_seen: HashSet::new(),
        warnings_kept: 0,
    };
    for location in bad_elements {
        reader.b.diagnostics.add(
            DiagnosticKind::InvalidDocument,
            location,
            None,
            None,
            "not a Jaeger trace object (no spans array); skipped",
        );
    }
    for (trace, location) in traces {
        reader.read_trace(trace, &location);
    }
    Ok(())
}

type Traces<'a> = Vec<(&'a Map<String, J>, String)>;

/// Finds the trace objects of a document, with their JSON path; also the paths of elements that
/// are not trace objects. `Err` when the document is not Jaeger JSON.
fn collect_traces(doc: &J) -> Result<(Traces<'_>, Vec<String>), String> {
    const NO_SPANS: &str = "no data[].spans";
    let mut traces = Vec::new();
    let mut bad = Vec::new();
    match doc {
        J::Object(obj) => {
            if let Some(data) = obj.get("data") {
                match data {
                    J::Array(items) => {
                        collect_list(items, "data", &mut traces, &mut bad);
                        if traces.is_empty() && !items.is_empty() {
                            return Err(NO_SPANS.to_string());
                        }
                    }
                    J::Object(trace) if is_trace(trace) => traces.push((trace, "data".to_string())),
                    J::Null => return Err(error_response(obj).unwrap_or_else(|| NO_SPANS.to_string())),
                    _ => return Err(NO_SPANS.to_string()),
                }
            } else if is_bare_trace(obj) {
                traces.push((obj, String::new()));
            } else {
                return Err(NO_SPANS.to_string());
            }
        }
        J::Array(items) => {
            collect_list(items, "", &mut traces, &mut bad);
            if traces.is_empty() {
                return Err("not a Jaeger trace list (no element has spans)".to_string());
            }
        }
        _ => return Err(NO_SPANS.to_string()),
    }
    Ok((traces, bad))
}

fn collect_list<'a>(items: &'a [J], prefix: &str, traces: &mut Traces<'a>, bad: &mut Vec<String>) {
    for (i, item) in items.iter().enumerate() {
        let location = format!("{prefix}[{i}]");
        match item {
            J::Object(trace) if is_trace(trace) => traces.push((trace, location)),
            _ => bad.push(location),
        }
    }
}

fn is_trace(obj: &Map<String, J>) -> bool {
    matches!(obj.get("spans"), Some(J::Array(_)) | Some(J::Null))
}

/// A top-level object that is itself a trace: `spans` plus `traceID` or `processes`, or spans
/// that look like Jaeger spans.
fn is_bare_trace(obj: &Map<String, J>) -> bool {
    let Some(J::Array(spans)) = obj.get("spans") else {
        return false;
    };
    if obj.contains_key("traceID") || obj.contains_key("processes") {
        return true;
    }
    spans
        .first()
        .and_then(J::as_object)
        .is_some_and(|s| s.contains_key("spanID") || s.contains_key("operationName"))
}

/// The reason for a Jaeger error response (`{"data": null, "errors": [{"code", "msg"}]}`).
fn error_response(obj: &Map<String, J>) -> Option<String> {
    let errors = obj.get("errors")?.as_array()?;
    let texts: Vec<String> = errors
        .iter()
        .map(|e| {
            let code = e.get("code").map(|c| c.to_string()).unwrap_or_default();
            let msg = e.get("msg").and_then(J::as_str).unwrap_or("");
            format!("{code} {msg}").trim().to_string()
        })
        .collect();
    if texts.is_empty() {
        return None;
    }
    Some(format!(
        "a Jaeger error response without data: {}",
        texts.join("; ")
    ))
}

struct Reader<'b> {
    b: &'b mut TraceSetBuilder,
    /// (scope name, version) → scope index.
    scopes: HashMap<(StrId, StrId), u32>,
    /// Inline `process` objects (as JSON text) → resource index.
    inline_processes: HashMap<String, u32>,
    /// Opaque id strings already reported (each is reported once per document).
    opaque_seen: HashSet<String>,
    /// Trace warnings seen so far in this document.
    warnings_kept: usize,
}

/// Most trace-level warnings copied into the diagnostics per document.
const MAX_WARNINGS: usize = 20;

/// What the special tags of a span said.
#[derive(Default)]
struct SpanTags {
    kind: Option<SpanKind>,
    error: Option<bool>,
    otel_status: Option<StatusCode>,
    status_message: Option<String>,
    scope_name: Option<String>,
    scope_version: Option<String>,
    trace_state: Option<String>,
}

impl Reader<'_> {
    fn read_trace(&mut self, trace: &Map<String, J>, location: &str) {
        let trace_id_text = trace.get("traceID").and_then(J::as_str).unwrap_or("");
        if let Some(J::Array(warnings)) = trace.get("warnings") {
            let label = if trace_id_text.is_empty() {
                "?"
            } else {
                trace_id_text
            };
            for w in warnings.iter().filter_map(J::as_str) {
                if self.warnings_kept < MAX_WARNINGS {
                    self.b
                        .diagnostics
                        .warnings
                        .push(format!("Jaeger trace {label}: {w}"));
                } else if self.warnings_kept == MAX_WARNINGS {
                    self.b
                        .diagnostics
                        .warnings
                        .push("more Jaeger trace warnings were left out".to_string());
                }
                self.warnings_kept = self.warnings_kept.saturating_add(1);
            }
        }
        let processes = trace.get("processes").and_then(J::as_object);
        let mut process_resources: HashMap<&str, u32> = HashMap::new();
        let Some(J::Array(spans)) = trace.get("spans") else {
            return;
        };
        for (i, span) in spans.iter().enumerate() {
            let loc = if location.is_empty() {
                format!("spans[{i}]")
            } else {
                format!("{location}.spans[{i}]")
            };
            let Some(span) = span.as_object() else {
                self.skip(
                    DiagnosticKind::InvalidField,
                    &loc,
                    None,
                    None,
                    "span is not an object",
                );
                continue;
            };
            // Resource: processID into `processes`, else the inline process.
            let process_key = span.get("processID").and_then(J::as_str);
            let resource = match process_key.and_then(|k| processes.and_then(|p| p.get_key_value(k))) {
                Some((key, process)) => match process_resources.get(key.as_str()) {
                    Some(&r) => Some(r),
                    None => {
                        let r = self.resource(process);
                        process_resources.insert(key.as_str(), r);
                        Some(r)
                    }
                },
                None => None,
            };
            let resource = match (resource, span.get("process")) {
                (Some(r), _) => r,
                (None, Some(process @ J::Object(_))) => {
                    let key = process.to_string();
                    match self.inline_processes.get(&key) {
                        Some(&r) => r,
                        None => {
                            let r = self.resource(process);
                            self.inline_processes.insert(key, r);
                            r
                        }
                    }
                }
                (None, _) => {
                    if process_key.is_some() {
                        self.b.diagnostics.add(
                            DiagnosticKind::InvalidField,
                            &loc,
                            None,
                            Some("processID"),
                            "processID names no process; the span has no service",
                        );
                    }
                    self.empty_resource(&mut process_resources)
                }
            };
            self.read_span(span, trace_id_text, resource, &loc);
        }
    }

    fn skip(
        &mut self,
        kind: DiagnosticKind,
        loc: &str,
        span_id: Option<&str>,
        field: Option<&str>,
        msg: &str,
    ) {
        self.b.diagnostics.spans_skipped += 1;
        self.b.diagnostics.add(kind, loc, span_id, field, msg);
    }

    /// The resource for spans without any process (one per trace, under an impossible key).
    fn empty_resource(&mut self, cache: &mut HashMap<&str, u32>) -> u32 {
        const KEY: &str = "\u{0}no process";
        if let Some(&r) = cache.get(KEY) {
            return r;
        }
        let r = self.b.arena.push_resource(Resource::default());
        cache.insert(KEY, r);
        r
    }

    fn resource(&mut self, process: &J) -> u32 {
        let service = process
            .get("serviceName")
            .and_then(J::as_str)
            .unwrap_or("")
            .trim();
        let service_name = self.b.arena.intern(service);
        let mut attrs = Vec::new();
        if !service_name.is_empty() {
            attrs.push(KeyValue {
                key: self.b.arena.intern("service.name"),
                value: Value::Str(service_name),
            });
        }
        if let Some(J::Array(tags)) = process.get("tags") {
            for (i, tag) in tags.iter().enumerate() {
                if let Some(kv) = self.tag(tag, "process.tags", i, None) {
                    attrs.push(kv);
                }
            }
        }
        let attrs = self.b.arena.push_kvs(&attrs);
        self.b.arena.push_resource(Resource {
            service_name,
            attrs,
            ..Default::default()
        })
    }

    fn scope(&mut self, name: &str, version: &str) -> u32 {
        let key = (self.b.arena.intern(name), self.b.arena.intern(version));
        if let Some(&s) = self.scopes.get(&key) {
            return s;
        }
        let s = self.b.arena.push_scope(Scope {
            name: key.0,
            version: key.1,
            ..Default::default()
        });
        self.scopes.insert(key, s);
        s
    }

    fn span_id(&mut self, text: &str, loc: &str, field: &str) -> Option<SpanId> {
        let (id, enc) = SpanId::parse_any(text).ok()?;
        if enc == IdEncoding::Hashed && self.opaque_seen.insert(text.to_string()) {
            self.b.diagnostics.add(
                DiagnosticKind::OpaqueId,
                loc,
                Some(text),
                Some(field),
                "span id is not hex: hashed to stable bytes",
            );
        }
        Some(id)
    }

    fn trace_id(&mut self, text: &str, loc: &str, span_id: &str, field: &str) -> Option<TraceId> {
        let (id, enc) = TraceId::parse_any(text).ok()?;
        if enc == IdEncoding::Hashed && self.opaque_seen.insert(text.to_string()) {
            self.b.diagnostics.add(
                DiagnosticKind::OpaqueId,
                loc,
                Some(span_id),
                Some(field),
                format!("trace id {text:?} is not hex: hashed to stable bytes"),
            );
        }
        Some(id)
    }

    fn read_span(&mut self, span: &Map<String, J>, trace_default: &str, resource: u32, loc: &str) {
        let span_id_text = span.get("spanID").and_then(J::as_str).unwrap_or("");
        let trace_id_text = match span.get("traceID").and_then(J::as_str) {
            Some(t) if !t.trim().is_empty() => t,
            _ => trace_default,
        };
        let sid = (!span_id_text.trim().is_empty()).then_some(span_id_text);
        if trace_id_text.trim().is_empty() {
            self.skip(
                DiagnosticKind::MissingTraceId,
                loc,
                sid,
                Some("traceID"),
                "span has no trace id",
            );
            return;
        }
        let Some(span_id_text) = sid else {
            self.skip(
                DiagnosticKind::MissingSpanId,
                loc,
                None,
                Some("spanID"),
                "span has no span id",
            );
            return;
        };
        let Some(trace_id) = self.trace_id(trace_id_text, loc, span_id_text, "traceID") else {
            self.skip(
                DiagnosticKind::MissingTraceId,
                loc,
                sid,
                Some("traceID"),
                "span has no trace id",
            );
            return;
        };
        let Some(span_id) = self.span_id(span_id_text, loc, "spanID") else {
            self.skip(
                DiagnosticKind::MissingSpanId,
                loc,
                None,
                Some("spanID"),
                "span has no span id",
            );
            return;
        };
        if trace_id.is_zero() {
            self.b.diagnostics.add(
                DiagnosticKind::ZeroId,
                loc,
                sid,
                Some("traceID"),
                "all-zero trace id kept as is",
            );
        }

        // Times.
        let start = match span.get("startTime").map(micros_to_nanos) {
            Some(Ok(t)) => t,
            other => {
                let why = match other {
                    Some(Err(e)) => format!("startTime {e}; span skipped"),
                    _ => "span has no startTime; span skipped".to_string(),
                };
                self.skip(DiagnosticKind::InvalidTime, loc, sid, Some("startTime"), &why);
                return;
            }
        };
        let duration = match span.get("duration").map(micros_to_nanos) {
            Some(Ok(d)) => d,
            Some(Err(TimeError::Negative)) => {
                self.b.diagnostics.add(
                    DiagnosticKind::NegativeDuration,
                    loc,
                    sid,
                    Some("duration"),
                    "negative duration taken as 0",
                );
                0
            }
            Some(Err(e)) => {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidTime,
                    loc,
                    sid,
                    Some("duration"),
                    format!("duration {e}; taken as 0"),
                );
                0
            }
            None => {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidTime,
                    loc,
                    sid,
                    Some("duration"),
                    "span has no duration; taken as 0",
                );
                0
            }
        };
        let end = start.saturating_add(duration);

        // References: the parent, and links for the rest.
        let (parent, links) = self.references(span, trace_id, loc);
        let parent = parent.or_else(|| {
            let text = span.get("parentSpanID").and_then(J::as_str)?;
            let (id, _) = SpanId::parse_any(text).ok()?;
            (!id.is_zero()).then_some(id)
        });
        let links = self.b.arena.push_links(&links);

        // Tags.
        let mut special = SpanTags::default();
        let mut attrs = Vec::new();
        if let Some(J::Array(tags)) = span.get("tags") {
            for (i, tag) in tags.iter().enumerate() {
                let tag_loc = format!("{loc}.tags");
                if let Some(kv) = self.tag(tag, &tag_loc, i, Some(&mut special)) {
                    attrs.push(kv);
                }
            }
        }
        let attrs = self.b.arena.push_kvs(&attrs);

        // Logs.
        let mut events = Vec::new();
        if let Some(J::Array(logs)) = span.get("logs") {
            for (i, log) in logs.iter().enumerate() {
                if let Some(event) = self.log(log, start, &format!("{loc}.logs[{i}]"), span_id_text) {
                    events.push(event);
                }
            }
        }
        let events = self.b.arena.push_events(&events);

        let (status_code, status_message) = match (special.otel_status, special.error) {
            (Some(code), _) => (code, special.status_message.as_deref().unwrap_or("")),
            (None, Some(true)) => (StatusCode::Error, special.status_message.as_deref().unwrap_or("")),
            _ => (StatusCode::Unset, special.status_message.as_deref().unwrap_or("")),
        };
        let status_message = self.b.arena.intern(status_message);
        let scope = self.scope(
            special.scope_name.as_deref().unwrap_or(""),
            special.scope_version.as_deref().unwrap_or(""),
        );
        let trace_state = self.b.arena.intern(special.trace_state.as_deref().unwrap_or(""));
        let name = self
            .b
            .arena
            .intern(span.get("operationName").and_then(J::as_str).unwrap_or(""));
        let flags = match span.get("flags") {
            None | Some(J::Null) => 0,
            Some(f) => match f.as_u64().and_then(|f| u32::try_from(f).ok()) {
                Some(f) => f,
                None => {
                    self.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        loc,
                        sid,
                        Some("flags"),
                        "flags is not a 32-bit unsigned integer; ignored",
                    );
                    0
                }
            },
        };
        self.b.push_span(Span {
            trace_id,
            span_id,
            parent_span_id: parent,
            name,
            kind: special.kind.unwrap_or(SpanKind::Unspecified),
            status_code,
            status_message,
            start_unix_nanos: start,
            end_unix_nanos: end,
            attrs,
            events,
            links,
            resource,
            scope,
            trace_state,
            flags,
            ..Default::default()
        });
    }

    /// The parent (first same-trace CHILD_OF, else first same-trace FOLLOWS_FROM) and the other
    /// references as links.
    fn references(
        &mut self,
        span: &Map<String, J>,
        trace_id: TraceId,
        loc: &str,
    ) -> (Option<SpanId>, Vec<Link>) {
        // (is CHILD_OF, trace id, span id)
        let mut refs: Vec<(bool, TraceId, SpanId)> = Vec::new();
        if let Some(J::Array(items)) = span.get("references") {
            for (i, r) in items.iter().enumerate() {
                let rloc = format!("{loc}.references[{i}]");
                let Some(r) = r.as_object() else {
                    self.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        &rloc,
                        None,
                        Some("references"),
                        "reference is not an object; ignored",
                    );
                    continue;
                };
                let child_of = match r.get("refType").and_then(J::as_str) {
                    None => true,
                    Some(t) => !t.trim().eq_ignore_ascii_case("FOLLOWS_FROM"),
                };
                let Some(sid) = r
                    .get("spanID")
                    .and_then(J::as_str)
                    .and_then(|s| self.span_id(s, &rloc, "spanID"))
                else {
                    self.b.diagnostics.add(
                        DiagnosticKind::InvalidField,
                        &rloc,
                        None,
                        Some("spanID"),
                        "reference without a span id; ignored",
                    );
                    continue;
                };
                let tid = match r.get("traceID").and_then(J::as_str) {
                    Some(t) if !t.trim().is_empty() => {
                        self.trace_id(t, &rloc, "", "traceID").unwrap_or(trace_id)
                    }
                    _ => trace_id,
                };
                refs.push((child_of, tid, sid));
            }
        }
        let parent_index = refs
            .iter()
            .position(|&(c, t, _)| c && t == trace_id)
            .or_else(|| refs.iter().position(|&(_, t, _)| t == trace_id));
        let parent = parent_index.and_then(|i| refs.get(i)).map(|r| r.2);
        let ref_type_key = self.b.arena.intern("opentracing.ref_type");
        let mut links = Vec::new();
        for (i, &(child_of, tid, sid)) in refs.iter().enumerate() {
            if Some(i) == parent_index {
                continue;
            }
            let text = self
                .b
                .arena
                .intern(if child_of { "child_of" } else { "follows_from" });
            let attrs = self.b.arena.push_kvs(&[KeyValue {
                key: ref_type_key,
                value: Value::Str(text),
            }]);
            links.push(Link {
                trace_id: tid,
                span_id: sid,
                attrs,
                ..Default::default()
            });
        }
        (parent, links)
    }

    fn log(&mut self, log: &J, span_start: u64, loc: &str, span_id: &str) -> Option<Event> {
        let Some(log) = log.as_object() else {
            self.b.diagnostics.add(
                DiagnosticKind::InvalidField,
                loc,
                Some(span_id),
                Some("logs"),
                "log is not an object; ignored",
            );
            return None;
        };
        let time = match log.get("timestamp").map(micros_to_nanos) {
            Some(Ok(t)) => t,
            _ => {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidTime,
                    loc,
                    Some(span_id),
                    Some("timestamp"),
                    "log without a readable timestamp: placed at the span start",
                );
                span_start
            }
        };
        let fields: &[J] = match log.get("fields") {
            Some(J::Array(f)) => f,
            _ => &[],
        };
        let field_key = |f: &J| f.get("key").and_then(J::as_str).map(str::to_string);
        let field_text = |f: &J| f.get("value").and_then(J::as_str).map(str::to_string);
        let name_index = fields
            .iter()
            .position(|f| field_key(f).as_deref() == Some("event") && field_text(f).is_some())
            .or_else(|| {
                fields
                    .iter()
                    .position(|f| field_key(f).as_deref() == Some("message") && field_text(f).is_some())
            });
        let name = name_index
            .and_then(|i| fields.get(i))
            .and_then(field_text)
            .unwrap_or_default();
        let mut attrs = Vec::new();
        let fields_loc = format!("{loc}.fields");
        for (i, f) in fields.iter().enumerate() {
            if Some(i) == name_index {
                continue;
            }
            if let Some(kv) = self.tag(f, &fields_loc, i, None) {
                attrs.push(kv);
            }
        }
        Some(Event {
            time_unix_nanos: time,
            name: self.b.arena.intern(&name),
            attrs: self.b.arena.push_kvs(&attrs),
            dropped_attributes_count: 0,
        })
    }

    /// Converts one tag. With `special`, tags that map onto model fields are consumed (and
    /// `None` returned for them).
    fn tag(&mut self, tag: &J, loc: &str, index: usize, special: Option<&mut SpanTags>) -> Option<KeyValue> {
        let loc = format!("{loc}[{index}]");
        let Some(obj) = tag.as_object() else {
            self.b.diagnostics.add(
                DiagnosticKind::InvalidAttribute,
                &loc,
                None,
                None,
                "tag is not an object; dropped",
            );
            return None;
        };
        let Some(key) = obj.get("key").and_then(J::as_str) else {
            self.b.diagnostics.add(
                DiagnosticKind::InvalidAttribute,
                &loc,
                None,
                Some("key"),
                "tag without a key; dropped",
            );
            return None;
        };
        let raw = obj.get("value").unwrap_or(&J::Null);
        let ty = obj.get("type").and_then(J::as_str).unwrap_or("");
        let typed = match tag_value(ty, raw) {
            Ok(v) => v,
            Err(why) => {
                self.b.diagnostics.add(
                    DiagnosticKind::InvalidAttribute,
                    &loc,
                    None,
                    Some(key),
                    format!("tag {key:?}: {why}; dropped"),
                );
                return None;
            }
        };
        if let Some(special) = special {
            if consume_special(key, &typed, special) {
                return None;
            }
        }
        let value = match typed {
            TagValue::Empty => Value::Empty,
            TagValue::Str(s) => Value::Str(self.b.arena.intern(&s)),
            TagValue::Bool(b) => Value::Bool(b),
            TagValue::Int(i) => Value::Int(i),
            TagValue::Double(d) => Value::Double(d),
            TagValue::Bytes(bytes) => Value::Bytes(self.b.arena.push_bytes(&bytes)),
        };
        Some(KeyValue {
            key: self.b.arena.intern(key),
            value,
        })
    }
}

/// A tag value before it goes into the arena.
#[derive(Debug, PartialEq)]
enum TagValue {
    Empty,
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
}

/// Moves a special tag into `special`; true when consumed.
fn consume_special(key: &str, value: &TagValue, special: &mut SpanTags) -> bool {
    let text = match value {
        TagValue::Str(s) => Some(s.as_str()),
        _ => None,
    };
    match key {
        "span.kind" => match text.and_then(SpanKind::from_name) {
            Some(kind) => {
                special.kind = Some(kind);
                true
            }
            None => false,
        },
        "error" => match value {
            TagValue::Bool(b) => {
                special.error = Some(*b);
                true
            }
            _ => false,
        },
        "otel.status_code" => match text.and_then(StatusCode::from_name) {
            Some(code) => {
                special.otel_status = Some(code);
                true
            }
            None => false,
        },
        "otel.status_description" => consume_text(text, &mut special.status_message),
        "otel.scope.name" | "otel.library.name" => consume_text(text, &mut special.scope_name),
        "otel.scope.version" | "otel.library.version" => consume_text(text, &mut special.scope_version),
        "w3c.tracestate" => consume_text(text, &mut special.trace_state),
        _ => false,
    }
}

fn consume_text(text: Option<&str>, slot: &mut Option<String>) -> bool {
    match text {
        Some(t) if slot.is_none() => {
            *slot = Some(t.to_string());
            true
        }
        _ => false,
    }
}

/// Reads a tag value by its declared type (any case); an unknown type is inferred.
fn tag_value(ty: &str, raw: &J) -> Result<TagValue, String> {
    let ty = ty.trim().to_ascii_lowercase();
    match ty.as_str() {
        "string" => Ok(match raw {
            J::String(s) => TagValue::Str(s.clone()),
            J::Null => TagValue::Str(String::new()),
            other => TagValue::Str(other.to_string()),
        }),
        "bool" => match raw {
            J::Bool(b) => Ok(TagValue::Bool(*b)),
            J::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(TagValue::Bool(true)),
            J::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(TagValue::Bool(false)),
            _ => Err("bool tag whose value is not a boolean".to_string()),
        },
        "int64" => match raw {
            J::Number(n) => n
                .as_i64()
                .map(TagValue::Int)
                .ok_or_else(|| "int64 tag whose value is not a 64-bit integer".to_string()),
            J::String(s) => s
                .trim()
                .parse::<i64>()
                .map(TagValue::Int)
                .map_err(|_| "int64 tag whose string is not a decimal integer".to_string()),
            _ => Err("int64 tag whose value is not a number".to_string()),
        },
        "float64" => match raw {
            J::Number(n) => n
                .as_f64()
                .map(TagValue::Double)
                .ok_or_else(|| "float64 tag whose value is not a number".to_string()),
            J::String(s) => s
                .trim()
                .parse::<f64>()
                .map(TagValue::Double)
                .map_err(|_| "float64 tag whose string is not a number".to_string()),
            _ => Err("float64 tag whose value is not a number".to_string()),
        },
        "binary" => match raw {
            J::String(s) => decode_base64(s)
                .map(TagValue::Bytes)
                .ok_or_else(|| "binary tag that is not base64".to_string()),
            _ => Err("binary tag whose value is not a base64 string".to_string()),
        },
        _ => Ok(infer(raw)),
    }
}

fn infer(raw: &J) -> TagValue {
    match raw {
        J::Null => TagValue::Empty,
        J::Bool(b) => TagValue::Bool(*b),
        J::String(s) => TagValue::Str(s.clone()),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                TagValue::Int(i)
            } else if n.is_f64() {
                n.as_f64().map(TagValue::Double).unwrap_or(TagValue::Empty)
            } else {
                // A u64 above i64::MAX: keep its digits rather than round through a float.
                TagValue::Str(n.to_string())
            }
        }
        other => TagValue::Str(other.to_string()),
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

/// Why a microsecond value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TimeError {
    #[error("is negative")]
    Negative,
    #[error("is not an integer number of microseconds")]
    NotInteger,
    #[error("overflows 64-bit nanoseconds")]
    Overflow,
}

/// Microseconds (a JSON integer, or a decimal string) to nanoseconds, without floats.
pub(crate) fn micros_to_nanos(v: &J) -> Result<u64, TimeError> {
    let micros = match v {
        J::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u,
            (None, Some(_)) => return Err(TimeError::Negative),
            _ => return Err(TimeError::NotInteger),
        },
        J::String(s) => {
            let s = s.trim();
            if let Some(digits) = s.strip_prefix('-') {
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(TimeError::Negative);
                }
            }
            s.parse::<u64>().map_err(|_| TimeError::NotInteger)?
        }
        _ => return Err(TimeError::NotInteger),
    };
    micros.checked_mul(1000).ok_or(TimeError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OwnedValue, TraceSet};

    fn load(doc: &str) -> TraceSet {
        let mut b = TraceSetBuilder::new();
        read(doc.as_bytes(), &mut b).unwrap();
        b.finish()
    }

    fn attr(set: &TraceSet, span: &Span, key: &str) -> Option<OwnedValue> {
        set.span_attr(span, key).map(|v| set.arena.load_value(v))
    }

    #[test]
    fn envelopes() {
        let trace = r#"{"traceID":"1","spans":[{"traceID":"1","spanID":"2","operationName":"op","startTime":10,"duration":5,"processID":"p1"}],"processes":{"p1":{"serviceName":"svc","tags":[]}}}"#;
        for doc in [
            format!(r#"{{"data":[{trace}],"total":0,"limit":0,"offset":0,"errors":null}}"#),
            format!(r#"{{"data":{trace},"id":"x"}}"#),
            trace.to_string(),
            format!("[{trace}]"),
        ] {
            let set = load(&doc);
            assert_eq!(set.span_count(), 1, "{doc}");
            let s = set.spans()[0];
            assert_eq!(s.start_unix_nanos, 10_000);
            assert_eq!(s.end_unix_nanos, 15_000);
            assert_eq!(set.service_name(&s), "svc");
            assert_eq!(s.trace_id.to_hex(), "00000000000000000000000000000001");
        }
    }

    #[test]
    fn rejections() {
        let mut b = TraceSetBuilder::new();
        for doc in [
            r#"{"resourceSpans":[]}"#,
            r#"[{"traceId":"1","id":"2"}]"#,
            r#"{"data":["svc-a","svc-b"]}"#,
            "not json",
            "42",
        ] {
            assert!(read(doc.as_bytes(), &mut b).is_err(), "{doc}");
        }
        let err = read(
            br#"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}"#,
            &mut b,
        )
        .unwrap_err();
        assert!(err.contains("404 trace not found"), "{err}");
        assert_eq!(b.span_count(), 0);
    }

    #[test]
    fn tags_status_kind_and_logs() {
        let doc = r#"{"traceID":"a","spans":[{"spanID":"b","operationName":"x","startTime":"1700000000000000","duration":3,
          "tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"error","type":"bool","value":"true"},
                  {"key":"big","type":"int64","value":"9223372036854775222"},{"key":"n","type":"int64","value":7},
                  {"key":"f","type":"float64","value":72.5},{"key":"blob","type":"binary","value":"AAAwOQ=="},
                  {"key":"bad","type":"int64","value":"x"},{"key":"otel.scope.name","type":"string","value":"lib"},
                  {"key":"untyped","value":true}],
          "logs":[{"timestamp":1700000000000001,"fields":[{"key":"message","type":"string","value":"hello"},{"key":"k","type":"string","value":"v"}]}],
          "process":{"serviceName":"inline","tags":[{"key":"host","type":"string","value":"h"}]}}]}"#;
        let set = load(doc);
        let s = set.spans()[0];
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(s.status_code, StatusCode::Error);
        assert_eq!(s.start_unix_nanos, 1_700_000_000_000_000_000);
        assert_eq!(
            attr(&set, &s, "big"),
            Some(OwnedValue::Int(9_223_372_036_854_775_222))
        );
        assert_eq!(attr(&set, &s, "n"), Some(OwnedValue::Int(7)));
        assert_eq!(attr(&set, &s, "f"), Some(OwnedValue::Double(72.5)));
        assert_eq!(
            attr(&set, &s, "blob"),
            Some(OwnedValue::Bytes(vec![0, 0, 0x30, 0x39]))
        );
        assert_eq!(attr(&set, &s, "untyped"), Some(OwnedValue::Bool(true)));
        assert_eq!(attr(&set, &s, "span.kind"), None);
        assert_eq!(attr(&set, &s, "error"), None);
        assert_eq!(attr(&set, &s, "bad"), None);
        assert_eq!(set.diagnostics.count(DiagnosticKind::InvalidAttribute), 1);
        assert_eq!(set.str(set.scope(&s).name), "lib");
        assert_eq!(set.service_name(&s), "inline");
        let ev = set.events(&s)[0];
        assert_eq!(set.str(ev.name), "hello");
        assert_eq!(ev.time_unix_nanos, 1_700_000_000_000_001_000);
        assert_eq!(
            set.arena.load_attrs(ev.attrs),
            vec![("k".to_string(), OwnedValue::Str("v".into()))]
        );
    }

    #[test]
    fn otel_status_wins_and_references() {
        let doc = r#"{"traceID":"1","spans":[
          {"spanID":"1","operationName":"root","startTime":1,"duration":10},
          {"spanID":"2","operationName":"ff","startTime":2,"duration":1,"references":[{"refType":"FOLLOWS_FROM","traceID":"1","spanID":"1"}]},
          {"spanID":"3","operationName":"c","startTime":3,"duration":1,
           "references":[{"refType":"CHILD_OF","traceID":"ff","spanID":"ff"},{"refType":"FOLLOWS_FROM","spanID":"1"},{"refType":"CHILD_OF","traceID":"1","spanID":"2"}],
           "tags":[{"key":"error","type":"bool","value":true},{"key":"otel.status_code","type":"string","value":"OK"}]},
          {"spanID":"4","operationName":"old","startTime":4,"duration":1,"parentSpanID":"3"}]}"#;
        let set = load(doc);
        let t = set.traces()[0];
        assert_eq!(t.root_count, 1);
        let by_name = |n: &str| *set.spans().iter().find(|s| set.name(s) == n).unwrap();
        assert_eq!(by_name("ff").parent_span_id, SpanId::from_hex("1"));
        let c = by_name("c");
        assert_eq!(c.parent_span_id, SpanId::from_hex("2"));
        assert_eq!(c.status_code, StatusCode::Ok);
        let links = set.links(&c);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].trace_id.to_hex(), "000000000000000000000000000000ff");
        assert_eq!(
            set.arena.load_attrs(links[1].attrs),
            vec![(
                "opentracing.ref_type".to_string(),
                OwnedValue::Str("follows_from".into())
            )]
        );
        assert_eq!(by_name("old").parent_span_id, SpanId::from_hex("3"));
    }

    #[test]
    fn bad_spans_are_skipped_with_diagnostics() {
        let doc = r#"{"traceID":"","spans":[
          {"spanID":"1","startTime":1,"duration":1},
          {"traceID":"1","startTime":1,"duration":1},
          {"traceID":"1","spanID":"2","duration":1},
          {"traceID":"1","spanID":"3","startTime":-5,"duration":1},
          {"traceID":"1","spanID":"4","startTime":1.5,"duration":1},
          {"traceID":"1","spanID":"5","startTime":18446744073709551615,"duration":1},
          {"traceID":"1","spanID":"6","startTime":1,"duration":-1},
          {"traceID":"1","spanID":"7","startTime":1},
          7, null]}"#;
        let set = load(doc);
        assert_eq!(set.span_count(), 2);
        let d = &set.diagnostics;
        assert_eq!(d.spans_skipped, 8);
        assert_eq!(d.count(DiagnosticKind::MissingTraceId), 1);
        assert_eq!(d.count(DiagnosticKind::MissingSpanId), 1);
        assert_eq!(d.count(DiagnosticKind::InvalidTime), 5);
        assert_eq!(d.count(DiagnosticKind::NegativeDuration), 1);
        assert_eq!(d.count(DiagnosticKind::InvalidField), 2);
    }

    #[test]
    fn trace_warnings_are_capped() {
        let warnings: Vec<String> = (0..50).map(|i| format!("\"w{i}\"")).collect();
        let doc = format!(
            r#"{{"traceID":"1","spans":[],"warnings":[{}]}}"#,
            warnings.join(",")
        );
        let set = load(&doc);
        assert_eq!(set.diagnostics.warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(set.diagnostics.warnings[0], "Jaeger trace 1: w0");
    }

    #[test]
    fn micros() {
        assert_eq!(micros_to_nanos(&serde_json::json!(5)), Ok(5000));
        assert_eq!(micros_to_nanos(&serde_json::json!("5")), Ok(5000));
        assert_eq!(micros_to_nanos(&serde_json::json!(-5)), Err(TimeError::Negative));
        assert_eq!(
            micros_to_nanos(&serde_json::json!("-5")),
            Err(TimeError::Negative)
        );
        assert_eq!(
            micros_to_nanos(&serde_json::json!(1.5)),
            Err(TimeError::NotInteger)
        );
        assert_eq!(
            micros_to_nanos(&serde_json::json!(u64::MAX)),
            Err(TimeError::Overflow)
        );
    }
}
