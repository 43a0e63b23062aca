//! The Tempo HTTP API as data: parsing and building the request parameters, and the response
//! shapes, shared by the SPA (which reads a Tempo or our server) and the server (which answers
//! like a Tempo). Rules: `shared/design/tempo-api.md`.
//!
//! - [`params`]: trace ids, unix-second times, Go durations, `limit`/`spss`, logfmt `tags`,
//!   with the exact error texts a Tempo answers (`400 text/plain`).
//! - [`types`]: the JSON response bodies (search, tags, tag values, TraceQL metrics), in
//!   Tempo's protobuf-JSON spelling (camelCase, 64-bit integers as strings, zero values omitted).
//!
//! Not here: HTTP, evaluation of queries, or the trace JSON writers (`formats::writers`).

pub mod params;
pub mod types;

pub use params::{
    encode_query, parse_go_duration, parse_logfmt, parse_positive, parse_trace_id, parse_unix_seconds,
    ParamError, SearchParams, TagScopeParam,
};
pub use types::*;
