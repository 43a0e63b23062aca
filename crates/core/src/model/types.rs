//! The plain data of a trace: typed attribute values, span kind and status, and the records
//! stored in a [`super::TraceSet`]'s flat arenas (spans, resources, scopes, events, links).
//!
//! Records refer to each other by index ([`Range32`] into an arena, `u32` positions) so a set of
//! a million spans is a handful of large vectors, not a million small heap trees. Times are
//! integer nanoseconds since the Unix epoch, never floats.

use super::ids::{SpanId, TraceId};
use super::strings::StrId;
use serde::{Deserialize, Serialize};

/// A `start..start+len` window into one of the set's arenas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Range32 {
    pub start: u32,
    pub len: u32,
}

impl Range32 {
    /// The empty range.
    pub const EMPTY: Range32 = Range32 { start: 0, len: 0 };

    /// As a `usize` range for slicing.
    pub fn as_range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start as usize + self.len as usize)
    }

    /// True when the range holds nothing.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// An attribute value (OTLP `AnyValue`). Strings are interned; bytes, arrays and key-value lists
/// live in the set's arenas.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum Value {
    /// A value with no kind set.
    #[default]
    Empty,
    Str(StrId),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// Raw bytes: a range into the set's byte arena.
    Bytes(Range32),
    /// Array elements: a range into the set's value arena.
    Array(Range32),
    /// Nested key-value list: a range into the set's key-value arena.
    KvList(Range32),
}

/// One attribute.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: StrId,
    pub value: Value,
}

/// Span kind, with OTLP's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum SpanKind {
    #[default]
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl SpanKind {
    /// From OTLP's integer.
    pub fn from_i64(v: i64) -> Option<SpanKind> {
        Some(match v {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => return None,
        })
    }

    /// From an enum name (`SPAN_KIND_SERVER`), a short name (`server`, `SERVER`), any case.
    pub fn from_name(name: &str) -> Option<SpanKind> {
        let upper = name.trim().to_ascii_uppercase();
        let short = upper.strip_prefix("SPAN_KIND_").unwrap_or(&upper);
        Some(match short {
            "UNSPECIFIED" | "" => SpanKind::Unspecified,
            "INTERNAL" => SpanKind::Internal,
            "SERVER" => SpanKind::Server,
            "CLIENT" => SpanKind::Client,
            "PRODUCER" => SpanKind::Producer,
            "CONSUMER" => SpanKind::Consumer,
            _ => return None,
        })
    }

    /// The protobuf enum name, as Tempo writes it (`SPAN_KIND_SERVER`).
    pub fn enum_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
            SpanKind::Internal => "SPAN_KIND_INTERNAL",
            SpanKind::Server => "SPAN_KIND_SERVER",
            SpanKind::Client => "SPAN_KIND_CLIENT",
            SpanKind::Producer => "SPAN_KIND_PRODUCER",
            SpanKind::Consumer => "SPAN_KIND_CONSUMER",
        }
    }

    /// The TraceQL / UI spelling (`server`).
    pub fn short_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// Span status code, with OTLP's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum StatusCode {
    #[default]
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl StatusCode {
    /// From OTLP's integer.
    pub fn from_i64(v: i64) -> Option<StatusCode> {
        Some(match v {
            0 => StatusCode::Unset,
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => return None,
        })
    }

    /// From `STATUS_CODE_ERROR`, `error`, `ERROR`, any case.
    pub fn from_name(name: &str) -> Option<StatusCode> {
        let upper = name.trim().to_ascii_uppercase();
        let short = upper.strip_prefix("STATUS_CODE_").unwrap_or(&upper);
        Some(match short {
            "UNSET" | "" => StatusCode::Unset,
            "OK" => StatusCode::Ok,
            "ERROR" => StatusCode::Error,
            _ => return None,
        })
    }

    /// The protobuf enum name (`STATUS_CODE_ERROR`).
    pub fn enum_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "STATUS_CODE_UNSET",
            StatusCode::Ok => "STATUS_CODE_OK",
            StatusCode::Error => "STATUS_CODE_ERROR",
        }
    }

    /// The TraceQL / UI spelling (`error`).
    pub fn short_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// A resource: the process that emitted spans. `service_name` is `service.name` (also kept in
/// `attrs`), or empty when missing.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Resource {
    pub service_name: StrId,
    pub attrs: Range32,
    pub dropped_attributes_count: u32,
    pub schema_url: StrId,
}

/// An instrumentation scope (library).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    pub name: StrId,
    pub version: StrId,
    pub attrs: Range32,
    pub dropped_attributes_count: u32,
    pub schema_url: StrId,
}

/// A span event (Jaeger log, Zipkin annotation).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    pub time_unix_nanos: u64,
    pub name: StrId,
    pub attrs: Range32,
    pub dropped_attributes_count: u32,
}

/// A link to another span, in this trace or another. Never used as a parent.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: StrId,
    pub attrs: Range32,
    pub dropped_attributes_count: u32,
    pub flags: u32,
}

/// "No span": the parent index of a root.
pub const NO_SPAN: u32 = u32::MAX;

/// One span. The first block is what the file said; the last block is filled by assembly
/// ([`super::TraceSetBuilder::finish`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The parent span id the file gave, if any (even when that span is absent).
    pub parent_span_id: Option<SpanId>,
    pub name: StrId,
    pub kind: SpanKind,
    pub status_code: StatusCode,
    pub status_message: StrId,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attrs: Range32,
    pub events: Range32,
    pub links: Range32,
    /// Index into the set's resources.
    pub resource: u32,
    /// Index into the set's scopes.
    pub scope: u32,
    pub trace_state: StrId,
    pub flags: u32,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
    /// Zipkin: the server half of a client/server pair that shares one span id.
    pub shared: bool,

    // --- filled by assembly ---
    /// Index of the trace in the set.
    pub trace: u32,
    /// Index of the parent span in the set, or [`NO_SPAN`] for a root (real or orphan).
    pub parent: u32,
    /// 0 for roots.
    pub depth: u32,
    /// Number of spans in this span's subtree, itself included. Spans of a trace are stored in
    /// depth-first pre-order (roots and children ordered by start), so the subtree of span `i`
    /// is `i .. i + subtree_len`.
    pub subtree_len: u32,
    /// Number of direct children.
    pub child_count: u32,
    /// Clock-skew shift applied for display, in nanoseconds (0 when none). The raw times above
    /// are never changed; [`Span::display_start_unix_nanos`] applies the shift.
    pub skew_shift_nanos: i64,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            trace_id: TraceId::default(),
            span_id: SpanId::default(),
            parent_span_id: None,
            name: StrId::EMPTY,
            kind: SpanKind::Unspecified,
            status_code: StatusCode::Unset,
            status_message: StrId::EMPTY,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            attrs: Range32::EMPTY,
            events: Range32::EMPTY,
            links: Range32::EMPTY,
            resource: 0,
            scope: 0,
            trace_state: StrId::EMPTY,
            flags: 0,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
            shared: false,
            trace: 0,
            parent: NO_SPAN,
            depth: 0,
            subtree_len: 1,
            child_count: 0,
            skew_shift_nanos: 0,
        }
    }
}

impl Span {
    /// `end - start`, saturating at 0.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// Start time after the clock-skew shift (equal to the raw start when there is none).
    pub fn display_start_unix_nanos(&self) -> u64 {
        shift(self.start_unix_nanos, self.skew_shift_nanos)
    }

    /// End time after the clock-skew shift.
    pub fn display_end_unix_nanos(&self) -> u64 {
        shift(self.end_unix_nanos, self.skew_shift_nanos)
    }

    /// True for a root (no parent in the set), including orphans.
    pub fn is_root(&self) -> bool {
        self.parent == NO_SPAN
    }

    /// True when the file named a parent that is not in the set.
    pub fn is_orphan(&self) -> bool {
        self.parent == NO_SPAN && self.parent_span_id.is_some()
    }

    /// True when the status is ERROR.
    pub fn is_error(&self) -> bool {
        self.status_code == StatusCode::Error
    }
}

fn shift(t: u64, by: i64) -> u64 {
    if by >= 0 {
        t.saturating_add(by as u64)
    } else {
        t.saturating_sub(by.unsigned_abs())
    }
}

/// One assembled trace: its spans are `spans` (a range of the set's span vector) in pre-order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub trace_id: TraceId,
    pub spans: Range32,
    /// Number of roots (spans without a parent in the trace, orphans included).
    pub root_count: u32,
    /// Number of orphans (a parent id given but absent).
    pub orphan_count: u32,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub error_count: u32,
    pub max_depth: u32,
    /// Spans whose display times were shifted for clock skew.
    pub skew_adjusted_count: u32,
}

impl Trace {
    /// Trace duration: latest end minus earliest start over all spans.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}
