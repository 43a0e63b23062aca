//! The trace model: ids, interned strings, typed attribute values, spans with their resources,
//! scopes, events and links, and [`TraceSet`], which holds many traces in flat arenas.
//!
//! Build a set with [`TraceSetBuilder`] (readers do), then [`TraceSetBuilder::finish`] to
//! assemble the trees. Not here: format parsing or analysis.

mod arena;
mod assemble;
mod ids;
mod set;
mod strings;
mod types;

pub use arena::{format_double, owned_to_json, Arena, OwnedValue};
pub use ids::{IdEncoding, IdError, SpanId, TraceId};
pub use set::{ChildIter, TraceSet, TraceSetBuilder, UNKNOWN_SERVICE};
pub use strings::{Interner, StrId};
pub use types::{
    Event, KeyValue, Link, Range32, Resource, Scope, Span, SpanKind, StatusCode, Trace, Value, NO_SPAN,
};
