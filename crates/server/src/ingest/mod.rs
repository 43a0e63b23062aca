//! Ingest: OTLP over HTTP ([`http`]) and gRPC ([`grpc`]), file upload ([`upload`]), all ending
//! in [`store_batch`]: redaction, then a durable append, then optional forwarding.
//!
//! Follows the OTLP/HTTP and OTLP/gRPC specifications (opentelemetry-proto `collector/trace/v1`)
//! and answers the way Tempo's distributor does. Decoding and storing run on the blocking pool,
//! never on the async workers.

pub mod grpc;
pub mod http;
pub mod upload;

use crate::state::AppState;
use crate::store::StoreError;
use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use std::sync::atomic::Ordering;

/// What one ingest did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub spans_stored: u64,
    pub spans_rejected: u64,
    /// Why spans were rejected (the first reason), for `partial_success.error_message`.
    pub message: Option<String>,
}

/// Counts spans in a batch.
pub fn span_count(resource_spans: &[wire::ResourceSpans]) -> u64 {
    resource_spans
        .iter()
        .map(|rs| {
            rs.scope_spans.iter().map(|ss| ss.spans.len() as u64).sum::<u64>()
                + rs.instrumentation_library_spans
                    .iter()
                    .map(|s| s.spans.len() as u64)
                    .sum::<u64>()
        })
        .sum()
}

/// Why spans of a batch were refused, when the store does not say (bad ids).
fn rejection_reason(resource_spans: &[wire::ResourceSpans]) -> Option<String> {
    let batch = crate::store::batch::split(resource_spans);
    batch.first_error
}

/// Redacts, stores durably and forwards one decoded batch. Blocking: call from the blocking pool.
pub fn store_batch(
    state: &AppState,
    tenant: &str,
    mut data: wire::TracesData,
) -> Result<IngestOutcome, StoreError> {
    let received = span_count(&data.resource_spans);
    state
        .metrics
        .spans_received
        .fetch_add(received, Ordering::Relaxed);
    let redacted = state.redactor.redact(&mut data.resource_spans);
    if redacted > 0 {
        state
            .metrics
            .attributes_redacted
            .fetch_add(redacted, Ordering::Relaxed);
    }
    let outcome = match state.store.append_otlp(tenant, &data) {
        Ok(o) => o,
        Err(e) => {
            state.metrics.ingest_errors.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
    };
    state
        .metrics
        .spans_stored
        .fetch_add(outcome.spans_stored, Ordering::Relaxed);
    state
        .metrics
        .spans_rejected
        .fetch_add(outcome.spans_rejected, Ordering::Relaxed);
    if let Some(forwarder) = &state.forwarder {
        forwarder.forward(tenant, data.encode_to_vec());
    }
    let message = if outcome.spans_rejected > 0 {
        let reason = rejection_reason(&data.resource_spans)
            .unwrap_or_else(|| "trace exceeds the per-trace size limit (max_trace_bytes)".to_string());
        Some(format!("{} spans rejected: {reason}", outcome.spans_rejected))
    } else {
        None
    };
    Ok(IngestOutcome {
        spans_stored: outcome.spans_stored,
        spans_rejected: outcome.spans_rejected,
        message,
    })
}
