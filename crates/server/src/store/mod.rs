//! The trace store behind the query API: one trait, two implementations. `sqlite` is the
//! embedded, durable default; `tempo` reads from a real Tempo cluster.
//!
//! The store keeps spans and answers with [`TraceSet`]s and summaries; it knows nothing of
//! HTTP or of the Tempo JSON shapes (the `api` modules do that). Every method takes the tenants
//! to read (one, or several for `a|b`); single-tenant mode uses [`DEFAULT_TENANT`].

pub mod attr_bloom;
pub mod batch;
pub mod sqlite;
pub mod tempo;

use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::formats::writers;
use spanlens_core::model::{TraceId, TraceSet};
use spanlens_core::query::Prefilter;

/// The tenant used when multi-tenancy is off.
pub const DEFAULT_TENANT: &str = "single-tenant";

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Storage(String),
    #[error("upstream error: {0}")]
    Upstream(String),
}

/// Result of an append.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Spans written durably.
    pub spans_stored: u64,
    /// Spans refused (for example a trace over the size cap).
    pub spans_rejected: u64,
}

/// A trace read back by id.
#[derive(Clone, Debug)]
pub struct StoredTrace {
    pub set: TraceSet,
    /// True when the trace was cut at the per-trace size cap.
    pub partial: bool,
}

/// Cheap per-trace facts kept at ingest, for search without loading spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    /// Empty when the root span has not arrived.
    pub root_service: String,
    pub root_name: String,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub span_count: u64,
    pub error_count: u64,
}

/// Filters the store can apply from its indexes before any span is loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Traces overlapping `[start, end]` (unix nanoseconds), when set.
    pub start_unix_nanos: Option<u64>,
    pub end_unix_nanos: Option<u64>,
    pub min_duration_nanos: Option<u64>,
    pub max_duration_nanos: Option<u64>,
    /// Only traces with a span of this service.
    pub service: Option<String>,
    /// Only traces with a span of this name.
    pub span_name: Option<String>,
    /// Only traces with an error span.
    pub errors_only: bool,
    /// Only traces with a span (or resource) attribute equal to each (key, value).
    pub attributes: Vec<(String, String)>,
    /// Most recent first; at most this many (0 = no limit).
    pub limit: usize,
}

/// What a [`TraceStore::scan_candidates`] visitor wants after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanControl {
    /// Enough: stop reading.
    Stop,
    /// Send about this many more candidate traces in the next batch.
    Continue(usize),
}

/// Attribute scopes for tag listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScope {
    Resource,
    Span,
    Event,
    Link,
}

/// A distinct attribute value with its type, for the tag-values endpoints.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagValue {
    /// `string`, `int`, `float` or `bool`.
    pub value_type: &'static str,
    pub value: String,
}

/// Store size and counters, for `/metrics` and `/api/tracing/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub traces: u64,
    pub spans: u64,
    pub bytes_on_disk: u64,
}

/// The operations the API needs. Implementations are blocking; async callers use
/// `tokio::task::spawn_blocking`.
pub trait TraceStore: Send + Sync + 'static {
    /// Stores the spans of `batch` for `tenant`, merged with what the store already holds for
    /// the same traces. Returns only once the spans are durable.
    fn append(&self, tenant: &str, batch: &TraceSet) -> Result<AppendOutcome, StoreError>;

    /// Stores decoded OTLP (the ingest path; already redacted). Spans without valid ids are
    /// refused and counted in `spans_rejected`. The default goes through the model.
    fn append_otlp(&self, tenant: &str, data: &wire::TracesData) -> Result<AppendOutcome, StoreError> {
        use prost::Message;
        let bytes = data.encode_to_vec();
        let set = spanlens_core::formats::read(&bytes, Some(spanlens_core::formats::Format::OtlpProto))
            .map_err(|e| StoreError::Storage(e.to_string()))?;
        self.append(tenant, &set)
    }

    /// Whether [`TraceStore::append_split`] stores (the protobuf ingest fast path); when
    /// false, ingest decodes and calls [`TraceStore::append_otlp`].
    fn accepts_split(&self) -> bool {
        false
    }

    /// Stores a batch already split per trace by ingest (redacted; durable on return). Only
    /// called when [`TraceStore::accepts_split`] is true.
    fn append_split(&self, _tenant: &str, _split: batch::SplitBatch) -> Result<AppendOutcome, StoreError> {
        Err(StoreError::Storage(
            "this store does not take split batches".to_string(),
        ))
    }

    /// One trace by id, optionally only if it overlaps `[start, end]` (unix nanoseconds).
    fn get_trace(
        &self,
        tenants: &[String],
        trace_id: TraceId,
        window: Option<(u64, u64)>,
    ) -> Result<Option<StoredTrace>, StoreError>;

    /// Summaries of traces passing `filter`, most recent first.
    fn find_traces(&self, tenants: &[String], filter: &TraceFilter) -> Result<Vec<TraceSummary>, StoreError>;

    /// The traces passing `filter` (its `limit` is ignored) that may satisfy `prefilter`, most
    /// recent first (ties by trace id), handed to `visit` in batches of loaded traces: the first
    /// batch holds about `first_batch` traces, later ones what `visit` asks for. A store may
    /// ignore `prefilter` (it only saves work) but must never leave out a trace satisfying it;
    /// the caller evaluates the exact query on every batch.
    fn scan_candidates(
        &self,
        tenants: &[String],
        filter: &TraceFilter,
        prefilter: &Prefilter,
        first_batch: usize,
        visit: &mut dyn FnMut(TraceSet) -> Result<ScanControl, StoreError>,
    ) -> Result<(), StoreError> {
        if prefilter.is_unsatisfiable() {
            return Ok(());
        }
        let all = TraceFilter {
            limit: 0,
            ..filter.clone()
        };
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<TraceId> = self
            .find_traces(tenants, &all)?
            .into_iter()
            .map(|s| s.trace_id)
            .filter(|id| seen.insert(id.0))
            .collect();
        let mut want = first_batch.max(1);
        let mut rest = ids.as_slice();
        while !rest.is_empty() {
            let (batch, tail) = rest.split_at(want.min(rest.len()));
            rest = tail;
            match visit(self.load_traces(tenants, batch)?)? {
                ScanControl::Stop => break,
                ScanControl::Continue(n) => want = n.max(1),
            }
        }
        Ok(())
    }

    /// Several traces at once, as one set (for TraceQL evaluation and analysis).
    fn load_traces(&self, tenants: &[String], ids: &[TraceId]) -> Result<TraceSet, StoreError>;

    /// Distinct attribute names per scope, sorted.
    fn tag_names(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
    ) -> Result<Vec<(TagScope, String)>, StoreError>;

    /// Distinct values of one attribute (`scope` None = any scope), sorted, at most `limit`.
    fn tag_values(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
        key: &str,
        limit: usize,
    ) -> Result<Vec<TagValue>, StoreError>;

    /// Deletes traces that ended before `cutoff_unix_nanos`; returns how many. (The SQLite
    /// store goes by the time a trace was last written, as Tempo's retention goes by block
    /// time, so uploaded old traces are kept for the retention period too.)
    fn delete_before(&self, cutoff_unix_nanos: u64) -> Result<u64, StoreError>;

    /// Size figures.
    fn stats(&self) -> Result<StoreStats, StoreError>;
}

/// A whole set as OTLP wire types (every span of every trace).
pub fn set_to_otlp(set: &TraceSet) -> Result<wire::TracesData, StoreError> {
    Ok(writers::to_traces_data(set, &writers::span_indexes(set, None)))
}
