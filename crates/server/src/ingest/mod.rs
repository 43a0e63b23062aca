//! Ingest: OTLP over HTTP ([`http`]) and gRPC ([`grpc`]), file upload ([`upload`]), all ending
//! in [`store_batch`]: redaction, then a durable append, then optional forwarding.
//!
//! Follows the OTLP/HTTP and OTLP/gRPC specifications (opentelemetry-proto `collector/trace/v1`)
//! and answers the way Tempo's distributor does. Decoding and storing run on the blocking pool,
//! never on the async workers.

pub mod fast_split;
pub mod grpc;
pub mod http;
pub mod proto_walk;
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

/// Stores durably and forwards a raw OTLP protobuf body through the fast path
/// ([`fast_split`]): no decode into owned structs. `None` when the fast path declines the body
/// (redaction needed, unusual or malformed input) or the store has no split path: then decode
/// it and call [`store_batch`]. Blocking: call from the blocking pool.
pub fn store_protobuf(
    state: &AppState,
    tenant: &str,
    body: &[u8],
) -> Option<Result<IngestOutcome, StoreError>> {
    if !state.store.accepts_split() {
        return None;
    }
    let split = match fast_split::FastSplitter::new(&state.redactor).split(body) {
        Ok(s) => s,
        Err(e) => {
            tracing::trace!(reason = %e, "ingest: fast path declined");
            return None;
        }
    };
    state
        .metrics
        .spans_received
        .fetch_add(split.spans_received, Ordering::Relaxed);
    let first_error = split.batch.first_error.clone();
    let outcome = match state.store.append_split(tenant, split.batch) {
        Ok(o) => o,
        Err(e) => {
            state.metrics.ingest_errors.fetch_add(1, Ordering::Relaxed);
            return Some(Err(e));
        }
    };
    if let Some(forwarder) = &state.forwarder {
        forwarder.forward(tenant, body.to_vec());
    }
    Some(Ok(finish_outcome(state, outcome, || first_error)))
}

/// Counts a store outcome in the metrics and words the rejection message.
fn finish_outcome(
    state: &AppState,
    outcome: crate::store::AppendOutcome,
    reason: impl FnOnce() -> Option<String>,
) -> IngestOutcome {
    state
        .metrics
        .spans_stored
        .fetch_add(outcome.spans_stored, Ordering::Relaxed);
    state
        .metrics
        .spans_rejected
        .fetch_add(outcome.spans_rejected, Ordering::Relaxed);
    let message = if outcome.spans_rejected > 0 {
        let reason = reason()
            .unwrap_or_else(|| "trace exceeds the per-trace size limit (max_trace_bytes)".to_string());
        Some(format!("{} spans rejected: {reason}", outcome.spans_rejected))
    } else {
        None
    };
    IngestOutcome {
        spans_stored: outcome.spans_stored,
        spans_rejected: outcome.spans_rejected,
        message,
    }
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
    if let Some(forwarder) = &state.forwarder {
        forwarder.forward(tenant, data.encode_to_vec());
    }
    Ok(finish_outcome(state, outcome, || {
        rejection_reason(&data.resource_spans)
    }))
}
