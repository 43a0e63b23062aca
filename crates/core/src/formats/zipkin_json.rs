//! Reader for Zipkin v2 JSON (`shared/fixtures/FORMATS.md` section 4; the shape of
//! `POST /api/v2/spans`, `GET /api/v2/trace/{id}` and, as a list of lists, `GET /api/v2/traces`).
//!
//! Mapping into the model (decisions written down here):
//! - Ids are hex, left-padded to full width (`"2"` → `0000000000000002`); anything else is
//!   hashed (`opaque_id`, reported once per distinct id string per document). A missing or
//!   empty `traceId` / `id` skips the span. A `parentId` that is empty or all zeros means "no
//!   parent".
//! - `kind`: `CLIENT`/`SERVER`/`PRODUCER`/`CONSUMER`. An absent kind is **Internal**: Zipkin
//!   documents it as a local, in-process span, which is what OpenTelemetry's INTERNAL means. An
//!   unknown kind is Unspecified (`invalid_field`).
//! - `shared: true`: the server half of a client/server pair that reuses one span id. When the
//!   client half is in the document, the server half gets its own derived id with the client
//!   half as parent (see `split_shared_ids`), so the tree survives writing to OTLP; otherwise it
//!   keeps the id and [`Span::shared`], and assembly pairs the halves.
//!   Older data has client and server halves with one id but no flag: a SERVER span whose id is
//!   also used by a CLIENT span of the same trace is marked shared too, as Zipkin's UI does.
//! - `localEndpoint.serviceName` is the resource's service name (and its `service.name`
//!   attribute); one resource per distinct name per document. A missing or empty name gives a
//!   resource without a service name (shown as `unknown_service`); the literal `"unknown"` that
//!   some tracers write is kept as is, since that is what the producer said. The local address
//!   and port become the span attributes `network.local.address` / `network.local.port`.
//! - `remoteEndpoint` becomes span attributes per OpenTelemetry semantic conventions:
//!   `peer.service` (serviceName), `network.peer.address` (ipv4, else ipv6) and
//!   `network.peer.port`. A tag of the same key wins.
//! - `tags` become string attributes (non-string values keep their JSON text). The tag `error`
//!   (any value, even `""`) sets status ERROR with the value as message; `otel.status_code` /
//!   `otel.status_description` set the status too and win over `error`. These tags are removed
//!   from the attributes because the status carries them.
//! - `annotations` become events (name = `value`, time = `timestamp`), in file order.
//! - `debug: true` becomes the attribute `zipkin.debug` = true.
//! - Times are microseconds × 1000 with checked integer math. Both are optional in Zipkin (and
//!   a zero timestamp means unset, as in Zipkin); a missing (or unreadable) one is repaired and
//!   reported (`missing_time`):
//!   - timestamp: the earliest annotation; else the earliest other half with the same id and
//!     local service, then with the same id; else the earliest child; else the parent; else the
//!     earliest timestamp of the trace; else 0;
//!   - duration: up to the latest annotation; else up to the end of a same-id half of the same
//!     local service; else covering the children and other halves; else 0.
//!
//!   Only times the file gave are used as sources (a repaired time never feeds another repair),
//!   and at most 256 related spans are looked at per span, so hostile input stays linear.
//!
//! Not here: Zipkin v1 (`binaryAnnotations`, endpoint-carrying annotations), detection, and tree
//! assembly.

use super::detect::strip_bom;
use super::jaeger_json::micros_to_nanos;
use crate::diagnostics::DiagnosticKind;
use crate::model::{
    Event, IdEncoding, KeyValue, Resource, Span, SpanId, SpanKind, StatusCode, TraceId, TraceSetBuilder,
    Value,
};
use serde_json::{Map, Value as J};
use std::collections::{HashMap, HashSet};

/// Reads one Zipkin v2 document into the builder, or says why it is not one.
pub(crate) fn read(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    let doc: J = serde_json::from_slice(strip_bom(bytes)).map_err(|e| format!("not valid JSON: {e}"))?;
    let J::Array(items) = &doc else {
        return Err("not an array of spans".to_string());
    };
    // Flatten a list of lists; remember elements that are not span objects.
    let mut objects: Vec<(&Map<String, J>, String)> = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            J::Object(o) => objects.push((o, format!("[{i}]"))),
            J::Array(inner) => {
                for (j, x) in inner.iter().enumerate() {
                    match x {
                        J::Object(o) => objects.push((o, format!("[{i}][{j}]"))),
                        _ => bad.push(format!("[{i}][{j}]")),
                    }
                }
            }
            _ => bad.push(format!("[{i}]")),
        }
    }
    let looks_like_span = |o: &Map<String, J>| {
        o.contains_key("traceId") || o.contains_key("id") || o.contains_key("localEndpoint")
    };
    let looks_like_other = |o: &Map<String, J>| {
        o.contains_key("spans") || o.contains_key("resourceSpans") || o.contains_key("traceID")
    };
    if !items.is_empty()
        && !objects
            .iter()
            .any(|(o, _)| looks_like_span(o) && !looks_like_other(o))
    {
        return Err("not an array of spans (no element has traceId and id)".to_string());
    }

    for location in bad {
        builder.diagnostics.add(
            DiagnosticKind::InvalidDocument,
            location,
            None,
            None,
            "not a Zipkin span object; skipped",
        );
    }
    let mut opaque_seen = HashSet::new();
    let raws: Vec<Raw<'_>> = objects
        .into_iter()
        .filter_map(|(o, loc)| parse_raw(o, loc, &mut opaque_seen, builder))
        .collect();
    let mut raws = mark_shared(raws);
    let times = repair_times(&raws, builder);
    split_shared_ids(&mut raws);
    let mut resources: HashMap<String, u32> = HashMap::new();
    let scope = builder.arena.push_scope(Default::default());
    for (raw, (start, end)) in raws.iter().zip(times) {
        push_span(raw, start, end, scope, &mut resources, builder);
    }
    Ok(())
}

/// A span with its ids and times read, before time repair.
struct Raw<'a> {
    obj: &'a Map<String, J>,
    loc: String,
    id_text: String,
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<SpanId>,
    kind: SpanKind,
    shared: bool,
    service: String,
    /// Nanoseconds.
    timestamp: Option<u64>,
    duration: Option<u64>,
    /// Earliest and latest annotation times (nanoseconds).
    annotations: Option<(u64, u64)>,
}

fn id_text(v: Option<&J>) -> Option<String> {
    match v? {
        J::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_raw<'a>(
    obj: &'a Map<String, J>,
    loc: String,
    opaque_seen: &mut HashSet<String>,
    b: &mut TraceSetBuilder,
) -> Option<Raw<'a>> {
    let sid_text = id_text(obj.get("id"));
    let Some(trace_text) = id_text(obj.get("traceId")) else {
        b.diagnostics.spans_skipped += 1;
        b.diagnostics.add(
            DiagnosticKind::MissingTraceId,
            &loc,
            sid_text.as_deref(),
            Some("traceId"),
            "span has no trace id",
        );
        return None;
    };
    let Some(sid_text) = sid_text else {
        b.diagnostics.spans_skipped += 1;
        b.diagnostics.add(
            DiagnosticKind::MissingSpanId,
            &loc,
            None,
            Some("id"),
            "span has no span id",
        );
        return None;
    };
    let (trace_id, enc) = TraceId::parse_any(&trace_text).ok()?;
    if enc == IdEncoding::Hashed && opaque_seen.insert(trace_text.clone()) {
        b.diagnostics.add(
            DiagnosticKind::OpaqueId,
            &loc,
            Some(&sid_text),
            Some("traceId"),
            format!("trace id {trace_text:?} is not hex: hashed to stable bytes"),
        );
    }
    if trace_id.is_zero() {
        b.diagnostics.add(
            DiagnosticKind::ZeroId,
            &loc,
            Some(&sid_text),
            Some("traceId"),
            "all-zero trace id kept as is",
        );
    }
    let span_id = opaque_checked_span_id(&sid_text, &loc, "id", opaque_seen, b)?;
    let parent = match id_text(obj.get("parentId")) {
        Some(p) => opaque_checked_span_id(&p, &loc, "parentId", opaque_seen, b).filter(|p| !p.is_zero()),
        None => None,
    };
    let kind = match obj.get("kind") {
        None | Some(J::Null) => SpanKind::Internal,
        Some(J::String(k)) => match k.trim().to_ascii_uppercase().as_str() {
            "CLIENT" => SpanKind::Client,
            "SERVER" => SpanKind::Server,
            "PRODUCER" => SpanKind::Producer,
            "CONSUMER" => SpanKind::Consumer,
            _ => {
                invalid_kind(&loc, &sid_text, b);
                SpanKind::Unspecified
            }
        },
        Some(_) => {
            invalid_kind(&loc, &sid_text, b);
            SpanKind::Unspecified
        }
    };
    // Zipkin treats a zero timestamp as unset.
    let timestamp = optional_time(obj, "timestamp", &loc, &sid_text, b).filter(|&t| t != 0);
    let duration = optional_time(obj, "duration", &loc, &sid_text, b);
    let mut annotations: Option<(u64, u64)> = None;
    if let Some(J::Array(list)) = obj.get("annotations") {
        for a in list {
            if let Some(Ok(t)) = a.get("timestamp").map(micros_to_nanos) {
                annotations = Some(match annotations {
                    Some((lo, hi)) => (lo.min(t), hi.max(t)),
                    None => (t, t),
                });
            }
        }
    }
    let service = obj
        .get("localEndpoint")
        .and_then(|e| e.get("serviceName"))
        .and_then(J::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    Some(Raw {
        obj,
        loc,
        id_text: sid_text,
        trace_id,
        span_id,
        parent,
        kind,
        shared: obj.get("shared").and_then(J::as_bool).unwrap_or(false),
        service,
        timestamp,
        duration,
        annotations,
    })
}

fn invalid_kind(loc: &str, sid: &str, b: &mut TraceSetBuilder) {
    b.diagnostics.add(
        DiagnosticKind::InvalidField,
        loc,
        Some(sid),
        Some("kind"),
        "unknown span kind; taken as unspecified",
    );
}

/// Parses a span id; an opaque one is reported the first time this document shows it.
fn opaque_checked_span_id(
    text: &str,
    loc: &str,
    field: &str,
    opaque_seen: &mut HashSet<String>,
    b: &mut TraceSetBuilder,
) -> Option<SpanId> {
    let (id, enc) = SpanId::parse_any(text).ok()?;
    if enc == IdEncoding::Hashed && opaque_seen.insert(text.to_string()) {
        b.diagnostics.add(
            DiagnosticKind::OpaqueId,
            loc,
            Some(text),
            Some(field),
            "span id is not hex: hashed to stable bytes",
        );
    }
    Some(id)
}

/// An optional microsecond field in nanoseconds; an unreadable value counts as missing.
fn optional_time(
    obj: &Map<String, J>,
    key: &str,
    loc: &str,
    sid: &str,
    b: &mut TraceSetBuilder,
) -> Option<u64> {
    match obj.get(key) {
        None | Some(J::Null) => None,
        Some(v) => match micros_to_nanos(v) {
            Ok(t) => Some(t),
            Err(e) => {
                b.diagnostics.add(
                    DiagnosticKind::InvalidTime,
                    loc,
                    Some(sid),
                    Some(key),
                    format!("{key} {e}; treated as missing"),
                );
                None
            }
        },
    }
}

/// Marks SERVER spans that share their id with a CLIENT span of the same trace as shared.
fn mark_shared(mut raws: Vec<Raw<'_>>) -> Vec<Raw<'_>> {
    let clients: std::collections::HashSet<(TraceId, SpanId)> = raws
        .iter()
        .filter(|r| r.kind == SpanKind::Client)
        .map(|r| (r.trace_id, r.span_id))
        .collect();
    for r in &mut raws {
        if r.kind == SpanKind::Server && !r.shared && clients.contains(&(r.trace_id, r.span_id)) {
            r.shared = true;
        }
    }
    raws
}

/// Gives the server half of each client/server pair its own span id, so the pairing survives
/// formats that cannot say "shared" (OTLP, the store, uploads). The server half gets a stable id
/// derived from the shared one and the shared id as its parent (the client half); children that
/// named the shared id hang under the server half, as Zipkin's own UI draws them. A server half
/// whose client half is not in the document keeps the shared id and the `shared` flag, and
/// assembly pairs it if the client half arrives from another document.
fn split_shared_ids(raws: &mut [Raw<'_>]) {
    let client_halves: HashSet<(TraceId, SpanId)> = raws
        .iter()
        .filter(|r| !r.shared)
        .map(|r| (r.trace_id, r.span_id))
        .collect();
    let mut server_ids: HashMap<(TraceId, SpanId), SpanId> = HashMap::new();
    for r in raws.iter().filter(|r| r.shared) {
        let key = (r.trace_id, r.span_id);
        if client_halves.contains(&key) {
            server_ids.entry(key).or_insert_with(|| server_half_id(r.span_id));
        }
    }
    if server_ids.is_empty() {
        return;
    }
    for r in raws.iter_mut() {
        if r.shared {
            if let Some(&own) = server_ids.get(&(r.trace_id, r.span_id)) {
                r.parent = Some(r.span_id);
                r.span_id = own;
                r.shared = false;
                continue;
            }
        }
        if let Some(parent) = r.parent {
            if let Some(&own) = server_ids.get(&(r.trace_id, parent)) {
                r.parent = Some(own);
            }
        }
    }
}

/// The id given to the server half of a shared span: stable, and distinct from the shared id.
fn server_half_id(shared: SpanId) -> SpanId {
    SpanId::hashed(&format!("zipkin-server-half:{shared}"))
}

/// How many related spans (other halves, children, parents) time repair looks at per span.
const MAX_CANDIDATES: usize = 256;

/// (start, end) in nanoseconds for every span, repairing missing times.
fn repair_times(raws: &[Raw<'_>], b: &mut TraceSetBuilder) -> Vec<(u64, u64)> {
    let mut by_id: HashMap<(TraceId, SpanId), Vec<usize>> = HashMap::new();
    let mut children: HashMap<(TraceId, SpanId), Vec<usize>> = HashMap::new();
    let mut trace_min: HashMap<TraceId, u64> = HashMap::new();
    for (i, r) in raws.iter().enumerate() {
        by_id.entry((r.trace_id, r.span_id)).or_default().push(i);
        if let Some(p) = r.parent {
            children.entry((r.trace_id, p)).or_default().push(i);
        }
        if let Some(t) = r.timestamp {
            let slot = trace_min.entry(r.trace_id).or_insert(t);
            *slot = (*slot).min(t);
        }
    }
    let known_start = |i: usize| raws.get(i).and_then(|r| r.timestamp);
    let known_end = |i: usize| {
        raws.get(i)
            .and_then(|r| r.timestamp.map(|t| t.saturating_add(r.duration.unwrap_or(0))))
    };
    let none: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(raws.len());
    for (i, r) in raws.iter().enumerate() {
        if let (Some(t), Some(d)) = (r.timestamp, r.duration) {
            out.push((t, t.saturating_add(d)));
            continue;
        }
        // Bounded candidate lists keep hostile input (thousands of spans sharing one id) linear.
        let halves: Vec<usize> = by_id
            .get(&(r.trace_id, r.span_id))
            .unwrap_or(&none)
            .iter()
            .copied()
            .filter(|&j| j != i)
            .take(MAX_CANDIDATES)
            .collect();
        let same_service: Vec<usize> = halves
            .iter()
            .copied()
            .filter(|&j| raws.get(j).is_some_and(|o| o.service == r.service))
            .collect();
        let kids = children.get(&(r.trace_id, r.span_id)).unwrap_or(&none);
        let kids = kids.get(..kids.len().min(MAX_CANDIDATES)).unwrap_or(&[]);
        let (start, start_note) = match r.timestamp {
            Some(t) => (t, None),
            None => {
                let earliest = |list: &[usize]| list.iter().filter_map(|&j| known_start(j)).min();
                let parent_start = r
                    .parent
                    .and_then(|p| by_id.get(&(r.trace_id, p)))
                    .and_then(|list| earliest(list.get(..list.len().min(MAX_CANDIDATES)).unwrap_or(&[])));
                let (t, from) = if let Some((lo, _)) = r.annotations {
                    (lo, "the earliest annotation")
                } else if let Some(t) = earliest(&same_service) {
                    (t, "the other half with the same id and service")
                } else if let Some(t) = earliest(&halves) {
                    (t, "the other half with the same id")
                } else if let Some(t) = earliest(kids) {
                    (t, "the earliest child")
                } else if let Some(t) = parent_start {
                    (t, "the parent")
                } else if let Some(&t) = trace_min.get(&r.trace_id) {
                    (t, "the start of the trace")
                } else {
                    (0, "nothing (no time anywhere in the trace): 0")
                };
                (t, Some(format!("timestamp missing: taken from {from}")))
            }
        };
        let (end, end_note) = match r.duration {
            Some(d) => (start.saturating_add(d), None),
            None => {
                let latest = |list: &[usize]| list.iter().filter_map(|&j| known_end(j)).max();
                let mut covering: Vec<usize> = kids.to_vec();
                covering.extend(halves.iter().copied());
                let (e, how) = if let Some((_, hi)) = r.annotations.filter(|a| a.1 > start) {
                    (hi, "up to the latest annotation")
                } else if let Some(e) = latest(&same_service).filter(|&e| e > start) {
                    (e, "up to the end of the other half with the same service")
                } else if let Some(e) = latest(&covering).filter(|&e| e > start) {
                    (e, "covering its children and other halves")
                } else {
                    (start, "taken as 0")
                };
                (e, Some(format!("duration missing: {how}")))
            }
        };
        for note in [start_note, end_note].into_iter().flatten() {
            b.diagnostics.add(
                DiagnosticKind::MissingTime,
                &r.loc,
                Some(&r.id_text),
                Some(if note.starts_with("timestamp") {
                    "timestamp"
                } else {
                    "duration"
                }),
                note,
            );
        }
        out.push((start, end));
    }
    out
}

fn text_of(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}

fn push_span(
    raw: &Raw<'_>,
    start: u64,
    end: u64,
    scope: u32,
    resources: &mut HashMap<String, u32>,
    b: &mut TraceSetBuilder,
) {
    let obj = raw.obj;
    let resource = match resources.get(&raw.service) {
        Some(&r) => r,
        None => {
            let service_name = b.arena.intern(&raw.service);
            let attrs = if service_name.is_empty() {
                b.arena.push_kvs(&[])
            } else {
                let key = b.arena.intern("service.name");
                b.arena.push_kvs(&[KeyValue {
                    key,
                    value: Value::Str(service_name),
                }])
            };
            let r = b.arena.push_resource(Resource {
                service_name,
                attrs,
                ..Default::default()
            });
            resources.insert(raw.service.clone(), r);
            r
        }
    };

    // Tags, with the status-carrying ones taken out.
    let mut status = StatusCode::Unset;
    let mut message = String::new();
    let mut otel_code: Option<StatusCode> = None;
    let mut otel_message: Option<String> = None;
    let mut attrs: Vec<KeyValue> = Vec::new();
    let mut tag_keys: Vec<&str> = Vec::new();
    match obj.get("tags") {
        Some(J::Object(tags)) => {
            for (key, value) in tags {
                let text = text_of(value);
                match key.as_str() {
                    "error" => {
                        status = StatusCode::Error;
                        message = text;
                        continue;
                    }
                    "otel.status_code" => {
                        if let Some(code) = StatusCode::from_name(&text) {
                            otel_code = Some(code);
                            continue;
                        }
                    }
                    "otel.status_description" => {
                        otel_message = Some(text);
                        continue;
                    }
                    _ => {}
                }
                tag_keys.push(key.as_str());
                let k = b.arena.intern(key);
                let v = b.arena.intern(&text);
                attrs.push(KeyValue {
                    key: k,
                    value: Value::Str(v),
                });
            }
        }
        None | Some(J::Null) => {}
        Some(_) => b.diagnostics.add(
            DiagnosticKind::InvalidField,
            &raw.loc,
            Some(&raw.id_text),
            Some("tags"),
            "tags is not an object; ignored",
        ),
    }
    if let Some(code) = otel_code {
        status = code;
        if let Some(m) = otel_message {
            message = m;
        }
    } else if let Some(m) = otel_message {
        if status == StatusCode::Error && message.is_empty() {
            message = m;
        }
    }

    // Endpoints.
    let mut extra: Vec<(&str, Value)> = Vec::new();
    if let Some(local) = obj.get("localEndpoint").and_then(J::as_object) {
        endpoint_attrs(
            local,
            "network.local.address",
            "network.local.port",
            &mut extra,
            b,
        );
    }
    if let Some(remote) = obj.get("remoteEndpoint").and_then(J::as_object) {
        if let Some(name) = remote.get("serviceName").and_then(J::as_str) {
            if !name.trim().is_empty() {
                extra.push(("peer.service", Value::Str(b.arena.intern(name.trim()))));
            }
        }
        endpoint_attrs(remote, "network.peer.address", "network.peer.port", &mut extra, b);
    }
    if obj.get("debug").and_then(J::as_bool) == Some(true) {
        extra.push(("zipkin.debug", Value::Bool(true)));
    }
    for (key, value) in extra {
        if !tag_keys.contains(&key) {
            attrs.push(KeyValue {
                key: b.arena.intern(key),
                value,
            });
        }
    }

    // Annotations.
    let mut events = Vec::new();
    if let Some(J::Array(list)) = obj.get("annotations") {
        for (i, a) in list.iter().enumerate() {
            let time = match a.get("timestamp").map(micros_to_nanos) {
                Some(Ok(t)) => t,
                _ => {
                    b.diagnostics.add(
                        DiagnosticKind::InvalidTime,
                        format!("{}.annotations[{i}]", raw.loc),
                        Some(&raw.id_text),
                        Some("timestamp"),
                        "annotation without a readable timestamp: placed at the span start",
                    );
                    start
                }
            };
            let name = a.get("value").map(text_of).unwrap_or_default();
            events.push(Event {
                time_unix_nanos: time,
                name: b.arena.intern(&name),
                ..Default::default()
            });
        }
    }

    let name = obj.get("name").and_then(J::as_str).unwrap_or("");
    let span = Span {
        trace_id: raw.trace_id,
        span_id: raw.span_id,
        parent_span_id: raw.parent,
        name: b.arena.intern(name),
        kind: raw.kind,
        status_code: status,
        status_message: b.arena.intern(&message),
        start_unix_nanos: start,
        end_unix_nanos: end,
        attrs: b.arena.push_kvs(&attrs),
        events: b.arena.push_events(&events),
        resource,
        scope,
        shared: raw.shared,
        ..Default::default()
    };
    b.push_span(span);
}

fn endpoint_attrs(
    endpoint: &Map<String, J>,
    address_key: &'static str,
    port_key: &'static str,
    out: &mut Vec<(&'static str, Value)>,
    b: &mut TraceSetBuilder,
) {
    let address = ["ipv4", "ipv6"]
        .iter()
        .filter_map(|k| endpoint.get(*k).and_then(J::as_str))
        .map(str::trim)
        .find(|a| !a.is_empty());
    if let Some(a) = address {
        out.push((address_key, Value::Str(b.arena.intern(a))));
    }
    if let Some(port) = endpoint.get("port").and_then(J::as_i64) {
        if port > 0 {
            out.push((port_key, Value::Int(port)));
        }
    }
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
    fn basic_fields() {
        let set = load(
            r#"[{"traceId":"bd7a974555f6b982bd71977555f6b981","id":"2","parentId":"1","name":"foo",
                "kind":"CLIENT","debug":true,"shared":true,"timestamp":1,"duration":10,
                "localEndpoint":{"serviceName":"foo","ipv4":"10.43.17.42","port":8080},
                "remoteEndpoint":{"serviceName":"bar","ipv6":"::1","port":9411},
                "annotations":[{"value":"foo","timestamp":1}],"tags":{"foo":"bar","error":""}}]"#,
        );
        let s = set.spans()[0];
        assert_eq!(s.span_id.to_hex(), "0000000000000002");
        assert_eq!(s.parent_span_id, SpanId::from_hex("1"));
        assert_eq!((s.start_unix_nanos, s.end_unix_nanos), (1000, 11000));
        assert_eq!(s.kind, SpanKind::Client);
        assert!(s.shared);
        assert_eq!(s.status_code, StatusCode::Error);
        assert_eq!(set.str(s.status_message), "");
        assert_eq!(set.service_name(&s), "foo");
        assert_eq!(attr(&set, &s, "foo"), Some(OwnedValue::Str("bar".into())));
        assert_eq!(attr(&set, &s, "error"), None);
        assert_eq!(
            attr(&set, &s, "peer.service"),
            Some(OwnedValue::Str("bar".into()))
        );
        assert_eq!(
            attr(&set, &s, "network.peer.address"),
            Some(OwnedValue::Str("::1".into()))
        );
        assert_eq!(attr(&set, &s, "network.peer.port"), Some(OwnedValue::Int(9411)));
        assert_eq!(attr(&set, &s, "network.local.port"), Some(OwnedValue::Int(8080)));
        assert_eq!(attr(&set, &s, "zipkin.debug"), Some(OwnedValue::Bool(true)));
        let ev = set.events(&s)[0];
        assert_eq!((set.str(ev.name), ev.time_unix_nanos), ("foo", 1000));
    }

    #[test]
    fn list_of_lists_kinds_and_services() {
        let set = load(
            r#"[[{"traceId":"a","id":"1","timestamp":5,"duration":1}],
                [{"traceId":"b","id":"1","kind":"SERVER","timestamp":5,"duration":1,"localEndpoint":{"serviceName":"unknown"},
                  "tags":{"otel.status_code":"ERROR","otel.status_description":"boom","error":"x"}}]]"#,
        );
        assert_eq!(set.traces().len(), 2);
        let a = set
            .spans()
            .iter()
            .find(|s| s.trace_id == TraceId::from_hex("a").unwrap())
            .unwrap();
        assert_eq!(a.kind, SpanKind::Internal);
        assert_eq!(set.service_name(a), crate::model::UNKNOWN_SERVICE);
        let b = set
            .spans()
            .iter()
            .find(|s| s.trace_id == TraceId::from_hex("b").unwrap())
            .unwrap();
        assert_eq!(set.service_name(b), "unknown");
        assert_eq!(b.status_code, StatusCode::Error);
        assert_eq!(set.str(b.status_message), "boom");
    }

    #[test]
    fn unflagged_server_half_is_paired() {
        let set = load(
            r#"[{"traceId":"a","id":"1","kind":"SERVER","timestamp":10,"duration":100,"localEndpoint":{"serviceName":"front"}},
                {"traceId":"a","id":"2","parentId":"1","kind":"CLIENT","timestamp":20,"duration":50,"localEndpoint":{"serviceName":"front"}},
                {"traceId":"a","id":"2","parentId":"1","kind":"SERVER","timestamp":25,"duration":40,"localEndpoint":{"serviceName":"back"}},
                {"traceId":"a","id":"3","parentId":"2","timestamp":30,"duration":5,"localEndpoint":{"serviceName":"back"}}]"#,
        );
        let t = set.traces()[0];
        assert_eq!(t.root_count, 1);
        let depths: Vec<u32> = set.trace_spans(&t).iter().map(|s| s.depth).collect();
        assert_eq!(depths, vec![0, 1, 2, 3]);
        assert_eq!(set.diagnostics.count(DiagnosticKind::DuplicateSpanId), 0);
    }

    #[test]
    fn missing_times_are_repaired() {
        let set = load(
            r#"[{"traceId":"a","id":"1","name":"root","localEndpoint":{"serviceName":"s"}},
                {"traceId":"a","id":"2","parentId":"1","name":"child","timestamp":100,"duration":50},
                {"traceId":"a","id":"3","parentId":"1","name":"late","timestamp":300},
                {"traceId":"a","id":"4","parentId":"1","name":"ann","annotations":[{"timestamp":400,"value":"a"},{"timestamp":450,"value":"b"}]},
                {"traceId":"a","id":"5","parentId":"1","name":"neg","timestamp":-3,"duration":1.5}]"#,
        );
        let by_name = |n: &str| *set.spans().iter().find(|s| set.name(s) == n).unwrap();
        let root = by_name("root");
        // Earliest child start, covering the children up to the latest end the file gave.
        assert_eq!(root.start_unix_nanos, 100_000);
        assert_eq!(root.end_unix_nanos, 300_000);
        let late = by_name("late");
        assert_eq!((late.start_unix_nanos, late.end_unix_nanos), (300_000, 300_000));
        let ann = by_name("ann");
        assert_eq!((ann.start_unix_nanos, ann.end_unix_nanos), (400_000, 450_000));
        let neg = by_name("neg");
        assert_eq!(neg.start_unix_nanos, 100_000);
        let d = &set.diagnostics;
        assert_eq!(d.count(DiagnosticKind::InvalidTime), 2);
        assert_eq!(d.count(DiagnosticKind::MissingTime), 7);
    }

    #[test]
    fn zero_timestamp_is_unset() {
        let set = load(
            r#"[{"traceId":"a","id":"1","name":"root","timestamp":500,"duration":100},
                {"traceId":"a","id":"2","parentId":"1","name":"zero","timestamp":0,"duration":10}]"#,
        );
        let zero = *set.spans().iter().find(|s| set.name(s) == "zero").unwrap();
        assert_eq!((zero.start_unix_nanos, zero.end_unix_nanos), (500_000, 510_000));
        assert_eq!(set.diagnostics.count(DiagnosticKind::MissingTime), 1);
    }

    #[test]
    fn rejections_and_skips() {
        let mut b = TraceSetBuilder::new();
        for doc in [
            r#"{"resourceSpans":[]}"#,
            r#"[{"traceID":"1","spans":[]}]"#,
            r#"[1,2,3]"#,
            r#"[{"resourceSpans":[]}]"#,
            "nope",
        ] {
            assert!(read(doc.as_bytes(), &mut b).is_err(), "{doc}");
        }
        assert_eq!(b.span_count(), 0);
        let set = load(
            r#"[{"id":"1"},{"traceId":"1"},{"traceId":"1","id":"span-x","timestamp":1,"duration":1},7]"#,
        );
        assert_eq!(set.span_count(), 1);
        assert_eq!(set.diagnostics.spans_skipped, 2);
        assert_eq!(set.diagnostics.count(DiagnosticKind::OpaqueId), 1);
        assert_eq!(set.diagnostics.count(DiagnosticKind::InvalidDocument), 1);
        assert_eq!(load("[]").span_count(), 0);
    }
}
