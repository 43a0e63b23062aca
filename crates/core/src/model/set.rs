//! [`TraceSet`]: many traces in flat, index-based storage, and [`TraceSetBuilder`], which
//! readers fill span by span and which assembles the traces when finished.
//!
//! After [`TraceSetBuilder::finish`], the spans of each trace are contiguous and in depth-first
//! pre-order (see [`super::types::Span::subtree_len`]); traces are ordered by start time, then
//! id. Not here: reading formats (see `formats`) or analysis.

use super::arena::Arena;
use super::assemble;
use super::ids::{SpanId, TraceId};
use super::strings::StrId;
use super::types::{Event, KeyValue, Link, Resource, Scope, Span, Trace, Value, NO_SPAN};
use crate::diagnostics::Diagnostics;
use serde::{Deserialize, Serialize};

/// The service name used when a resource has none (Tempo's convention).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Collects spans from any number of documents; [`TraceSetBuilder::finish`] assembles them.
#[derive(Debug, Default)]
pub struct TraceSetBuilder {
    pub arena: Arena,
    pub spans: Vec<Span>,
    pub diagnostics: Diagnostics,
}

impl TraceSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a span whose ranges and indexes point into `self.arena`.
    pub fn push_span(&mut self, span: Span) {
        self.spans.push(span);
    }

    /// Number of spans collected so far.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// Copies every span of `other` (with its resources, scopes, attributes, events and links)
    /// into this builder, re-interning strings. Used to merge sets (several files, or a
    /// stored trace plus new spans).
    pub fn append_set(&mut self, other: &TraceSet) {
        let mut copier = Copier::new(&other.arena);
        for span in &other.spans {
            let copied = copier.copy_span(span, &mut self.arena);
            self.spans.push(copied);
        }
        self.diagnostics.merge(other.diagnostics.clone());
    }

    /// Assembles traces: groups spans by trace id, drops exact re-deliveries, links parents,
    /// orders spans in pre-order, computes depth and subtree sizes and marks clock skew.
    pub fn finish(self) -> TraceSet {
        assemble::assemble(self)
    }
}

/// Copies spans between arenas, remembering resources and scopes already copied.
struct Copier<'a> {
    from: &'a Arena,
    resource_map: Vec<u32>,
    scope_map: Vec<u32>,
}

impl<'a> Copier<'a> {
    fn new(from: &'a Arena) -> Self {
        Copier {
            from,
            resource_map: vec![NO_SPAN; from.resources.len()],
            scope_map: vec![NO_SPAN; from.scopes.len()],
        }
    }

    fn str(&self, id: StrId, to: &mut Arena) -> StrId {
        to.intern(self.from.str(id))
    }

    fn attrs(&self, r: super::types::Range32, to: &mut Arena) -> super::types::Range32 {
        to.store_attrs(&self.from.load_attrs(r))
    }

    fn copy_span(&mut self, span: &Span, to: &mut Arena) -> Span {
        let resource = self.resource(span.resource, to);
        let scope = self.scope(span.scope, to);
        let events: Vec<Event> = self
            .from
            .event_slice(span.events)
            .iter()
            .map(|e| Event {
                name: self.str(e.name, to),
                attrs: self.attrs(e.attrs, to),
                ..*e
            })
            .collect();
        let links: Vec<Link> = self
            .from
            .link_slice(span.links)
            .iter()
            .map(|l| Link {
                trace_state: self.str(l.trace_state, to),
                attrs: self.attrs(l.attrs, to),
                ..*l
            })
            .collect();
        Span {
            name: self.str(span.name, to),
            status_message: self.str(span.status_message, to),
            trace_state: self.str(span.trace_state, to),
            attrs: self.attrs(span.attrs, to),
            events: to.push_events(&events),
            links: to.push_links(&links),
            resource,
            scope,
            ..*span
        }
    }

    fn resource(&mut self, index: u32, to: &mut Arena) -> u32 {
        if let Some(&mapped) = self.resource_map.get(index as usize) {
            if mapped != NO_SPAN {
                return mapped;
            }
        }
        let r = self
            .from
            .resources
            .get(index as usize)
            .copied()
            .unwrap_or_default();
        let copied = Resource {
            service_name: self.str(r.service_name, to),
            attrs: self.attrs(r.attrs, to),
            schema_url: self.str(r.schema_url, to),
            ..r
        };
        let new_index = to.push_resource(copied);
        if let Some(slot) = self.resource_map.get_mut(index as usize) {
            *slot = new_index;
        }
        new_index
    }

    fn scope(&mut self, index: u32, to: &mut Arena) -> u32 {
        if let Some(&mapped) = self.scope_map.get(index as usize) {
            if mapped != NO_SPAN {
                return mapped;
            }
        }
        let s = self.from.scopes.get(index as usize).copied().unwrap_or_default();
        let copied = Scope {
            name: self.str(s.name, to),
            version: self.str(s.version, to),
            attrs: self.attrs(s.attrs, to),
            schema_url: self.str(s.schema_url, to),
            ..s
        };
        let new_index = to.push_scope(copied);
        if let Some(slot) = self.scope_map.get_mut(index as usize) {
            *slot = new_index;
        }
        new_index
    }
}

/// Assembled traces over flat storage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TraceSet {
    pub arena: Arena,
    pub(crate) spans: Vec<Span>,
    pub(crate) traces: Vec<Trace>,
    pub diagnostics: Diagnostics,
}

impl TraceSet {
    pub(crate) fn from_parts(
        arena: Arena,
        spans: Vec<Span>,
        traces: Vec<Trace>,
        diagnostics: Diagnostics,
    ) -> Self {
        TraceSet {
            arena,
            spans,
            traces,
            diagnostics,
        }
    }

    /// Takes the assembled set apart, for a transfer format that moves its vectors in pieces.
    /// [`TraceSet::from_assembled_parts`] puts the same pieces back together.
    pub fn into_parts(self) -> (Arena, Vec<Span>, Vec<Trace>, Diagnostics) {
        (self.arena, self.spans, self.traces, self.diagnostics)
    }

    /// Rebuilds a set from the pieces [`TraceSet::into_parts`] gave, unchanged. The pieces must
    /// come from one assembled set: nothing here checks that their indexes agree.
    pub fn from_assembled_parts(
        arena: Arena,
        spans: Vec<Span>,
        traces: Vec<Trace>,
        diagnostics: Diagnostics,
    ) -> Self {
        TraceSet::from_parts(arena, spans, traces, diagnostics)
    }

    /// Turns the set back into a builder (to add more spans and assemble again).
    pub fn into_builder(self) -> TraceSetBuilder {
        TraceSetBuilder {
            arena: self.arena,
            spans: self.spans,
            diagnostics: self.diagnostics,
        }
    }

    /// All traces, ordered by start time, then trace id.
    pub fn traces(&self) -> &[Trace] {
        &self.traces
    }

    /// All spans; each trace's spans are contiguous and in pre-order.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Number of spans.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// True when the set holds no span.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The span at a set-wide index.
    pub fn span(&self, index: u32) -> Option<&Span> {
        self.spans.get(index as usize)
    }

    /// The trace at an index.
    pub fn trace(&self, index: u32) -> Option<&Trace> {
        self.traces.get(index as usize)
    }

    /// The spans of one trace, in pre-order.
    pub fn trace_spans(&self, trace: &Trace) -> &[Span] {
        self.spans.get(trace.spans.as_range()).unwrap_or(&[])
    }

    /// Index of a trace by id.
    pub fn find_trace(&self, id: TraceId) -> Option<u32> {
        self.traces
            .iter()
            .position(|t| t.trace_id == id)
            .map(|i| i as u32)
    }

    /// Set-wide index of a span by trace and span id (the first when ids repeat).
    pub fn find_span(&self, trace_id: TraceId, span_id: SpanId) -> Option<u32> {
        let t = self.trace(self.find_trace(trace_id)?)?;
        let start = t.spans.start;
        self.trace_spans(t)
            .iter()
            .position(|s| s.span_id == span_id)
            .map(|i| start + i as u32)
    }

    /// The text of an interned string.
    pub fn str(&self, id: StrId) -> &str {
        self.arena.str(id)
    }

    /// A span's name.
    pub fn name(&self, span: &Span) -> &str {
        self.arena.str(span.name)
    }

    /// The span's resource.
    pub fn resource(&self, span: &Span) -> Resource {
        self.arena
            .resources
            .get(span.resource as usize)
            .copied()
            .unwrap_or_default()
    }

    /// The span's instrumentation scope.
    pub fn scope(&self, span: &Span) -> Scope {
        self.arena
            .scopes
            .get(span.scope as usize)
            .copied()
            .unwrap_or_default()
    }

    /// The span's service name, or [`UNKNOWN_SERVICE`] when its resource has none.
    pub fn service_name(&self, span: &Span) -> &str {
        let id = self.resource(span).service_name;
        if id.is_empty() {
            UNKNOWN_SERVICE
        } else {
            self.arena.str(id)
        }
    }

    /// The span's attributes.
    pub fn attrs(&self, span: &Span) -> &[KeyValue] {
        self.arena.kv_slice(span.attrs)
    }

    /// The span's events.
    pub fn events(&self, span: &Span) -> &[Event] {
        self.arena.event_slice(span.events)
    }

    /// The span's links.
    pub fn links(&self, span: &Span) -> &[Link] {
        self.arena.link_slice(span.links)
    }

    /// A span attribute by key.
    pub fn span_attr(&self, span: &Span, key: &str) -> Option<Value> {
        self.arena.find_attr(span.attrs, key)
    }

    /// A resource attribute by key.
    pub fn resource_attr(&self, span: &Span, key: &str) -> Option<Value> {
        self.arena.find_attr(self.resource(span).attrs, key)
    }

    /// A span attribute as text, when present.
    pub fn span_attr_text(&self, span: &Span, key: &str) -> Option<String> {
        self.span_attr(span, key).map(|v| self.arena.value_text(v))
    }

    /// Set-wide indexes of the direct children of a span, in start order.
    pub fn children(&self, index: u32) -> ChildIter<'_> {
        let end = self.span(index).map(|s| index + s.subtree_len).unwrap_or(index);
        ChildIter {
            spans: &self.spans,
            next: index + 1,
            end,
        }
    }

    /// The trace a span belongs to.
    pub fn trace_of(&self, span: &Span) -> Option<&Trace> {
        self.trace(span.trace)
    }

    /// Distinct service names of a trace, sorted.
    pub fn services_of(&self, trace: &Trace) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .trace_spans(trace)
            .iter()
            .map(|s| self.service_name(s))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The first root of a trace (earliest start; a real root wins over an orphan).
    pub fn root_of(&self, trace: &Trace) -> Option<u32> {
        let spans = self.trace_spans(trace);
        let mut best: Option<(bool, u64, u32)> = None;
        let mut i = 0usize;
        while let Some(s) = spans.get(i) {
            let key = (s.is_orphan(), s.start_unix_nanos, trace.spans.start + i as u32);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
            i += s.subtree_len.max(1) as usize;
        }
        best.map(|b| b.2)
    }

    /// Approximate heap bytes of the whole set, for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.arena.heap_bytes()
            + self.spans.capacity() * std::mem::size_of::<Span>()
            + self.traces.capacity() * std::mem::size_of::<Trace>()
    }
}

/// Iterator over the direct children of a span (see [`TraceSet::children`]).
pub struct ChildIter<'a> {
    spans: &'a [Span],
    next: u32,
    end: u32,
}

impl Iterator for ChildIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.next >= self.end {
            return None;
        }
        let current = self.next;
        let len = self
            .spans
            .get(current as usize)
            .map(|s| s.subtree_len.max(1))
            .unwrap_or(1);
        self.next = current + len;
        Some(current)
    }
}
