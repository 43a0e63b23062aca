//! Bottlenecks, impact scores and recommendations (`shared/design/analysis.md` §5).
//!
//! An operation is a bottleneck when its p95 is above its category's alert threshold, or more
//! than 10% of its calls are slower than the target. `impact = duration × frequency ×
//! reliability` with `duration = p95 / target`, `frequency = calls / max calls of any operation`,
//! `reliability = 1 + 10 × error rate`; severity `critical` when p95 is above the critical
//! bound, else `alert`. Sorted by impact (highest first), then service and name.
//!
//! Recommendation rules (thresholds are the constants below):
//! - **N+1**: the same `db.statement`/`db.query.text` at least [`N_PLUS_ONE_MIN`] times under
//!   one parent → batch them. Concerns the parent operation (related: the query operation).
//! - **Sequential calls**: a parent whose CLIENT children (at least 2) never overlap, when
//!   running them concurrently would save (sum − longest) at least [`SEQUENTIAL_MIN_SAVING`]
//!   of the parent's duration, and the parent has no N+1 or retry storm (batching or fixing
//!   the dependency is the better advice there).
//! - **Dominant self time**: an operation (not mostly CLIENT/PRODUCER spans) spending at least
//!   [`SELF_TIME_DOMINANT`] of its total duration in itself → profile the service.
//! - **Slow AI**: a bottleneck in the category named `AI`; with average token counts when the
//!   spans carry `gen_ai.usage.*` (or older `llm.*`) token attributes → cache or stream.
//! - **Retry storm**: the same operation at least [`RETRY_MIN`] times under one parent, with a
//!   retry attribute (`http.resend_count`, `http.request.resend_count`, `retry.count`,
//!   `retry.attempt`) above 0 or at least half of them failing.
//! - **Error storm**: error rate at least [`ERROR_STORM_RATE`] with at least
//!   [`ERROR_STORM_MIN`] errors → look at the failing dependency first (the operation that most
//!   often holds the root cause of this operation's failures).
//!
//! Not here: the figures themselves (see `metrics`).

use super::metrics::OpFigures;
use super::prep::{attr, value_i64, Prepared};
use super::stats::ratio;
use super::trace::root_cause;
use crate::model::{SpanKind, StrId, NO_SPAN};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Repeats of one statement under one parent that make an N+1.
pub const N_PLUS_ONE_MIN: usize = 5;
/// Minimum share of the parent's duration that concurrent calls would save.
pub const SEQUENTIAL_MIN_SAVING: f64 = 0.10;
/// Self-time share that counts as dominant.
pub const SELF_TIME_DOMINANT: f64 = 0.5;
/// Siblings of one operation under one parent that can be a retry storm.
pub const RETRY_MIN: usize = 3;
/// Error rate of an error storm.
pub const ERROR_STORM_RATE: f64 = 0.10;
/// Minimum errors of an error storm.
pub const ERROR_STORM_MIN: u64 = 3;
/// Examples kept per finding.
pub const MAX_EXAMPLES: usize = 3;

/// Alert or critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Alert,
    Critical,
}

/// Which rule produced a recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    NPlusOne,
    SequentialCalls,
    DominantSelfTime,
    SlowAi,
    RetryStorm,
    ErrorStorm,
}

/// A concrete suggestion with figures and examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub kind: RecommendationKind,
    /// The operation it concerns.
    pub service: String,
    pub operation: String,
    /// Another operation involved (the repeated query, the failing dependency…).
    pub related_service: Option<String>,
    pub related_operation: Option<String>,
    pub message: String,
    pub example_trace_ids: Vec<String>,
    pub example_span_ids: Vec<String>,
}

/// A bottleneck operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bottleneck {
    pub service: String,
    pub operation: String,
    pub category: String,
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p95_nanos: u64,
    pub target_nanos: u64,
    pub alert_nanos: u64,
    pub critical_nanos: u64,
    /// Share of calls slower than the target.
    pub over_target_fraction: f64,
    pub duration_impact: f64,
    pub frequency_impact: f64,
    pub reliability_impact: f64,
    pub impact: f64,
    pub severity: Severity,
    pub recommendations: Vec<Recommendation>,
}

/// The impact score of §5.
pub fn impact(
    p95_nanos: u64,
    target_nanos: u64,
    calls: u64,
    max_calls: u64,
    error_rate: f64,
) -> (f64, f64, f64, f64) {
    let duration = ratio(p95_nanos, target_nanos);
    let frequency = ratio(calls, max_calls);
    let reliability = 1.0 + 10.0 * error_rate;
    (
        duration,
        frequency,
        reliability,
        duration * frequency * reliability,
    )
}

#[derive(Default)]
struct Finding {
    occurrences: u64,
    max_repeat: u64,
    total_saving_nanos: u64,
    total_parent_nanos: u64,
    examples: Vec<(u32, u32)>,
}

impl Finding {
    fn add(&mut self, repeat: u64, example_trace: u32, example_span: u32) {
        self.occurrences += 1;
        self.max_repeat = self.max_repeat.max(repeat);
        if self.examples.len() < MAX_EXAMPLES && !self.examples.iter().any(|e| e.0 == example_trace) {
            self.examples.push((example_trace, example_span));
        }
    }
}

#[derive(Clone, Copy)]
struct Child {
    op: u32,
    stmt: u32,
    start: u64,
    end: u64,
    client: bool,
    error: bool,
    retry: bool,
    index: u32,
}

fn fmt_ms(nanos: u64) -> String {
    if nanos >= 1_000_000_000 {
        format!("{:.2} s", nanos as f64 / 1e9)
    } else {
        format!("{:.1} ms", nanos as f64 / 1e6)
    }
}

/// Finds bottlenecks and recommendations.
pub(crate) fn find(prep: &Prepared<'_>, figs: &[OpFigures]) -> (Vec<Bottleneck>, Vec<Recommendation>) {
    let set = prep.set;
    let k = &prep.keys;
    let spans = set.spans();
    let mut n_plus_one: BTreeMap<(u32, u32), Finding> = BTreeMap::new();
    let mut sequential: BTreeMap<u32, Finding> = BTreeMap::new();
    let mut retries: BTreeMap<(u32, u32), Finding> = BTreeMap::new();
    let mut client_kind = vec![0u64; prep.ops.len()];
    let mut tokens: Vec<(u64, u64, u64)> = vec![(0, 0, 0); prep.ops.len()];
    let ai_category = prep.rules.categories.iter().position(|c| c.name == "AI");
    let mut children: Vec<Child> = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let idx = i as u32;
        let op = prep.op_of(idx);
        if matches!(span.kind, SpanKind::Client | SpanKind::Producer) {
            if let Some(c) = client_kind.get_mut(op as usize) {
                *c += 1;
            }
        }
        if ai_category.is_some() && Some(prep.category_of_op(op)) == ai_category {
            let sum_of = |keys: &[Option<StrId>; 4]| {
                keys.iter()
                    .find_map(|&key| attr(set, span, key).and_then(|v| value_i64(set, v)))
            };
            let input = sum_of(&k.input_tokens);
            let output = sum_of(&k.output_tokens);
            if input.is_some() || output.is_some() {
                if let Some(t) = tokens.get_mut(op as usize) {
                    t.0 = t.0.saturating_add(input.unwrap_or(0).max(0) as u64);
                    t.1 = t.1.saturating_add(output.unwrap_or(0).max(0) as u64);
                    t.2 += 1;
                }
            }
        }
        if span.child_count < 2 {
            continue;
        }
        children.clear();
        for c in set.children(idx) {
            let Some(cs) = set.span(c) else { continue };
            let facts = prep.facts(c);
            children.push(Child {
                op: prep.op_of(c),
                stmt: facts.stmt,
                start: cs.display_start_unix_nanos(),
                end: cs.display_end_unix_nanos(),
                client: cs.kind == SpanKind::Client,
                error: prep.is_error(c),
                retry: facts.retry,
                index: c,
            });
        }
        // N+1: runs of one statement.
        let mut special = false;
        children.sort_unstable_by_key(|c| (c.stmt, c.op, c.index));
        let mut a = 0usize;
        while let Some(first) = children.get(a).copied() {
            let mut b = a;
            while children.get(b).is_some_and(|c| c.stmt == first.stmt) {
                b += 1;
            }
            if first.stmt != 0 && b - a >= N_PLUS_ONE_MIN {
                n_plus_one
                    .entry((op, first.op))
                    .or_default()
                    .add((b - a) as u64, span.trace, idx);
                special = true;
            }
            a = b;
        }
        // Retry storms: runs of one operation.
        children.sort_unstable_by_key(|c| (c.op, c.start, c.index));
        let mut a = 0usize;
        while let Some(first) = children.get(a).copied() {
            let mut b = a;
            let mut errors = 0usize;
            let mut retry = false;
            while let Some(c) = children.get(b).filter(|c| c.op == first.op) {
                errors += usize::from(c.error);
                retry |= c.retry;
                b += 1;
            }
            let n = b - a;
            if n >= RETRY_MIN && (retry || errors * 2 >= n) {
                retries
                    .entry((op, first.op))
                    .or_default()
                    .add(n as u64, span.trace, idx);
                special = true;
            }
            a = b;
        }
        // Sequential client calls (not when they are retries or an N+1: those rules say more).
        children.retain(|c| c.client);
        if !special && children.len() >= 2 {
            children.sort_unstable_by_key(|c| (c.start, c.end, c.index));
            let mut overlap = false;
            let mut sum = 0u64;
            let mut longest = 0u64;
            let mut prev_end = 0u64;
            for (n, c) in children.iter().enumerate() {
                if n > 0 && c.start < prev_end {
                    overlap = true;
                    break;
                }
                let d = c.end.saturating_sub(c.start);
                sum = sum.saturating_add(d);
                longest = longest.max(d);
                prev_end = c.end;
            }
            let parent_dur = span.duration_nanos();
            let saving = sum - longest;
            if !overlap && parent_dur > 0 && saving as f64 >= SEQUENTIAL_MIN_SAVING * parent_dur as f64 {
                let f = sequential.entry(op).or_default();
                f.add(children.len() as u64, span.trace, idx);
                f.total_saving_nanos = f.total_saving_nanos.saturating_add(saving);
                f.total_parent_nanos = f.total_parent_nanos.saturating_add(parent_dur);
            }
        }
    }
    // Root causes: which operation holds the root cause of each failing operation's errors.
    let mut caused_by: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for t in set.traces() {
        if t.error_count == 0
            && !prep
                .errors
                .get(t.spans.as_range())
                .unwrap_or(&[])
                .iter()
                .any(|&e| e)
        {
            continue;
        }
        let Some(rc) = root_cause(prep, t) else { continue };
        let rc_op = prep.op_of(rc);
        let mut cur = rc;
        let mut guard = 0u32;
        while let Some(s) = set.span(cur) {
            if !prep.is_error(cur) {
                break;
            }
            *caused_by.entry((prep.op_of(cur), rc_op)).or_insert(0) += 1;
            if s.parent == NO_SPAN || guard > t.max_depth + 1 {
                break;
            }
            cur = s.parent;
            guard += 1;
        }
    }

    let op_name = |op: u32| {
        let (s, n) = prep.op_text(op);
        (s.to_string(), n.to_string())
    };
    let examples = |f: &Finding| -> (Vec<String>, Vec<String>) {
        let traces = f
            .examples
            .iter()
            .filter_map(|&(t, _)| set.trace(t).map(|t| t.trace_id.to_hex()))
            .collect();
        let spans = f
            .examples
            .iter()
            .filter_map(|&(_, s)| set.span(s).map(|s| s.span_id.to_hex()))
            .collect();
        (traces, spans)
    };
    let mut recs: Vec<(u32, Option<u32>, Recommendation)> = Vec::new();
    for (&(parent, child), f) in &n_plus_one {
        let (svc, name) = op_name(parent);
        let (rsvc, rname) = op_name(child);
        let (t, s) = examples(f);
        recs.push((
            parent,
            Some(child),
            Recommendation {
                kind: RecommendationKind::NPlusOne,
                message: format!(
                    "N+1 queries: `{rname}` ({rsvc}) runs the same statement up to {} times under one `{name}` call ({} such calls); batch the queries or load the rows in one query",
                    f.max_repeat, f.occurrences
                ),
                service: svc,
                operation: name,
                related_service: Some(rsvc),
                related_operation: Some(rname),
                example_trace_ids: t,
                example_span_ids: s,
            },
        ));
    }
    for (&parent, f) in &sequential {
        let (svc, name) = op_name(parent);
        let (t, s) = examples(f);
        let mean_saving = f.total_saving_nanos / f.occurrences.max(1);
        let share = ratio(f.total_saving_nanos, f.total_parent_nanos) * 100.0;
        recs.push((
            parent,
            None,
            Recommendation {
                kind: RecommendationKind::SequentialCalls,
                message: format!(
                    "`{name}` makes up to {} client calls one after another in {} calls; running them concurrently would save {} per call on average ({share:.0}% of its duration)",
                    f.max_repeat,
                    f.occurrences,
                    fmt_ms(mean_saving)
                ),
                service: svc,
                operation: name,
                related_service: None,
                related_operation: None,
                example_trace_ids: t,
                example_span_ids: s,
            },
        ));
    }
    for (&(parent, child), f) in &retries {
        let (svc, name) = op_name(parent);
        let (rsvc, rname) = op_name(child);
        let (t, s) = examples(f);
        recs.push((
            child,
            Some(parent),
            Recommendation {
                kind: RecommendationKind::RetryStorm,
                message: format!(
                    "retry storm: `{rname}` ({rsvc}) is attempted up to {} times under one `{name}` call ({} such calls); look at the failing dependency first, then cap retries with backoff",
                    f.max_repeat, f.occurrences
                ),
                service: rsvc,
                operation: rname,
                related_service: Some(svc),
                related_operation: Some(name),
                example_trace_ids: t,
                example_span_ids: s,
            },
        ));
    }
    // Example spans per operation for the per-operation rules.
    let mut op_example: Vec<Option<u32>> = vec![None; prep.ops.len()];
    let mut op_error_example: Vec<Option<u32>> = vec![None; prep.ops.len()];
    for i in 0..spans.len() as u32 {
        let op = prep.op_of(i) as usize;
        if let Some(slot) = op_example.get_mut(op) {
            slot.get_or_insert(i);
        }
        if prep.is_error(i) {
            if let Some(slot) = op_error_example.get_mut(op) {
                slot.get_or_insert(i);
            }
        }
    }
    let example_of = |i: Option<u32>| -> (Vec<String>, Vec<String>) {
        match i.and_then(|i| set.span(i)) {
            Some(s) => (
                set.trace(s.trace)
                    .map(|t| vec![t.trace_id.to_hex()])
                    .unwrap_or_default(),
                vec![s.span_id.to_hex()],
            ),
            None => (Vec::new(), Vec::new()),
        }
    };

    let max_calls = figs.iter().map(|f| f.calls).max().unwrap_or(0);
    let mut bottlenecks = Vec::new();
    for (op, f) in figs.iter().enumerate() {
        let op32 = op as u32;
        if f.calls == 0 {
            continue;
        }
        let (svc, name) = op_name(op32);
        let error_rate = ratio(f.errors, f.calls);
        let total_duration = f.latency.total_nanos;
        let self_share = ratio(f.self_total_nanos, total_duration);
        let clientish = client_kind.get(op).copied().unwrap_or(0) * 2 >= f.calls;
        let cat_index = prep.category_of_op(op32);
        let cat = prep.rules.category(cat_index);
        let t = cat.thresholds;
        let over_fraction = ratio(f.over_target, f.calls);
        let is_bottleneck = f.latency.p95_nanos > t.alert_nanos || over_fraction > 0.10;
        if error_rate >= ERROR_STORM_RATE && f.errors >= ERROR_STORM_MIN {
            let dep = caused_by
                .range((op32, 0)..=(op32, u32::MAX))
                .filter(|(&(_, rc), _)| rc != op32)
                .max_by_key(|(&(_, rc), &n)| (n, std::cmp::Reverse(rc)))
                .map(|(&(_, rc), _)| rc);
            let (tr, sp) = example_of(op_error_example.get(op).copied().flatten());
            let (message, rel) = match dep {
                Some(d) => {
                    let (ds, dn) = op_name(d);
                    (
                        format!(
                            "{} of {} calls failed ({:.0}%); look at the failing dependency first: `{dn}` ({ds}) holds the root cause most often",
                            f.errors,
                            f.calls,
                            error_rate * 100.0
                        ),
                        Some((ds, dn)),
                    )
                }
                None => (
                    format!(
                        "{} of {} calls failed ({:.0}%); the failures start in this operation itself, look at its error events first",
                        f.errors,
                        f.calls,
                        error_rate * 100.0
                    ),
                    None,
                ),
            };
            recs.push((
                op32,
                dep,
                Recommendation {
                    kind: RecommendationKind::ErrorStorm,
                    service: svc.clone(),
                    operation: name.clone(),
                    related_service: rel.as_ref().map(|r| r.0.clone()),
                    related_operation: rel.map(|r| r.1),
                    message,
                    example_trace_ids: tr,
                    example_span_ids: sp,
                },
            ));
        }
        if !is_bottleneck {
            continue;
        }
        if self_share >= SELF_TIME_DOMINANT && !clientish {
            let (tr, sp) = example_of(op_example.get(op).copied().flatten());
            recs.push((
                op32,
                None,
                Recommendation {
                    kind: RecommendationKind::DominantSelfTime,
                    service: svc.clone(),
                    operation: name.clone(),
                    related_service: None,
                    related_operation: None,
                    message: format!(
                        "`{name}` spends {:.0}% of its time in itself (mean self time {} of {}); profile {svc}",
                        self_share * 100.0,
                        fmt_ms(f.self_total_nanos / f.calls),
                        fmt_ms(f.latency.mean_nanos)
                    ),
                    example_trace_ids: tr,
                    example_span_ids: sp,
                },
            ));
        }
        if ai_category == Some(cat_index) {
            let (tin, tout, tn) = tokens.get(op).copied().unwrap_or((0, 0, 0));
            let token_text = match (tin.checked_div(tn), tout.checked_div(tn)) {
                (Some(i), Some(o)) => format!(" with on average {i} input and {o} output tokens"),
                _ => String::new(),
            };
            let (tr, sp) = example_of(op_example.get(op).copied().flatten());
            recs.push((
                op32,
                None,
                Recommendation {
                    kind: RecommendationKind::SlowAi,
                    service: svc.clone(),
                    operation: name.clone(),
                    related_service: None,
                    related_operation: None,
                    message: format!(
                        "slow AI call: p95 {}{token_text}; cache repeated prompts, stream the response, or shorten the prompt",
                        fmt_ms(f.latency.p95_nanos)
                    ),
                    example_trace_ids: tr,
                    example_span_ids: sp,
                },
            ));
        }
        let (di, fi, ri, score) = impact(
            f.latency.p95_nanos,
            t.target_nanos,
            f.calls,
            max_calls,
            error_rate,
        );
        bottlenecks.push((
            op32,
            Bottleneck {
                service: svc,
                operation: name,
                category: cat.name.clone(),
                calls: f.calls,
                errors: f.errors,
                error_rate,
                p95_nanos: f.latency.p95_nanos,
                target_nanos: t.target_nanos,
                alert_nanos: t.alert_nanos,
                critical_nanos: t.critical_nanos,
                over_target_fraction: over_fraction,
                duration_impact: di,
                frequency_impact: fi,
                reliability_impact: ri,
                impact: score,
                severity: if f.latency.p95_nanos > t.critical_nanos {
                    Severity::Critical
                } else {
                    Severity::Alert
                },
                recommendations: Vec::new(),
            },
        ));
    }
    recs.sort_by(|a, b| {
        (
            a.2.kind,
            &a.2.service,
            &a.2.operation,
            &a.2.related_service,
            &a.2.related_operation,
        )
            .cmp(&(
                b.2.kind,
                &b.2.service,
                &b.2.operation,
                &b.2.related_service,
                &b.2.related_operation,
            ))
    });
    for (op, b) in bottlenecks.iter_mut() {
        b.recommendations = recs
            .iter()
            .filter(|(subject, related, _)| subject == op || related == &Some(*op))
            .map(|(_, _, r)| r.clone())
            .collect();
    }
    let mut out: Vec<Bottleneck> = bottlenecks.into_iter().map(|(_, b)| b).collect();
    out.sort_by(|a, b| {
        b.impact
            .total_cmp(&a.impact)
            .then_with(|| a.service.cmp(&b.service))
            .then_with(|| a.operation.cmp(&b.operation))
    });
    (out, recs.into_iter().map(|(_, _, r)| r).collect())
}
