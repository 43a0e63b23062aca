//! The server's own counters (spans received, rejected, stored; request latencies; redactions),
//! exported on `GET /metrics` with the span-metrics and service-graph series. (Skeleton.)

use std::sync::atomic::AtomicU64;

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    pub spans_received: AtomicU64,
    pub spans_rejected: AtomicU64,
    pub spans_stored: AtomicU64,
    pub attributes_redacted: AtomicU64,
}
