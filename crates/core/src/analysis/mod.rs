//! The analysis of loaded traces (`shared/design/analysis.md` §1–§6, plus trace comparison):
//! one entry point per use, the same code in the SPA's worker (wasm) and the CLI/server.
//!
//! - [`analyze_set`]: the service graph (§2), span metrics and RED series (§3), operations with
//!   category and grade and services with grades (§4), bottlenecks and recommendations (§5),
//!   error clusters (§6), and one summary per trace (grade, worst critical-path grade, root
//!   cause).
//! - [`analyze_trace`]: one trace (§1): self times, critical path, statistics table, operation
//!   graph, errors and root cause.
//! - [`compare_traces`]: two traces, from one set or two.
//!
//! Every time is integer nanoseconds and the display (clock-skew adjusted) time; every list is
//! sorted (documented per type) so outputs are deterministic; everything is `Serialize` +
//! `Deserialize`. Internally spans are grouped by interned ids and indexes; strings are made
//! only for the output. Not here: reading files, TraceQL, the Prometheus exposition.

mod bottlenecks;
mod compare;
mod errors;
mod metrics;
mod prep;
mod rules;
mod service_graph;
mod stats;
mod trace;

pub use bottlenecks::{
    impact, Bottleneck, Recommendation, RecommendationKind, Severity, ERROR_STORM_MIN, ERROR_STORM_RATE,
    N_PLUS_ONE_MIN, RETRY_MIN, SELF_TIME_DOMINANT, SEQUENTIAL_MIN_SAVING,
};
pub use compare::{compare_traces, CompareError, OperationDelta, TraceComparison, UnmatchedSpans};
pub use errors::{ErrorCluster, ErrorReport, MAX_CLUSTER_EXAMPLES};
pub use metrics::{
    choose_step, RedPoint, RedSeries, RedTimeline, RollupMetrics, SpanMetrics, SpanMetricsGroup,
};
pub use rules::{
    parse_duration_nanos, Category, Grade, Matcher, RequestClass, Rules, RulesError, Thresholds, MAX_MATCHERS,
};
pub use service_graph::{ConnectionType, GraphEdge, GraphNode, ServerRed, ServiceGraph};
pub use stats::{
    histogram, percentile_sorted, DurationSummary, Histogram, SERVICE_GRAPH_BUCKETS_NANOS,
    SPAN_METRICS_BUCKETS_NANOS,
};
pub use trace::{
    critical_path, critical_path_raw, CriticalSegment, ErrorSpan, ExceptionInfo, OperationEdge,
    OperationStats, SpanFigures, TraceAnalysis,
};

use crate::model::TraceSet;
use prep::Prepared;
use serde::{Deserialize, Serialize};

/// Why an analysis could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("trace index {index} is out of range (the set has {count} traces)")]
    NoSuchTrace { index: u32, count: usize },
}

/// An operation (service + span name) over the whole set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationSummary {
    pub service: String,
    pub name: String,
    pub category: String,
    /// Grade of the p95.
    pub grade: Grade,
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency: DurationSummary,
    pub self_total_nanos: u64,
    pub self_mean_nanos: u64,
    /// Calls slower than the category target.
    pub over_target: u64,
    /// Calls per request class: fast, medium (or normal), slow.
    pub fast: u64,
    pub medium: u64,
    pub slow: u64,
    /// Label of the middle class in this category (`Medium`, `Normal`).
    pub medium_label: String,
    pub bottleneck: bool,
}

/// A service over the whole set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    pub service: String,
    pub operations: u32,
    pub calls: u64,
    pub errors: u64,
    /// Call-weighted mean of the operations' grade points (A = 4 … F = 0).
    pub grade_points: f64,
    pub grade: Grade,
}

/// One line per trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_index: u32,
    pub trace_id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub span_count: u32,
    pub error_count: u32,
    /// The main root's duration graded with its operation's category.
    pub grade: Option<Grade>,
    pub worst_critical_path_grade: Option<Grade>,
    pub root_cause_span_id: Option<String>,
}

/// Everything [`analyze_set`] computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetAnalysis {
    pub span_count: u64,
    pub trace_count: u64,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub service_graph: ServiceGraph,
    pub span_metrics: SpanMetrics,
    /// Sorted by (service, name).
    pub operations: Vec<OperationSummary>,
    /// Sorted by service.
    pub services: Vec<ServiceSummary>,
    /// Highest impact first.
    pub bottlenecks: Vec<Bottleneck>,
    /// All recommendations, by kind, then operation.
    pub recommendations: Vec<Recommendation>,
    pub errors: ErrorReport,
    /// In set order (traces by start time).
    pub traces: Vec<TraceSummary>,
}

/// Analyses a whole set.
pub fn analyze_set(set: &TraceSet, rules: &Rules) -> SetAnalysis {
    let prep = Prepared::new(set, rules);
    let service_graph = service_graph::build(&prep);
    let (span_metrics, figs) = metrics::compute(&prep);
    let (bottlenecks, recommendations) = bottlenecks::find(&prep, &figs);
    let errors = errors::build(&prep);

    let mut is_bottleneck = vec![false; prep.ops.len()];
    for b in &bottlenecks {
        if let Ok(i) = prep.ops.binary_search_by(|&(s, n)| {
            (prep.svc(s), set.str(n)).cmp(&(b.service.as_str(), b.operation.as_str()))
        }) {
            if let Some(x) = is_bottleneck.get_mut(i) {
                *x = true;
            }
        }
    }
    let mut operations = Vec::with_capacity(prep.ops.len());
    let mut svc_acc: Vec<(u32, u64, u64, u64)> = vec![(0, 0, 0, 0); prep.services.len()];
    for (op, f) in figs.iter().enumerate() {
        let op32 = op as u32;
        let (service, name) = prep.op_text(op32);
        let cat_index = prep.category_of_op(op32);
        let cat = rules.category(cat_index);
        let grade = cat.thresholds.grade(f.latency.p95_nanos);
        if let Some(acc) = prep.op_service.get(op).and_then(|&s| svc_acc.get_mut(s as usize)) {
            acc.0 += 1;
            acc.1 += f.calls;
            acc.2 += f.errors;
            acc.3 += f.calls * u64::from(grade.points());
        }
        operations.push(OperationSummary {
            service: service.to_string(),
            name: name.to_string(),
            category: cat.name.clone(),
            grade,
            calls: f.calls,
            errors: f.errors,
            error_rate: stats::ratio(f.errors, f.calls),
            latency: f.latency.clone(),
            self_total_nanos: f.self_total_nanos,
            self_mean_nanos: f.self_total_nanos.checked_div(f.calls).unwrap_or(0),
            over_target: f.over_target,
            fast: f.classes[0],
            medium: f.classes[1],
            slow: f.classes[2],
            medium_label: cat.middle_label.clone(),
            bottleneck: is_bottleneck.get(op).copied().unwrap_or(false),
        });
    }
    let services = prep
        .services
        .iter()
        .zip(svc_acc.iter())
        .map(|(&svc, &(ops, calls, errors, points))| {
            let mean = stats::ratio(points, calls);
            ServiceSummary {
                service: prep.svc(svc).to_string(),
                operations: ops,
                calls,
                errors,
                grade_points: mean,
                grade: Grade::from_mean_points(mean),
            }
        })
        .collect();
    let mut traces = Vec::with_capacity(set.traces().len());
    for (ti, t) in set.traces().iter().enumerate() {
        let root = set.root_of(t);
        let path = root.map(|r| critical_path_raw(set, r)).unwrap_or_default();
        let (grade, worst) = trace::trace_grades(&prep, root, &path);
        let (root_service, root_name) = root.map(|r| prep.op_text(prep.op_of(r))).unwrap_or(("", ""));
        let errors_in = prep.errors.get(t.spans.as_range()).unwrap_or(&[]);
        let rc = if errors_in.iter().any(|&e| e) {
            trace::root_cause(&prep, t)
        } else {
            None
        };
        traces.push(TraceSummary {
            trace_index: ti as u32,
            trace_id: t.trace_id.to_hex(),
            root_service: root_service.to_string(),
            root_name: root_name.to_string(),
            start_unix_nanos: t.start_unix_nanos,
            duration_nanos: t.duration_nanos(),
            span_count: t.spans.len,
            error_count: errors_in.iter().filter(|&&e| e).count() as u32,
            grade,
            worst_critical_path_grade: worst,
            root_cause_span_id: rc.and_then(|i| set.span(i)).map(|s| s.span_id.to_hex()),
        });
    }
    let (start, end) = prep::time_range(set);
    SetAnalysis {
        span_count: set.span_count() as u64,
        trace_count: set.traces().len() as u64,
        start_unix_nanos: start,
        end_unix_nanos: end,
        service_graph,
        span_metrics,
        operations,
        services,
        bottlenecks,
        recommendations,
        errors,
        traces,
    }
}

/// Analyses one trace of a set. Its operations' categories are decided over the whole set, so
/// grades agree with [`analyze_set`]; everything else only touches the trace's spans (plus one
/// cheap pass over the set for those categories).
pub fn analyze_trace(
    set: &TraceSet,
    trace_index: u32,
    rules: &Rules,
) -> Result<TraceAnalysis, AnalysisError> {
    let trace = set
        .trace(trace_index)
        .copied()
        .ok_or(AnalysisError::NoSuchTrace {
            index: trace_index,
            count: set.traces().len(),
        })?;
    let prep = Prepared::scoped(set, rules, trace.spans.as_range());
    Ok(trace::analyze(&prep, trace_index, &trace))
}
