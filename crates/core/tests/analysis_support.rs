//! Shared table builder for the analysis tests (included by the `analysis_*` test files with
//! `#[path]`; as a test target of its own it only checks itself).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use spanlens_core::model::{
    Event, OwnedValue, Resource, Span, SpanId, SpanKind, StatusCode, TraceId, TraceSet, TraceSetBuilder,
};
use std::collections::HashMap;

pub const MS: u64 = 1_000_000;

/// (time, name, attributes) of an event to add.
type PendingEvent = (u64, String, Vec<(String, OwnedValue)>);

/// One span being written.
pub struct Row {
    span: Span,
    service: String,
    name: String,
    attrs: Vec<(String, OwnedValue)>,
    events: Vec<PendingEvent>,
    status_message: String,
}

impl Row {
    /// A string attribute.
    pub fn attr(&mut self, key: &str, value: &str) -> &mut Self {
        self.attrs
            .push((key.to_string(), OwnedValue::Str(value.to_string())));
        self
    }
    /// An integer attribute.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.attrs.push((key.to_string(), OwnedValue::Int(value)));
        self
    }
    /// A boolean attribute.
    pub fn flag(&mut self, key: &str, value: bool) -> &mut Self {
        self.attrs.push((key.to_string(), OwnedValue::Bool(value)));
        self
    }
    /// Zipkin: the server half of a client/server pair sharing one span id.
    pub fn shared(&mut self) -> &mut Self {
        self.span.shared = true;
        self
    }
    /// Status ERROR.
    pub fn error(&mut self) -> &mut Self {
        self.span.status_code = StatusCode::Error;
        self
    }
    /// Status ERROR with a message.
    pub fn error_msg(&mut self, msg: &str) -> &mut Self {
        self.span.status_code = StatusCode::Error;
        self.status_message = msg.to_string();
        self
    }
    /// An `exception` event.
    pub fn exception(&mut self, ty: &str, msg: &str) -> &mut Self {
        let at = self.span.start_unix_nanos;
        self.events.push((
            at,
            "exception".to_string(),
            vec![
                ("exception.type".to_string(), OwnedValue::Str(ty.to_string())),
                ("exception.message".to_string(), OwnedValue::Str(msg.to_string())),
                (
                    "exception.stacktrace".to_string(),
                    OwnedValue::Str(format!("at {ty}")),
                ),
            ],
        ));
        self
    }
}

/// Builds sets from readable rows.
#[derive(Default)]
pub struct Table {
    trace: u8,
    rows: Vec<Row>,
}

pub fn span_id(trace: u8, id: u16) -> SpanId {
    let [hi, lo] = id.to_be_bytes();
    SpanId([trace, 0, 0, 0, 0, 0, hi, lo])
}

impl Table {
    pub fn new() -> Self {
        Table {
            trace: 1,
            rows: Vec::new(),
        }
    }

    /// Following spans belong to trace `t`.
    pub fn trace(&mut self, t: u8) -> &mut Self {
        self.trace = t;
        self
    }

    /// A span with times in milliseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn span(
        &mut self,
        id: u16,
        parent: Option<u16>,
        service: &str,
        name: &str,
        kind: SpanKind,
        start_ms: u64,
        end_ms: u64,
    ) -> &mut Row {
        self.span_ns(id, parent, service, name, kind, start_ms * MS, end_ms * MS)
    }

    /// A span with times in nanoseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn span_ns(
        &mut self,
        id: u16,
        parent: Option<u16>,
        service: &str,
        name: &str,
        kind: SpanKind,
        start: u64,
        end: u64,
    ) -> &mut Row {
        let t = self.trace;
        self.rows.push(Row {
            span: Span {
                trace_id: TraceId([t; 16]),
                span_id: span_id(t, id),
                parent_span_id: parent.map(|p| span_id(t, p)),
                kind,
                start_unix_nanos: start,
                end_unix_nanos: end,
                ..Default::default()
            },
            service: service.to_string(),
            name: name.to_string(),
            attrs: Vec::new(),
            events: Vec::new(),
            status_message: String::new(),
        });
        self.rows.last_mut().unwrap()
    }

    pub fn finish(&mut self) -> TraceSet {
        let mut b = TraceSetBuilder::new();
        let mut resources: HashMap<String, u32> = HashMap::new();
        for row in self.rows.drain(..) {
            let resource = *resources.entry(row.service.clone()).or_insert_with(|| {
                let service_name = if row.service.is_empty() {
                    Default::default()
                } else {
                    b.arena.intern(&row.service)
                };
                b.arena.push_resource(Resource {
                    service_name,
                    ..Default::default()
                })
            });
            let mut span = row.span;
            span.resource = resource;
            span.name = b.arena.intern(&row.name);
            span.status_message = b.arena.intern(&row.status_message);
            span.attrs = b.arena.store_attrs(&row.attrs);
            let events: Vec<Event> = row
                .events
                .iter()
                .map(|(at, name, attrs)| Event {
                    time_unix_nanos: *at,
                    name: b.arena.intern(name),
                    attrs: b.arena.store_attrs(attrs),
                    dropped_attributes_count: 0,
                })
                .collect();
            span.events = b.arena.push_events(&events);
            b.push_span(span);
        }
        b.finish()
    }
}

/// Set-wide index of span `id` of trace `t`.
pub fn idx(set: &TraceSet, t: u8, id: u16) -> u32 {
    set.find_span(TraceId([t; 16]), span_id(t, id))
        .expect("span in set")
}

#[test]
fn builder_works() {
    let mut t = Table::new();
    t.span(1, None, "a", "root", SpanKind::Server, 0, 10)
        .attr("http.method", "GET");
    let set = t.finish();
    assert_eq!(set.span_count(), 1);
    assert_eq!(idx(&set, 1, 1), 0);
}
