//! spanlens-core: the trace model, the readers and writers of every trace format, and the
//! analysis, shared by the browser (wasm) and the server/CLI (native).
//!
//! This crate is pure: no I/O, no clock, no threads, no web or server dependencies. Callers hand
//! it bytes and get a [`model::TraceSet`] (plus [`diagnostics::Diagnostics`]) back.
//!
//! - [`model`]: ids, typed attributes, spans, and the flat, interned [`model::TraceSet`].
//! - [`formats`]: format detection, readers (OTLP JSON/protobuf, Jaeger JSON, Zipkin v2 JSON)
//!   and writers (OTLP JSON, Tempo v1/v2 JSON, OTLP protobuf).
//! - [`diagnostics`]: partial-failure reports: what was skipped, where, and why.

pub mod analysis;
pub mod diagnostics;
pub mod formats;
pub mod model;
pub mod query;
pub mod synth;
pub mod tempo_api;
