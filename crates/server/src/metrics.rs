//! The server's own counters (spans received, rejected, stored; ingest requests, bytes and
//! latencies; redactions), exported on `GET /metrics` by `api::prometheus` together with the
//! span-metrics and service-graph series. Plain atomics: cheap on the ingest path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets; the last bucket is `+Inf`.
pub const LATENCY_BUCKETS_SECONDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A cumulative-on-render latency histogram (per-bucket counts, not cumulative).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Count per bucket of [`LATENCY_BUCKETS_SECONDS`], then one for `+Inf`.
    pub buckets: [AtomicU64; 13],
    pub count: AtomicU64,
    /// Sum of observations in microseconds.
    pub sum_micros: AtomicU64,
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS_SECONDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    pub spans_received: AtomicU64,
    pub spans_rejected: AtomicU64,
    pub spans_stored: AtomicU64,
    pub attributes_redacted: AtomicU64,
    /// OTLP/HTTP export requests answered (any status).
    pub ingest_requests_http: AtomicU64,
    /// OTLP/gRPC export calls answered (any status).
    pub ingest_requests_grpc: AtomicU64,
    /// Request bodies received by ingest (as sent, possibly compressed).
    pub ingest_bytes: AtomicU64,
    /// Requests refused as undecodable, too large or of a wrong type.
    pub ingest_bad_requests: AtomicU64,
    /// Store failures during ingest (answered 500 / UNAVAILABLE).
    pub ingest_errors: AtomicU64,
    /// Files stored through `POST /api/upload`.
    pub uploads: AtomicU64,
    /// Ingest request latency (receive to answer), HTTP and gRPC.
    pub ingest_latency: LatencyHistogram,
    /// Ingest forwarding (`--forward-otlp`): batches sent, failed, dropped (queue full).
    pub forward_sent: AtomicU64,
    pub forward_failed: AtomicU64,
    pub forward_dropped: AtomicU64,
}
