//! Ingest: OTLP over HTTP and gRPC, file upload, redaction.

pub mod http;
pub mod upload;
