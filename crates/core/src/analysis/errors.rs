//! Errors over a set (`shared/design/analysis.md` §6): counts, exception events, and clusters
//! of error spans by (service, span name, reason).
//!
//! Decisions:
//! - Error span = status ERROR or a truthy `error` attribute (see `prep`).
//! - Reason = the `exception.type` of the span's first exception event, else its status
//!   message (empty when it has neither). Exception events are events named `exception` or
//!   carrying `exception.type`/`exception.message`; they are counted on every span.
//! - First/last seen = the earliest/latest display start of the cluster's spans; up to
//!   [`MAX_CLUSTER_EXAMPLES`] distinct example trace ids in set order (traces by start).
//! - Clusters sorted by count (highest first), then service, span name, reason.
//! - Per-trace root causes are in the trace summaries (see `trace`).

use super::prep::{event_attr, Prepared};
use crate::model::{StrId, Value};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

/// Example trace ids kept per cluster.
pub const MAX_CLUSTER_EXAMPLES: usize = 5;

/// Errors of one (service, span name, reason).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCluster {
    pub service: String,
    pub span_name: String,
    /// Exception type, else status message.
    pub reason: String,
    /// True when `reason` is an exception type.
    pub from_exception: bool,
    /// A message of the first error (exception message, else status message).
    pub example_message: String,
    pub count: u64,
    pub first_seen_unix_nanos: u64,
    pub last_seen_unix_nanos: u64,
    pub example_trace_ids: Vec<String>,
}

/// All errors of a set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub error_spans: u64,
    pub exception_events: u64,
    pub traces_with_errors: u64,
    pub clusters: Vec<ErrorCluster>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Reason {
    Exception(StrId),
    ExceptionText(String),
    Status(StrId),
}

struct Acc {
    count: u64,
    first: u64,
    last: u64,
    message: String,
    traces: Vec<u32>,
}

/// Builds the error report.
pub(crate) fn build(prep: &Prepared<'_>) -> ErrorReport {
    let set = prep.set;
    let k = &prep.keys;
    let mut report = ErrorReport::default();
    let mut clusters: HashMap<(u32, Reason), Acc> = HashMap::new();
    let mut last_trace = u32::MAX;
    for (i, span) in set.spans().iter().enumerate() {
        let idx = i as u32;
        let mut first_exception: Option<(Value, Option<Value>)> = None;
        for e in set.events(span) {
            let ty = event_attr(set, e, k.exception_type);
            let msg = event_attr(set, e, k.exception_message);
            if Some(e.name) == k.exception || ty.is_some() || msg.is_some() {
                report.exception_events += 1;
                if first_exception.is_none() {
                    first_exception = Some((ty.unwrap_or(Value::Empty), msg));
                }
            }
        }
        if !prep.is_error(idx) {
            continue;
        }
        report.error_spans += 1;
        if span.trace != last_trace {
            report.traces_with_errors += 1;
            last_trace = span.trace;
        }
        let (reason, message) = match first_exception {
            Some((Value::Str(t), msg)) if !t.is_empty() => (Reason::Exception(t), msg),
            Some((Value::Empty, msg)) | Some((Value::Str(_), msg)) => {
                (Reason::Status(span.status_message), msg)
            }
            Some((other, msg)) => (Reason::ExceptionText(set.arena.value_text(other)), msg),
            None => (Reason::Status(span.status_message), None),
        };
        let start = span.display_start_unix_nanos();
        let acc = clusters.entry((prep.op_of(idx), reason)).or_insert_with(|| Acc {
            count: 0,
            first: start,
            last: start,
            message: message
                .map(|m| set.arena.value_text(m))
                .unwrap_or_else(|| set.str(span.status_message).to_string()),
            traces: Vec::new(),
        });
        acc.count += 1;
        acc.first = acc.first.min(start);
        acc.last = acc.last.max(start);
        if acc.traces.len() < MAX_CLUSTER_EXAMPLES
            && acc.traces.last() != Some(&span.trace)
            && !acc.traces.contains(&span.trace)
        {
            acc.traces.push(span.trace);
        }
    }
    let mut out: Vec<ErrorCluster> = clusters
        .into_iter()
        .map(|((op, reason), acc)| {
            let (service, name) = prep.op_text(op);
            let (reason, from_exception) = match reason {
                Reason::Exception(t) => (set.str(t).to_string(), true),
                Reason::ExceptionText(t) => (t, true),
                Reason::Status(s) => (set.str(s).to_string(), false),
            };
            ErrorCluster {
                service: service.to_string(),
                span_name: name.to_string(),
                reason,
                from_exception,
                example_message: acc.message,
                count: acc.count,
                first_seen_unix_nanos: acc.first,
                last_seen_unix_nanos: acc.last,
                example_trace_ids: acc
                    .traces
                    .iter()
                    .filter_map(|&t| set.trace(t).map(|t| t.trace_id.to_hex()))
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.service.cmp(&b.service))
            .then_with(|| a.span_name.cmp(&b.span_name))
            .then_with(|| a.reason.cmp(&b.reason))
            .then_with(|| a.from_exception.cmp(&b.from_exception))
    });
    report.clusters = out;
    report
}
