//! One trace (`shared/design/analysis.md` §1, §4 trace grade, §6 root cause): self times, the
//! critical path, depth and fan-out, the Jaeger-like statistics table per (service, operation),
//! the operation graph, error spans with their exception events, and the root-cause candidate.
//!
//! Decisions:
//! - Display (clock-skew adjusted) times everywhere; raw times are in the model.
//! - Critical path: from the **main root** (`TraceSet::root_of`: the earliest real root; an
//!   orphan only when there is no real root); other roots are not on it. Backwards from the
//!   root's end: among the children (clipped to the current span), take the one that ended last
//!   at or before the current point, recurse into it, continue before its start; a child that
//!   ends after the current point is skipped (Jaeger's rule). Uncovered time is the span's own.
//!   Segments are in time order, adjacent pieces of one span merged, and their lengths sum to
//!   the root's duration exactly.
//! - Statistics "% of trace" = the operation's self-time total over the trace duration (the
//!   trace's earliest start to latest end, all roots) × 100.
//! - Operation graph: nodes are the rows of the statistics table; one edge per (parent
//!   operation, child operation) with the number of parent→child span pairs; edges within one
//!   service are flagged `same_service`.
//! - Root cause: the deepest error span none of whose children is an error; ties go to the
//!   earliest in pre-order.
//! - Trace grade: the root span's duration graded with its operation's category; worst
//!   critical-path grade: the worst grade of any span on the critical path, each graded by its
//!   own duration with its operation's category.
//!
//! Not here: set-wide aggregates (see `metrics`, `service_graph`).

use super::prep::{event_attr, Prepared};
use super::rules::{Grade, RequestClass};
use crate::model::{Span, Trace, TraceSet};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A piece of the critical path: `span` (set-wide index) between two display times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalSegment {
    pub span: u32,
    pub span_id: String,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
}

/// Per-span figures of one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanFigures {
    /// Set-wide span index.
    pub span: u32,
    /// Row of [`TraceAnalysis::operations`].
    pub operation: u32,
    pub duration_nanos: u64,
    pub self_nanos: u64,
    pub depth: u32,
    pub child_count: u32,
    pub error: bool,
    pub on_critical_path: bool,
    /// Time this span holds on the critical path.
    pub critical_nanos: u64,
    pub class: RequestClass,
    /// The class as the UI shows it (`Fast`, `Medium`/`Normal`, `Slow`).
    pub class_label: String,
}

/// One row of the statistics table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationStats {
    pub service: String,
    pub name: String,
    pub category: String,
    pub count: u64,
    pub errors: u64,
    pub total_nanos: u64,
    pub avg_nanos: u64,
    pub min_nanos: u64,
    pub max_nanos: u64,
    pub self_total_nanos: u64,
    pub self_avg_nanos: u64,
    pub self_min_nanos: u64,
    pub self_max_nanos: u64,
    /// Self-time total / trace duration × 100.
    pub percent_of_trace: f64,
}

/// An edge of the operation graph (indexes into the statistics table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationEdge {
    pub parent: u32,
    pub child: u32,
    pub count: u64,
    pub same_service: bool,
}

/// An exception event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    pub time_unix_nanos: u64,
    pub exception_type: String,
    pub message: String,
    pub stacktrace: String,
}

/// An error span (or a span with exception events) of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSpan {
    pub span: u32,
    pub span_id: String,
    pub service: String,
    pub name: String,
    /// Status ERROR or an `error` attribute.
    pub error: bool,
    pub status_message: String,
    pub exceptions: Vec<ExceptionInfo>,
}

/// Everything about one trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceAnalysis {
    pub trace_index: u32,
    pub trace_id: String,
    pub span_count: u32,
    pub root_count: u32,
    /// The main root (set-wide index), when the trace has spans.
    pub root: Option<u32>,
    pub duration_nanos: u64,
    pub root_duration_nanos: u64,
    pub max_depth: u32,
    pub max_fan_out: u32,
    /// Mean number of children of spans that have any.
    pub mean_fan_out: f64,
    pub spans: Vec<SpanFigures>,
    pub critical_path: Vec<CriticalSegment>,
    pub operations: Vec<OperationStats>,
    pub operation_graph: Vec<OperationEdge>,
    pub errors: Vec<ErrorSpan>,
    /// Root-cause candidate: the deepest error span without error children.
    pub root_cause: Option<u32>,
    pub grade: Option<Grade>,
    pub worst_critical_path_grade: Option<Grade>,
}

/// Critical path of the subtree of `root` (set-wide index), as (span, start, end) in time order.
pub fn critical_path_raw(set: &TraceSet, root: u32) -> Vec<(u32, u64, u64)> {
    enum Task {
        Walk(u32, u64, u64),
        Own(u32, u64, u64),
    }
    let mut out: Vec<(u32, u64, u64)> = Vec::new();
    let Some(r) = set.span(root) else { return out };
    let rs = r.display_start_unix_nanos();
    let re = r.display_end_unix_nanos().max(rs);
    let mut stack = vec![Task::Walk(root, rs, re)];
    let mut children: Vec<(u64, u64, u32)> = Vec::new();
    let mut tasks: Vec<Task> = Vec::new();
    while let Some(task) = stack.pop() {
        match task {
            Task::Own(span, lo, hi) => {
                if hi <= lo {
                    continue;
                }
                // Emitted backwards in time: merge with the previous piece of the same span.
                match out.last_mut() {
                    Some(last) if last.0 == span && last.1 == hi => last.1 = lo,
                    _ => out.push((span, lo, hi)),
                }
            }
            Task::Walk(span, lo, hi) => {
                children.clear();
                for c in set.children(span) {
                    let Some(child) = set.span(c) else { continue };
                    let cs = child.display_start_unix_nanos().max(lo);
                    let ce = child.display_end_unix_nanos().min(hi);
                    if ce > cs {
                        children.push((ce, cs, c));
                    }
                }
                // Latest end first; ties: the later start, then the later index.
                children.sort_unstable_by(|a, b| b.cmp(a));
                tasks.clear();
                let mut cur = hi;
                for &(ce, cs, c) in children.iter() {
                    if ce <= cur {
                        tasks.push(Task::Own(span, ce, cur));
                        tasks.push(Task::Walk(c, cs, ce));
                        cur = cs;
                    }
                }
                tasks.push(Task::Own(span, lo, cur));
                // The first task (latest in time) must run first.
                stack.extend(tasks.drain(..).rev());
            }
        }
    }
    out.reverse();
    out
}

/// The critical path with span ids (see [`critical_path_raw`]).
pub fn critical_path(set: &TraceSet, root: u32) -> Vec<CriticalSegment> {
    critical_path_raw(set, root)
        .into_iter()
        .map(|(span, start, end)| CriticalSegment {
            span,
            span_id: set.span(span).map(|s| s.span_id.to_hex()).unwrap_or_default(),
            start_unix_nanos: start,
            end_unix_nanos: end,
        })
        .collect()
}

fn display_duration(span: &Span) -> u64 {
    span.display_end_unix_nanos()
        .saturating_sub(span.display_start_unix_nanos())
}

/// Trace grade and worst critical-path grade from a precomputed critical path.
pub(crate) fn trace_grades(
    prep: &Prepared<'_>,
    root: Option<u32>,
    path: &[(u32, u64, u64)],
) -> (Option<Grade>, Option<Grade>) {
    let grade_of = |i: u32| -> Option<Grade> {
        let span = prep.set.span(i)?;
        let cat = prep.category_of_op(prep.op_of(i));
        Some(prep.rules.category(cat).thresholds.grade(display_duration(span)))
    };
    let grade = root.and_then(grade_of);
    let worst = path.iter().filter_map(|&(i, _, _)| grade_of(i)).max();
    (grade, worst)
}

/// Root-cause candidate of a trace: deepest error span without error children.
pub(crate) fn root_cause(prep: &Prepared<'_>, trace: &Trace) -> Option<u32> {
    let base = trace.spans.start;
    let spans = prep.set.trace_spans(trace);
    // Pre-order: a span's children follow it; mark spans with an error child.
    let mut has_error_child = vec![false; spans.len()];
    for (i, s) in spans.iter().enumerate() {
        if prep.is_error(base + i as u32) && s.parent != crate::model::NO_SPAN {
            if let Some(slot) = has_error_child.get_mut(s.parent.wrapping_sub(base) as usize) {
                *slot = true;
            }
        }
    }
    let mut best: Option<(u32, u32)> = None;
    for (i, s) in spans.iter().enumerate() {
        let idx = base + i as u32;
        if prep.is_error(idx)
            && !has_error_child.get(i).copied().unwrap_or(false)
            && best.is_none_or(|(d, _)| s.depth > d)
        {
            best = Some((s.depth, idx));
        }
    }
    best.map(|(_, i)| i)
}

/// Exception events of a span.
pub(crate) fn exceptions_of(prep: &Prepared<'_>, span: &Span) -> Vec<ExceptionInfo> {
    let set = prep.set;
    let k = &prep.keys;
    set.events(span)
        .iter()
        .filter(|e| {
            Some(e.name) == k.exception
                || event_attr(set, e, k.exception_type).is_some()
                || event_attr(set, e, k.exception_message).is_some()
        })
        .map(|e| {
            let text = |key| {
                event_attr(set, e, key)
                    .map(|v| set.arena.value_text(v))
                    .unwrap_or_default()
            };
            ExceptionInfo {
                time_unix_nanos: e.time_unix_nanos,
                exception_type: text(k.exception_type),
                message: text(k.exception_message),
                stacktrace: text(k.exception_stacktrace),
            }
        })
        .collect()
}

/// Analyses one trace with the set's preparation.
pub(crate) fn analyze(prep: &Prepared<'_>, trace_index: u32, trace: &Trace) -> TraceAnalysis {
    let set = prep.set;
    let base = trace.spans.start;
    let spans = set.trace_spans(trace);
    let root = set.root_of(trace);
    let path = root.map(|r| critical_path_raw(set, r)).unwrap_or_default();
    let mut critical: HashMap<u32, u64> = HashMap::new();
    for &(s, a, b) in &path {
        *critical.entry(s).or_insert(0) += b - a;
    }
    let trace_duration = trace.duration_nanos();

    // Statistics rows: local operation numbering in set operation order.
    let mut local: BTreeMap<u32, usize> = BTreeMap::new();
    for i in 0..spans.len() {
        local.insert(prep.op_of(base + i as u32), 0);
    }
    for (row, slot) in local.values_mut().enumerate() {
        *slot = row;
    }
    let mut rows: Vec<OperationStats> = local
        .keys()
        .map(|&op| {
            let (service, name) = prep.op_text(op);
            OperationStats {
                service: service.to_string(),
                name: name.to_string(),
                category: prep.rules.category(prep.category_of_op(op)).name.clone(),
                count: 0,
                errors: 0,
                total_nanos: 0,
                avg_nanos: 0,
                min_nanos: u64::MAX,
                max_nanos: 0,
                self_total_nanos: 0,
                self_avg_nanos: 0,
                self_min_nanos: u64::MAX,
                self_max_nanos: 0,
                percent_of_trace: 0.0,
            }
        })
        .collect();
    let mut edges: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    let mut figures = Vec::with_capacity(spans.len());
    let mut max_fan_out = 0u32;
    let mut parents = 0u64;
    let mut children_total = 0u64;
    let mut errors = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let idx = base + i as u32;
        let op = prep.op_of(idx);
        let row = local.get(&op).copied().unwrap_or(0);
        let dur = display_duration(s);
        let own = prep.self_time(idx);
        let error = prep.is_error(idx);
        if let Some(r) = rows.get_mut(row) {
            r.count += 1;
            r.errors += u64::from(error);
            r.total_nanos = r.total_nanos.saturating_add(dur);
            r.min_nanos = r.min_nanos.min(dur);
            r.max_nanos = r.max_nanos.max(dur);
            r.self_total_nanos = r.self_total_nanos.saturating_add(own);
            r.self_min_nanos = r.self_min_nanos.min(own);
            r.self_max_nanos = r.self_max_nanos.max(own);
        }
        if s.parent != crate::model::NO_SPAN {
            let prow = local.get(&prep.op_of(s.parent)).copied().unwrap_or(0);
            *edges.entry((prow as u32, row as u32)).or_insert(0) += 1;
        }
        max_fan_out = max_fan_out.max(s.child_count);
        if s.child_count > 0 {
            parents += 1;
            children_total += u64::from(s.child_count);
        }
        let cat = prep.category_of_op(op);
        let class = prep.rules.category(cat).thresholds.class(dur);
        let crit = critical.get(&idx).copied();
        figures.push(SpanFigures {
            span: idx,
            operation: row as u32,
            duration_nanos: dur,
            self_nanos: own,
            depth: s.depth,
            child_count: s.child_count,
            error,
            on_critical_path: crit.is_some(),
            critical_nanos: crit.unwrap_or(0),
            class,
            class_label: prep.rules.class_label(cat, class).to_string(),
        });
        let exceptions = exceptions_of(prep, s);
        if error || !exceptions.is_empty() {
            let (service, name) = prep.op_text(op);
            errors.push(ErrorSpan {
                span: idx,
                span_id: s.span_id.to_hex(),
                service: service.to_string(),
                name: name.to_string(),
                error,
                status_message: set.str(s.status_message).to_string(),
                exceptions,
            });
        }
    }
    for r in rows.iter_mut() {
        if let (Some(avg), Some(self_avg)) = (
            r.total_nanos.checked_div(r.count),
            r.self_total_nanos.checked_div(r.count),
        ) {
            r.avg_nanos = avg;
            r.self_avg_nanos = self_avg;
        } else {
            r.min_nanos = 0;
            r.self_min_nanos = 0;
        }
        r.percent_of_trace = if trace_duration == 0 {
            0.0
        } else {
            r.self_total_nanos as f64 * 100.0 / trace_duration as f64
        };
    }
    let operation_graph = edges
        .into_iter()
        .map(|((parent, child), count)| OperationEdge {
            parent,
            child,
            count,
            same_service: rows.get(parent as usize).map(|r| &r.service)
                == rows.get(child as usize).map(|r| &r.service),
        })
        .collect();
    let (grade, worst) = trace_grades(prep, root, &path);
    TraceAnalysis {
        trace_index,
        trace_id: trace.trace_id.to_hex(),
        span_count: spans.len() as u32,
        root_count: trace.root_count,
        root,
        duration_nanos: trace_duration,
        root_duration_nanos: root.and_then(|r| set.span(r)).map(display_duration).unwrap_or(0),
        max_depth: trace.max_depth,
        max_fan_out,
        mean_fan_out: if parents == 0 {
            0.0
        } else {
            children_total as f64 / parents as f64
        },
        spans: figures,
        critical_path: path
            .iter()
            .map(|&(span, a, b)| CriticalSegment {
                span,
                span_id: set.span(span).map(|s| s.span_id.to_hex()).unwrap_or_default(),
                start_unix_nanos: a,
                end_unix_nanos: b,
            })
            .collect(),
        operations: rows,
        operation_graph,
        errors,
        root_cause: root_cause(prep, trace),
        grade,
        worst_critical_path_grade: worst,
    }
}
