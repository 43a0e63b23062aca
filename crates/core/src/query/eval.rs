//! Evaluation of a parsed [`Query`] over a [`TraceSet`], one trace at a time.
//!
//! A spanset expression yields, per trace, one set of matching spans (set-wide indexes) or
//! nothing: `{...}` keeps the spans whose expression holds; `A && B` needs both sides and keeps
//! the spans of both; `A || B` keeps either; structural operators keep right-hand spans:
//! `A > B` children of an A span, `A >> B` descendants, `A < B` parents, `A << B` ancestors,
//! `A ~ B` siblings. Pipeline stages then work on spansets (`by` splits, `coalesce` merges,
//! scalar filters keep spansets whose aggregate passes).
//!
//! Comparison rules (Tempo's): mismatched types never match (`.s = 3` on a string is false,
//! so is `!=`); a missing field matches only `= nil`; durations compare with durations and
//! numbers (as nanoseconds); ints and floats compare numerically; `.x` (unscoped) matches when
//! the span attribute or the resource attribute matches; arrays match when any element does.
//! Not here: metrics, parsing.

use super::ast::*;
use super::result::{
    ResultAttr, ResultValue, SearchResult, ServiceStats, SpanMatch, SpansetMatch, TraceMatch,
};
use crate::model::{SpanKind, StatusCode, Trace, TraceSet, Value, NO_SPAN};
use std::collections::BTreeMap;

/// Limits of a search (0 = unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// Most traces returned (Tempo's `limit`, default 20).
    pub limit: usize,
    /// Most spans listed per spanset (Tempo's `spss`, default 3).
    pub spans_per_spanset: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            spans_per_spanset: 3,
        }
    }
}

/// A spanset during evaluation.
#[derive(Clone, Debug, Default)]
struct Spanset {
    spans: Vec<u32>,
    attrs: Vec<ResultAttr>,
}

/// Runs a search over every trace: matching traces, most recent first (then by trace id),
/// at most `options.limit`.
pub fn search(set: &TraceSet, query: &Query, options: SearchOptions) -> SearchResult {
    search_where(set, query, options, |_, _| true)
}

/// [`search`] over the traces `keep(trace_index, trace)` accepts (a time range, a duration
/// window: the server's `start`/`end`/`minDuration`/`maxDuration`).
pub fn search_where(
    set: &TraceSet,
    query: &Query,
    options: SearchOptions,
    keep: impl Fn(u32, &Trace) -> bool,
) -> SearchResult {
    let fields = query.mentioned_fields();
    let mut found: Vec<(u64, String, u32, Vec<Spanset>)> = Vec::new();
    let mut inspected_spans = 0u64;
    let mut inspected_traces = 0u64;
    for (index, trace) in set.traces().iter().enumerate() {
        if !keep(index as u32, trace) {
            continue;
        }
        inspected_traces += 1;
        inspected_spans += u64::from(trace.spans.len);
        let spansets = eval_trace(set, index as u32, query);
        if !spansets.is_empty() {
            found.push((
                trace.start_unix_nanos,
                trace.trace_id.to_hex(),
                index as u32,
                spansets,
            ));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if options.limit > 0 {
        found.truncate(options.limit);
    }
    let traces = found
        .into_iter()
        .filter_map(|(_, _, index, spansets)| trace_match(set, index, spansets, &fields, options))
        .collect();
    SearchResult {
        traces,
        inspected_traces,
        inspected_spans,
    }
}

/// The value of a field on a span (`None` when absent): for metrics grouping (`by(...)`) and
/// functions over a field (`quantile_over_time(duration, ...)`), which the server evaluates.
/// Unscoped attributes prefer the span's value over the resource's.
pub fn field_value(set: &TraceSet, span_index: u32, field: &FieldRef) -> Option<ResultValue> {
    let span = set.span(span_index)?;
    let trace = set.trace(span.trace)?;
    let ctx = Ctx::new(set, trace);
    ctx.values(span_index, field)
        .first()
        .and_then(|v| v.to_result(set))
}

/// The spans of one trace that the query selects (all spansets merged), sorted by set-wide
/// index. For the UI's in-trace filter and Tempo v2 trace-by-id `q=`.
pub fn matching_spans(set: &TraceSet, trace_index: u32, query: &Query) -> Vec<u32> {
    let mut out: Vec<u32> = eval_trace(set, trace_index, query)
        .into_iter()
        .flat_map(|s| s.spans)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `spans` plus all their ancestors, sorted and without repeats (Tempo's `keep_hierarchy`).
pub fn keep_hierarchy(set: &TraceSet, spans: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(spans.len() * 2);
    let mut seen = std::collections::HashSet::new();
    for &s in spans {
        let mut current = s;
        // Bounded walk: a parent chain is never longer than the set.
        for _ in 0..=set.span_count() {
            if !seen.insert(current) {
                break;
            }
            out.push(current);
            match set.span(current) {
                Some(span) if span.parent != NO_SPAN => current = span.parent,
                _ => break,
            }
        }
    }
    out.retain(|&i| (i as usize) < set.span_count());
    out.sort_unstable();
    out
}

fn trace_match(
    set: &TraceSet,
    index: u32,
    spansets: Vec<Spanset>,
    fields: &[FieldRef],
    options: SearchOptions,
) -> Option<TraceMatch> {
    let trace = set.trace(index)?;
    let ctx = Ctx::new(set, trace);
    let root = ctx.root.and_then(|r| set.span(r));
    let mut service_stats: BTreeMap<String, ServiceStats> = BTreeMap::new();
    for span in set.trace_spans(trace) {
        let entry = service_stats
            .entry(set.service_name(span).to_string())
            .or_default();
        entry.span_count += 1;
        if span.is_error() {
            entry.error_count += 1;
        }
    }
    let wants_name = fields.contains(&FieldRef::Intrinsic(Intrinsic::Name));
    let spansets = spansets
        .into_iter()
        .map(|ss| {
            let mut spans: Vec<u32> = ss.spans;
            spans.sort_by_key(|&i| (set.span(i).map(|s| s.start_unix_nanos).unwrap_or(0), i));
            let matched = spans.len() as u32;
            if options.spans_per_spanset > 0 {
                spans.truncate(options.spans_per_spanset);
            }
            SpansetMatch {
                spans: spans
                    .into_iter()
                    .filter_map(|i| {
                        let span = set.span(i)?;
                        Some(SpanMatch {
                            span_index: i,
                            span_id: span.span_id.to_hex(),
                            name: wants_name.then(|| set.name(span).to_string()),
                            span_name: set.name(span).to_string(),
                            service_name: set.service_name(span).to_string(),
                            start_unix_nanos: span.start_unix_nanos,
                            duration_nanos: span.duration_nanos(),
                            attributes: span_attributes(&ctx, i, fields),
                        })
                    })
                    .collect(),
                matched,
                attributes: ss.attrs,
            }
        })
        .collect();
    Some(TraceMatch {
        trace_index: index,
        trace_id: trace.trace_id.to_hex(),
        root_service_name: root.map(|r| set.service_name(r).to_string()),
        root_trace_name: root.map(|r| set.name(r).to_string()),
        start_unix_nanos: trace.start_unix_nanos,
        duration_nanos: trace.duration_nanos(),
        spansets,
        service_stats,
    })
}

/// The values of the mentioned fields on one span, as Tempo lists them (`name`, `duration` and
/// trace-level intrinsics are not attributes).
fn span_attributes(ctx: &Ctx, span: u32, fields: &[FieldRef]) -> Vec<ResultAttr> {
    let mut out: Vec<ResultAttr> = Vec::new();
    for f in fields {
        let (key, value) = match f {
            FieldRef::Intrinsic(Intrinsic::Status | Intrinsic::Kind | Intrinsic::StatusMessage) => {
                let Some(v) = ctx.values(span, f).first().and_then(|v| v.to_result(ctx.set)) else {
                    continue;
                };
                if v == ResultValue::Str(String::new()) {
                    continue; // no status message
                }
                (f.label(), v)
            }
            FieldRef::Intrinsic(_) => continue,
            FieldRef::Attr { name, .. } => {
                let Some(v) = ctx.values(span, f).first().and_then(|v| v.to_result(ctx.set)) else {
                    continue;
                };
                (name.clone(), v)
            }
        };
        if !out.iter().any(|a| a.key == key) {
            out.push(ResultAttr { key, value });
        }
    }
    out
}

/// Evaluates the query on one trace: the resulting spansets (empty = no match).
fn eval_trace(set: &TraceSet, trace_index: u32, query: &Query) -> Vec<Spanset> {
    let Some(trace) = set.trace(trace_index) else {
        return Vec::new();
    };
    let ctx = Ctx::new(set, trace);
    let spans = ctx.eval_expr(&query.expr);
    if spans.is_empty() {
        return Vec::new();
    }
    let mut spansets = vec![Spanset {
        spans,
        attrs: Vec::new(),
    }];
    for stage in &query.stages {
        spansets = ctx.apply_stage(stage, spansets);
        if spansets.is_empty() {
            break;
        }
    }
    spansets
}

/// Per-trace evaluation context.
struct Ctx<'a> {
    set: &'a TraceSet,
    trace: &'a Trace,
    /// The trace's real root (not an orphan), when present.
    root: Option<u32>,
}

/// The values a field has on a span: one, or two for an unscoped attribute present on both
/// the span and its resource.
#[derive(Clone, Copy, Debug)]
struct Cands<'a> {
    items: [Val<'a>; 2],
    len: usize,
}

impl<'a> Cands<'a> {
    fn one(v: Val<'a>) -> Self {
        Cands {
            items: [v, Val::Nil],
            len: 1,
        }
    }

    fn iter(&self) -> impl Iterator<Item = Val<'a>> + '_ {
        self.items.iter().take(self.len).copied()
    }

    fn first(&self) -> Option<Val<'a>> {
        self.iter().next()
    }
}

/// A runtime value.
#[derive(Clone, Copy, Debug)]
enum Val<'a> {
    Nil,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Dur(i64),
    Status(StatusCode),
    Kind(SpanKind),
    /// An attribute array, compared element by element.
    Array(&'a [Value]),
    /// Bytes or key-value lists: present, but equal to nothing.
    Opaque,
}

impl<'a> Val<'a> {
    fn from_value(set: &'a TraceSet, v: Value) -> Val<'a> {
        match v {
            Value::Empty => Val::Opaque,
            Value::Str(s) => Val::Str(set.str(s)),
            Value::Bool(b) => Val::Bool(b),
            Value::Int(i) => Val::Int(i),
            Value::Double(d) => Val::Float(d),
            Value::Array(r) => Val::Array(set.arena.value_slice(r)),
            Value::Bytes(_) | Value::KvList(_) => Val::Opaque,
        }
    }

    fn from_static(s: &'a Static) -> Val<'a> {
        match s {
            Static::Str(v) => Val::Str(v),
            Static::Int(v) => Val::Int(*v),
            Static::Float(v) => Val::Float(*v),
            Static::Bool(v) => Val::Bool(*v),
            Static::Duration(v) => Val::Dur(*v),
            Static::Nil => Val::Nil,
            Static::Status(v) => Val::Status(*v),
            Static::Kind(v) => Val::Kind(*v),
        }
    }

    fn to_result(self, set: &TraceSet) -> Option<ResultValue> {
        Some(match self {
            Val::Nil => return None,
            Val::Str(s) => ResultValue::Str(s.to_string()),
            Val::Int(i) => ResultValue::Int(i),
            Val::Float(f) => ResultValue::Double(f),
            Val::Bool(b) => ResultValue::Bool(b),
            Val::Dur(d) => ResultValue::Duration(d),
            Val::Status(s) => ResultValue::Str(s.short_name().to_string()),
            Val::Kind(k) => ResultValue::Str(k.short_name().to_string()),
            Val::Array(values) => {
                let texts: Vec<String> = values.iter().map(|v| set.arena.value_text(*v)).collect();
                ResultValue::Str(format!("[{}]", texts.join(",")))
            }
            Val::Opaque => ResultValue::Str(String::new()),
        })
    }

    fn number(self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(i as f64),
            Val::Float(f) => Some(f),
            Val::Dur(d) => Some(d as f64),
            _ => None,
        }
    }
}

fn ordering_holds(ord: std::cmp::Ordering, op: CmpOp) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Match | CmpOp::NotMatch => false,
    }
}

/// `a op b` for two present values; regex ops use `regex` against whichever side is a string
/// field (the other side is the pattern).
fn compare(set: &TraceSet, a: Val, op: CmpOp, b: Val, regex: Option<&super::regex::Regex>) -> bool {
    if let Val::Array(items) = a {
        return items
            .iter()
            .any(|v| compare(set, Val::from_value(set, *v), op, b, regex));
    }
    if let Val::Array(items) = b {
        return items
            .iter()
            .any(|v| compare(set, a, op, Val::from_value(set, *v), regex));
    }
    if matches!(op, CmpOp::Match | CmpOp::NotMatch) {
        // The caller puts the field on the left; the pattern is compiled in `regex`.
        let (Some(re), Val::Str(text)) = (regex, a) else {
            return false;
        };
        let hit = re.is_match(text);
        return if op == CmpOp::Match { hit } else { !hit };
    }
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => ordering_holds(x.cmp(y), op),
        (Val::Int(x), Val::Int(y))
        | (Val::Dur(x), Val::Dur(y))
        | (Val::Int(x), Val::Dur(y))
        | (Val::Dur(x), Val::Int(y)) => ordering_holds(x.cmp(&y), op),
        (Val::Bool(x), Val::Bool(y)) => matches!(op, CmpOp::Eq | CmpOp::Ne) && ordering_holds(x.cmp(&y), op),
        (Val::Status(x), Val::Status(y)) => {
            matches!(op, CmpOp::Eq | CmpOp::Ne) && ordering_holds(x.cmp(&y), op)
        }
        (Val::Kind(x), Val::Kind(y)) => matches!(op, CmpOp::Eq | CmpOp::Ne) && ordering_holds(x.cmp(&y), op),
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).is_some_and(|ord| ordering_holds(ord, op)),
            _ => false,
        },
    }
}

impl<'a> Ctx<'a> {
    fn new(set: &'a TraceSet, trace: &'a Trace) -> Self {
        let root = set
            .root_of(trace)
            .filter(|&r| set.span(r).is_some_and(|s| !s.is_orphan()));
        Ctx { set, trace, root }
    }

    fn range(&self) -> std::ops::Range<u32> {
        self.trace.spans.start..self.trace.spans.start.saturating_add(self.trace.spans.len)
    }

    /// Local index (within the trace) of a set-wide index.
    fn local(&self, i: u32) -> Option<usize> {
        let r = self.range();
        r.contains(&i).then(|| (i - r.start) as usize)
    }

    /// The candidate values of a field on a span (`[Nil]` when absent).
    fn values(&self, span_index: u32, field: &FieldRef) -> Cands<'a> {
        let set = self.set;
        let Some(span) = set.span(span_index) else {
            return Cands::one(Val::Nil);
        };
        let one = |v: Option<Val<'a>>| Cands::one(v.unwrap_or(Val::Nil));
        match field {
            FieldRef::Intrinsic(i) => one(match i {
                Intrinsic::Name => Some(Val::Str(set.name(span))),
                Intrinsic::Status => Some(Val::Status(span.status_code)),
                Intrinsic::StatusMessage => Some(Val::Str(set.str(span.status_message))),
                Intrinsic::Kind => Some(Val::Kind(span.kind)),
                Intrinsic::Duration => {
                    Some(Val::Dur(i64::try_from(span.duration_nanos()).unwrap_or(i64::MAX)))
                }
                Intrinsic::RootName => self.root.and_then(|r| set.span(r)).map(|r| Val::Str(set.name(r))),
                Intrinsic::RootServiceName => self
                    .root
                    .and_then(|r| set.span(r))
                    .map(|r| Val::Str(set.service_name(r))),
                Intrinsic::TraceDuration => Some(Val::Dur(
                    i64::try_from(self.trace.duration_nanos()).unwrap_or(i64::MAX),
                )),
            }),
            FieldRef::Attr { scope, name } => {
                let span_val = || set.span_attr(span, name).map(|v| Val::from_value(set, v));
                let res_val = || set.resource_attr(span, name).map(|v| Val::from_value(set, v));
                match scope {
                    AttrScope::Span => one(span_val()),
                    AttrScope::Resource => one(res_val()),
                    AttrScope::Any => match (span_val(), res_val()) {
                        (Some(a), Some(b)) => Cands {
                            items: [a, b],
                            len: 2,
                        },
                        (Some(a), None) | (None, Some(a)) => Cands::one(a),
                        (None, None) => Cands::one(Val::Nil),
                    },
                }
            }
        }
    }

    fn operand_values(&self, span: u32, operand: &'a Operand) -> Cands<'a> {
        match operand {
            Operand::Field(f) => self.values(span, f),
            Operand::Static(s) => Cands::one(Val::from_static(s)),
        }
    }

    fn holds(&self, span: u32, expr: &'a FieldExpr) -> bool {
        match expr {
            FieldExpr::All => true,
            FieldExpr::Nothing => false,
            FieldExpr::And(a, b) => self.holds(span, a) && self.holds(span, b),
            FieldExpr::Or(a, b) => self.holds(span, a) || self.holds(span, b),
            FieldExpr::Not(a) => !self.holds(span, a),
            FieldExpr::Compare(c) => self.compare(span, c),
        }
    }

    fn compare(&self, span: u32, c: &'a Comparison) -> bool {
        // Field on the left: `3 < .x` is `.x > 3`.
        let (lhs_op, op, rhs_op) = match (&c.lhs, &c.rhs) {
            (Operand::Static(_), Operand::Field(_)) => (&c.rhs, c.op.flipped(), &c.lhs),
            _ => (&c.lhs, c.op, &c.rhs),
        };
        let lhs = self.operand_values(span, lhs_op);
        let rhs = self.operand_values(span, rhs_op);
        let is_nil = |vals: &Cands| vals.iter().all(|v| matches!(v, Val::Nil));
        let lhs_static_nil = matches!(lhs_op, Operand::Static(Static::Nil));
        let rhs_static_nil = matches!(rhs_op, Operand::Static(Static::Nil));
        if lhs_static_nil || rhs_static_nil {
            let field_side = if rhs_static_nil { &lhs } else { &rhs };
            return match op {
                CmpOp::Eq => is_nil(field_side),
                CmpOp::Ne => !is_nil(field_side),
                _ => false,
            };
        }
        let hit = lhs.iter().any(|a| {
            rhs.iter().any(|b| {
                !matches!(a, Val::Nil)
                    && !matches!(b, Val::Nil)
                    && compare(self.set, a, op, b, c.regex.as_ref())
            })
        });
        hit
    }

    /// Spans of the trace where the filter holds.
    fn filter(&self, expr: &'a FieldExpr) -> Vec<u32> {
        self.range().filter(|&i| self.holds(i, expr)).collect()
    }

    fn eval_expr(&self, expr: &'a SpansetExpr) -> Vec<u32> {
        match expr {
            SpansetExpr::Filter(f) => self.filter(f),
            SpansetExpr::Binary(op, a, b) => {
                let left = self.eval_expr(a);
                if left.is_empty() && *op != SpansetOp::Or {
                    return Vec::new();
                }
                let right = self.eval_expr(b);
                match op {
                    SpansetOp::And => {
                        if right.is_empty() {
                            Vec::new()
                        } else {
                            union(&left, &right)
                        }
                    }
                    SpansetOp::Or => union(&left, &right),
                    structural => self.structural(*structural, &left, &right),
                }
            }
        }
    }

    /// Right-hand spans related to some left-hand span.
    fn structural(&self, op: SpansetOp, left: &[u32], right: &[u32]) -> Vec<u32> {
        let n = self.trace.spans.len as usize;
        let mut in_left = vec![false; n];
        for &l in left {
            if let Some(k) = self.local(l) {
                if let Some(slot) = in_left.get_mut(k) {
                    *slot = true;
                }
            }
        }
        let parent_local = |i: u32| -> Option<usize> {
            let p = self.set.span(i)?.parent;
            if p == NO_SPAN {
                None
            } else {
                self.local(p)
            }
        };
        let keep: Box<dyn Fn(u32) -> bool + '_> = match op {
            SpansetOp::Child => Box::new(|r| {
                parent_local(r)
                    .and_then(|p| in_left.get(p).copied())
                    .unwrap_or(false)
            }),
            SpansetOp::Descendant => {
                // covered[k]: some left span is a strict ancestor of local span k.
                let mut delta = vec![0i64; n + 1];
                for &l in left {
                    let (Some(k), Some(span)) = (self.local(l), self.set.span(l)) else {
                        continue;
                    };
                    let end = (k + span.subtree_len.max(1) as usize).min(n);
                    if k + 1 < end {
                        if let Some(d) = delta.get_mut(k + 1) {
                            *d += 1;
                        }
                        if let Some(d) = delta.get_mut(end) {
                            *d -= 1;
                        }
                    }
                }
                let mut covered = vec![false; n];
                let mut running = 0i64;
                for (k, slot) in covered.iter_mut().enumerate() {
                    running += delta.get(k).copied().unwrap_or(0);
                    *slot = running > 0;
                }
                Box::new(move |r| {
                    self.local(r)
                        .and_then(|k| covered.get(k).copied())
                        .unwrap_or(false)
                })
            }
            SpansetOp::Parent => {
                let mut has_left_child = vec![false; n];
                for &l in left {
                    if let Some(p) = parent_local(l) {
                        if let Some(slot) = has_left_child.get_mut(p) {
                            *slot = true;
                        }
                    }
                }
                Box::new(move |r| {
                    self.local(r)
                        .and_then(|k| has_left_child.get(k).copied())
                        .unwrap_or(false)
                })
            }
            SpansetOp::Ancestor => {
                // prefix[k]: left spans among local 0..k.
                let mut prefix = vec![0u32; n + 1];
                for k in 0..n {
                    let add = u32::from(in_left.get(k).copied().unwrap_or(false));
                    let before = prefix.get(k).copied().unwrap_or(0);
                    if let Some(slot) = prefix.get_mut(k + 1) {
                        *slot = before + add;
                    }
                }
                Box::new(move |r| {
                    let (Some(k), Some(span)) = (self.local(r), self.set.span(r)) else {
                        return false;
                    };
                    let end = (k + span.subtree_len.max(1) as usize).min(n);
                    let inside = prefix.get(end).copied().unwrap_or(0);
                    let upto = prefix.get(k + 1).copied().unwrap_or(0);
                    inside > upto
                })
            }
            SpansetOp::Sibling => {
                let mut left_children = vec![0u32; n];
                for &l in left {
                    if let Some(p) = parent_local(l) {
                        if let Some(slot) = left_children.get_mut(p) {
                            *slot += 1;
                        }
                    }
                }
                Box::new(move |r| {
                    let Some(p) = parent_local(r) else { return false };
                    let self_left = self
                        .local(r)
                        .and_then(|k| in_left.get(k).copied())
                        .unwrap_or(false);
                    left_children.get(p).copied().unwrap_or(0) > u32::from(self_left)
                })
            }
            SpansetOp::And | SpansetOp::Or => return union(left, right),
        };
        right.iter().copied().filter(|&r| keep(r)).collect()
    }

    fn apply_stage(&self, stage: &'a Stage, spansets: Vec<Spanset>) -> Vec<Spanset> {
        match stage {
            Stage::Filter(expr) => {
                let allowed = self.eval_expr(expr);
                spansets
                    .into_iter()
                    .filter_map(|mut ss| {
                        ss.spans.retain(|s| allowed.binary_search(s).is_ok());
                        (!ss.spans.is_empty()).then_some(ss)
                    })
                    .collect()
            }
            Stage::Scalar(filter) => spansets
                .into_iter()
                .filter_map(|mut ss| {
                    let value = self.aggregate(&filter.aggregate, &ss.spans)?;
                    let wanted = Val::from_static(&filter.value);
                    if !compare(self.set, value, filter.op, wanted, None) {
                        return None;
                    }
                    let result = value.to_result(self.set)?;
                    ss.attrs.push(ResultAttr {
                        key: filter.aggregate.label(),
                        value: result,
                    });
                    Some(ss)
                })
                .collect(),
            Stage::By(fields) => {
                let label = format!(
                    "by({})",
                    fields.iter().map(FieldRef::label).collect::<Vec<_>>().join(", ")
                );
                let mut out = Vec::new();
                for ss in spansets {
                    // Group key: the rendered values; groups in order of their first span.
                    let mut groups: Vec<Group> = Vec::new();
                    let mut index: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
                    for &s in &ss.spans {
                        let vals: Vec<Option<ResultValue>> = fields
                            .iter()
                            .map(|f| self.values(s, f).first().and_then(|v| v.to_result(self.set)))
                            .collect();
                        let key: Vec<Option<String>> = vals
                            .iter()
                            .map(|v| v.as_ref().map(|v| format!("{v:?}")))
                            .collect();
                        match index.get(&key).and_then(|&g| groups.get_mut(g)) {
                            Some(g) => g.1.push(s),
                            None => {
                                index.insert(key, groups.len());
                                groups.push((vals.into_iter().flatten().collect(), vec![s]));
                            }
                        }
                    }
                    for (vals, spans) in groups {
                        let mut attrs = ss.attrs.clone();
                        if fields.len() == 1 {
                            if let Some(v) = vals.into_iter().next() {
                                attrs.push(ResultAttr {
                                    key: label.clone(),
                                    value: v,
                                });
                            }
                        } else if !vals.is_empty() {
                            let text: Vec<String> = vals.iter().map(ResultValue::text).collect();
                            attrs.push(ResultAttr {
                                key: label.clone(),
                                value: ResultValue::Str(text.join(", ")),
                            });
                        }
                        out.push(Spanset { spans, attrs });
                    }
                }
                out
            }
            Stage::Select(_) => spansets,
            Stage::Coalesce => {
                let mut all: Vec<u32> = spansets.into_iter().flat_map(|s| s.spans).collect();
                all.sort_unstable();
                all.dedup();
                if all.is_empty() {
                    Vec::new()
                } else {
                    vec![Spanset {
                        spans: all,
                        attrs: Vec::new(),
                    }]
                }
            }
        }
    }

    /// `count()`, or avg/min/max/sum over the numeric values of a field (durations stay
    /// durations); `None` when no span has a numeric value.
    fn aggregate(&self, agg: &Aggregate, spans: &[u32]) -> Option<Val<'a>> {
        let Some(field) = &agg.field else {
            return Some(Val::Int(spans.len() as i64));
        };
        let mut ints: Vec<i64> = Vec::new();
        let mut floats: Vec<f64> = Vec::new();
        let mut all_durations = true;
        let mut all_ints = true;
        for &s in spans {
            if let Some(v) = self.values(s, field).first() {
                match v {
                    Val::Dur(d) => {
                        ints.push(d);
                        floats.push(d as f64);
                        all_ints = false;
                    }
                    Val::Int(i) => {
                        ints.push(i);
                        floats.push(i as f64);
                        all_durations = false;
                    }
                    Val::Float(f) => {
                        floats.push(f);
                        all_durations = false;
                        all_ints = false;
                    }
                    _ => {}
                }
            }
        }
        if floats.is_empty() {
            return None;
        }
        let exact = all_durations || all_ints;
        let wrap = |v: i64| if all_durations { Val::Dur(v) } else { Val::Int(v) };
        Some(match agg.func {
            AggFunc::Count => Val::Int(spans.len() as i64),
            AggFunc::Sum if exact => wrap(ints.iter().fold(0i64, |a, b| a.saturating_add(*b))),
            AggFunc::Min if exact => wrap(ints.iter().copied().min().unwrap_or(0)),
            AggFunc::Max if exact => wrap(ints.iter().copied().max().unwrap_or(0)),
            AggFunc::Avg if all_durations => {
                let sum: i128 = ints.iter().map(|&v| v as i128).sum();
                Val::Dur((sum / ints.len().max(1) as i128) as i64)
            }
            AggFunc::Sum => Val::Float(floats.iter().sum()),
            AggFunc::Min => Val::Float(floats.iter().copied().fold(f64::INFINITY, f64::min)),
            AggFunc::Max => Val::Float(floats.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            AggFunc::Avg => Val::Float(floats.iter().sum::<f64>() / floats.len() as f64),
        })
    }
}

/// One `by()` group: its values and its spans.
type Group = (Vec<ResultValue>, Vec<u32>);

/// Sorted union of two sorted index lists.
fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}
