//! Per-set preparation shared by every analysis: operation ids (service + span name, grouped by
//! interned ids and numbered in output order), categories, error flags and self times.
//!
//! Decisions:
//! - Times are the **display** (clock-skew adjusted) times throughout; a span's duration is the
//!   same either way, but child intervals clipped to a parent use the shifted times, which is
//!   what the waterfall shows.
//! - A span is an error when its status is ERROR or it carries an `error` attribute that is not
//!   `false` (Jaeger's boolean tag, Zipkin's message tag).
//! - Operations are numbered sorted by (service, span name) text, so outputs come out sorted.
//!
//! Not here: any grouping beyond operations (see `metrics`, `service_graph`).

use super::rules::{Classifier, Rules};
use crate::model::{Event, Span, StrId, TraceSet, Value, UNKNOWN_SERVICE};
use hashbrown::HashMap;

/// Attribute keys the analysis reads, resolved once to interned ids (absent keys are `None`,
/// which makes every lookup of them free).
pub(crate) struct Keys {
    pub peer_service: Option<StrId>,
    pub server_address: Option<StrId>,
    pub net_peer_address: Option<StrId>,
    pub net_peer_port: Option<StrId>,
    pub db_namespace: Option<StrId>,
    pub db_name: Option<StrId>,
    pub db_system: Option<StrId>,
    pub db_system_name: Option<StrId>,
    pub db_statement: Option<StrId>,
    pub db_query_text: Option<StrId>,
    pub error: Option<StrId>,
    pub input_tokens: [Option<StrId>; 4],
    pub output_tokens: [Option<StrId>; 4],
    pub retry: [Option<StrId>; 4],
    pub exception: Option<StrId>,
    pub exception_type: Option<StrId>,
    pub exception_message: Option<StrId>,
    pub exception_stacktrace: Option<StrId>,
}

impl Keys {
    pub(crate) fn new(set: &TraceSet) -> Keys {
        let k = |s: &str| set.arena.strings.lookup(s);
        Keys {
            peer_service: k("peer.service"),
            server_address: k("server.address"),
            net_peer_address: k("network.peer.address"),
            net_peer_port: k("network.peer.port"),
            db_namespace: k("db.namespace"),
            db_name: k("db.name"),
            db_system: k("db.system"),
            db_system_name: k("db.system.name"),
            db_statement: k("db.statement"),
            db_query_text: k("db.query.text"),
            error: k("error"),
            input_tokens: [
                k("gen_ai.usage.input_tokens"),
                k("gen_ai.usage.prompt_tokens"),
                k("llm.usage.prompt_tokens"),
                k("llm.token_count.prompt"),
            ],
            output_tokens: [
                k("gen_ai.usage.output_tokens"),
                k("gen_ai.usage.completion_tokens"),
                k("llm.usage.completion_tokens"),
                k("llm.token_count.completion"),
            ],
            retry: [
                k("http.resend_count"),
                k("http.request.resend_count"),
                k("retry.count"),
                k("retry.attempt"),
            ],
            exception: k("exception"),
            exception_type: k("exception.type"),
            exception_message: k("exception.message"),
            exception_stacktrace: k("exception.stacktrace"),
        }
    }

    /// The db attributes in the order §2 names them for server naming.
    pub(crate) fn db_keys(&self) -> [Option<StrId>; 4] {
        [
            self.db_namespace,
            self.db_name,
            self.db_system,
            self.db_system_name,
        ]
    }
}

/// An attribute of a span by resolved key.
pub(crate) fn attr(set: &TraceSet, span: &Span, key: Option<StrId>) -> Option<Value> {
    let key = key?;
    set.attrs(span).iter().find(|kv| kv.key == key).map(|kv| kv.value)
}

/// An attribute of an event by resolved key.
pub(crate) fn event_attr(set: &TraceSet, event: &Event, key: Option<StrId>) -> Option<Value> {
    let key = key?;
    set.arena
        .kv_slice(event.attrs)
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value)
}

/// A value as an integer when it is one (or a numeric string).
pub(crate) fn value_i64(set: &TraceSet, v: Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i),
        Value::Double(d) if d.is_finite() => Some(d as i64),
        Value::Str(s) => set.str(s).trim().parse().ok(),
        _ => None,
    }
}

/// Whether an `error` attribute value means "error".
fn error_value(set: &TraceSet, v: Value) -> bool {
    match v {
        Value::Bool(b) => b,
        Value::Str(s) => {
            let t = set.str(s);
            !(t.is_empty() || t.eq_ignore_ascii_case("false"))
        }
        Value::Empty => false,
        _ => true,
    }
}

/// Attribute facts of one span, read in the single pass over its attributes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Facts {
    /// `db.statement` / `db.query.text` string id (0 when absent).
    pub stmt: u32,
    /// Any of the db attributes that make a CLIENT span a database edge.
    pub has_db: bool,
    /// A retry attribute above 0.
    pub retry: bool,
}

/// Everything per span and per operation that several analyses need.
pub(crate) struct Prepared<'a> {
    pub set: &'a TraceSet,
    pub rules: &'a Rules,
    pub keys: Keys,
    /// Service id per resource (`unknown_service` folded in).
    pub resource_service: Vec<StrId>,
    /// First set-wide span index covered by `span_op`, `errors` and `self_nanos`.
    pub base: u32,
    /// Operation index per span of the scope (set-wide index − `base`).
    pub span_op: Vec<u32>,
    /// (service, name) per operation, sorted by text.
    pub ops: Vec<(StrId, StrId)>,
    /// Category index per operation (first match over its spans).
    pub op_category: Vec<usize>,
    /// Service index (into `services`) per operation.
    pub op_service: Vec<u32>,
    /// Distinct services, sorted by text; each service's operations are contiguous.
    pub services: Vec<StrId>,
    /// Error flag per span.
    pub errors: Vec<bool>,
    /// Self time per span (display times).
    pub self_nanos: Vec<u64>,
    /// Attribute facts per span.
    pub facts: Vec<Facts>,
}

impl<'a> Prepared<'a> {
    /// Prepares the whole set.
    pub(crate) fn new(set: &'a TraceSet, rules: &'a Rules) -> Prepared<'a> {
        Prepared::scoped(set, rules, 0..set.span_count())
    }

    /// Prepares the spans in `scope` (set-wide indexes, e.g. one trace): operations, errors and
    /// self times of those spans only, but each operation's category is still decided over every
    /// span of the set with the same (service, name), so grades agree with the whole-set view.
    pub(crate) fn scoped(set: &'a TraceSet, rules: &'a Rules, scope: std::ops::Range<usize>) -> Prepared<'a> {
        let keys = Keys::new(set);
        let unknown = set.arena.strings.lookup(UNKNOWN_SERVICE).unwrap_or(StrId::EMPTY);
        let resource_service: Vec<StrId> = set
            .arena
            .resources
            .iter()
            .map(|r| {
                if r.service_name.is_empty() {
                    unknown
                } else {
                    r.service_name
                }
            })
            .collect();
        let all = set.spans();
        let spans = all.get(scope.clone()).unwrap_or(&[]);
        let base = if spans.is_empty() { 0 } else { scope.start };
        let n = spans.len();
        let mut classifier = Classifier::new(rules, set);
        let fallback = rules.categories.len();
        let mut op_map: HashMap<(StrId, StrId), u32> = HashMap::new();
        let mut ops: Vec<(StrId, StrId)> = Vec::new();
        let mut op_category: Vec<usize> = Vec::new();
        let mut span_op: Vec<u32> = Vec::with_capacity(n);
        let mut errors: Vec<bool> = Vec::with_capacity(n);
        let mut facts: Vec<Facts> = Vec::with_capacity(n);
        let mut last: Option<((StrId, StrId), u32)> = None;
        for span in spans {
            let svc = resource_service
                .get(span.resource as usize)
                .copied()
                .unwrap_or(unknown);
            let key = (svc, span.name);
            let op = match last {
                Some((k, o)) if k == key => o,
                _ => {
                    let next = ops.len() as u32;
                    let o = *op_map.entry(key).or_insert(next);
                    if o == next {
                        ops.push(key);
                        op_category.push(fallback);
                    }
                    last = Some((key, o));
                    o
                }
            };
            span_op.push(op);
            // One pass over the attributes: classification and facts.
            let classify = op_category.get(op as usize).is_some_and(|&c| c > 0);
            let mut key_ok = classifier.start();
            let mut f = Facts::default();
            let mut error_attr: Option<Value> = None;
            for kv in set.attrs(span) {
                if classify {
                    classifier.absorb(kv, &mut key_ok);
                }
                let k = Some(kv.key);
                if k == keys.error {
                    error_attr.get_or_insert(kv.value);
                } else if k == keys.db_statement || k == keys.db_query_text {
                    if let (0, Value::Str(id)) = (f.stmt, kv.value) {
                        f.stmt = id.0;
                    }
                } else if keys.retry.contains(&k) {
                    f.retry |= value_i64(set, kv.value).is_some_and(|v| v > 0);
                }
                if keys.db_keys().contains(&k) {
                    f.has_db = true;
                }
            }
            if classify {
                let found = classifier.finish(span, key_ok);
                if let Some(c) = op_category.get_mut(op as usize) {
                    *c = (*c).min(found);
                }
            }
            errors.push(span.is_error() || error_attr.is_some_and(|v| error_value(set, v)));
            facts.push(f);
        }
        if n < all.len() {
            // Categories over the rest of the set, for the operations in scope only.
            let mut last: Option<((StrId, StrId), Option<u32>)> = None;
            for (i, span) in all.iter().enumerate() {
                if i >= base && i < base + n {
                    continue;
                }
                let svc = resource_service
                    .get(span.resource as usize)
                    .copied()
                    .unwrap_or(unknown);
                let key = (svc, span.name);
                let op = match last {
                    Some((k, o)) if k == key => o,
                    _ => {
                        let o = op_map.get(&key).copied();
                        last = Some((key, o));
                        o
                    }
                };
                if op
                    .and_then(|o| op_category.get(o as usize))
                    .is_some_and(|&c| c > 0)
                {
                    let mut key_ok = classifier.start();
                    for kv in set.attrs(span) {
                        classifier.absorb(kv, &mut key_ok);
                    }
                    let found = classifier.finish(span, key_ok);
                    if let Some(c) = op.and_then(|o| op_category.get_mut(o as usize)) {
                        *c = (*c).min(found);
                    }
                }
            }
        }
        // Renumber operations in (service, name) text order.
        let mut order: Vec<u32> = (0..ops.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let ka = ops.get(a as usize).copied().unwrap_or_default();
            let kb = ops.get(b as usize).copied().unwrap_or_default();
            (svc_text(set, ka.0), set.str(ka.1)).cmp(&(svc_text(set, kb.0), set.str(kb.1)))
        });
        let mut remap = vec![0u32; ops.len()];
        for (new, &old) in order.iter().enumerate() {
            if let Some(r) = remap.get_mut(old as usize) {
                *r = new as u32;
            }
        }
        let sorted_ops: Vec<(StrId, StrId)> = order
            .iter()
            .map(|&o| ops.get(o as usize).copied().unwrap_or_default())
            .collect();
        let sorted_cat: Vec<usize> = order
            .iter()
            .map(|&o| op_category.get(o as usize).copied().unwrap_or(fallback))
            .collect();
        for o in span_op.iter_mut() {
            *o = remap.get(*o as usize).copied().unwrap_or(0);
        }
        let mut services: Vec<StrId> = Vec::new();
        let mut op_service: Vec<u32> = Vec::with_capacity(sorted_ops.len());
        for &(svc, _) in &sorted_ops {
            if services.last() != Some(&svc) {
                services.push(svc);
            }
            op_service.push(services.len().saturating_sub(1) as u32);
        }
        let self_nanos = self_times(set, base..base + n);
        Prepared {
            set,
            rules,
            keys,
            resource_service,
            base: base as u32,
            span_op,
            ops: sorted_ops,
            op_category: sorted_cat,
            op_service,
            services,
            errors,
            self_nanos,
            facts,
        }
    }

    /// Service id of a span.
    pub(crate) fn service_of(&self, span: &Span) -> StrId {
        self.resource_service
            .get(span.resource as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Service text of an id (`unknown_service` for the empty id).
    pub(crate) fn svc(&self, id: StrId) -> &'a str {
        svc_text(self.set, id)
    }

    /// Operation index of a span.
    pub(crate) fn op_of(&self, index: u32) -> u32 {
        self.span_op
            .get(index.wrapping_sub(self.base) as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Category index of an operation.
    pub(crate) fn category_of_op(&self, op: u32) -> usize {
        self.op_category
            .get(op as usize)
            .copied()
            .unwrap_or(self.rules.categories.len())
    }

    /// (service, name) text of an operation.
    pub(crate) fn op_text(&self, op: u32) -> (&'a str, &'a str) {
        let (s, n) = self.ops.get(op as usize).copied().unwrap_or_default();
        (self.svc(s), self.set.str(n))
    }

    pub(crate) fn is_error(&self, index: u32) -> bool {
        self.errors
            .get(index.wrapping_sub(self.base) as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Attribute facts of a span (defaults outside the scope).
    pub(crate) fn facts(&self, index: u32) -> Facts {
        self.facts
            .get(index.wrapping_sub(self.base) as usize)
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn self_time(&self, index: u32) -> u64 {
        self.self_nanos
            .get(index.wrapping_sub(self.base) as usize)
            .copied()
            .unwrap_or(0)
    }
}

/// Service text of an id (`unknown_service` for the empty id).
pub(crate) fn svc_text(set: &TraceSet, id: StrId) -> &str {
    if id.is_empty() {
        UNKNOWN_SERVICE
    } else {
        set.str(id)
    }
}

/// Self time of the spans in `range` (set-wide indexes): duration minus the union of the
/// children's display intervals clipped to the span's own display interval.
pub(crate) fn self_times(set: &TraceSet, range: std::ops::Range<usize>) -> Vec<u64> {
    let spans = set.spans().get(range.clone()).unwrap_or(&[]);
    let mut out = Vec::with_capacity(spans.len());
    let mut scratch: Vec<(u64, u64)> = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        out.push(self_time_of(set, (range.start + i) as u32, span, &mut scratch));
    }
    out
}

/// Self time of one span (see [`self_times`]).
pub(crate) fn self_time_of(set: &TraceSet, index: u32, span: &Span, scratch: &mut Vec<(u64, u64)>) -> u64 {
    let start = span.display_start_unix_nanos();
    let end = span.display_end_unix_nanos().max(start);
    let duration = end - start;
    if span.child_count == 0 {
        return duration;
    }
    scratch.clear();
    let mut sorted = true;
    for c in set.children(index) {
        let Some(child) = set.span(c) else { continue };
        let cs = child.display_start_unix_nanos().max(start);
        let ce = child.display_end_unix_nanos().min(end);
        if ce > cs {
            if scratch.last().is_some_and(|&(ps, _)| ps > cs) {
                sorted = false;
            }
            scratch.push((cs, ce));
        }
    }
    if !sorted {
        scratch.sort_unstable();
    }
    let mut covered = 0u64;
    let mut run: Option<(u64, u64)> = None;
    for &(cs, ce) in scratch.iter() {
        match run {
            Some((rs, re)) if cs <= re => run = Some((rs, re.max(ce))),
            Some((rs, re)) => {
                covered += re - rs;
                run = Some((cs, ce));
            }
            None => run = Some((cs, ce)),
        }
    }
    if let Some((rs, re)) = run {
        covered += re - rs;
    }
    duration.saturating_sub(covered)
}

/// The set's time range: earliest display start, latest display end ((0, 0) when empty).
pub(crate) fn time_range(set: &TraceSet) -> (u64, u64) {
    let mut lo = u64::MAX;
    let mut hi = 0u64;
    for s in set.spans() {
        lo = lo.min(s.display_start_unix_nanos());
        hi = hi.max(s.display_end_unix_nanos());
    }
    if lo == u64::MAX {
        (0, 0)
    } else {
        (lo, hi.max(lo))
    }
}
