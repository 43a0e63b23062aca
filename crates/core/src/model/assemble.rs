//! Trace assembly (`shared/design/analysis.md` section 1): group spans by trace id, drop exact
//! re-deliveries, link each span to its parent, lay each trace out in depth-first pre-order
//! (roots and children by start time), and mark clock-skew adjustments.
//!
//! Rules decided here:
//! - Duplicate span ids: a span equal to an earlier one in id, name, start and end is the same
//!   span delivered twice and is dropped (`duplicate_span`). Otherwise both are kept
//!   (`duplicate_span_id`), and children naming the id hang under the earliest-starting one
//!   (then the longest, then by kind and name), whatever order the input had. Zipkin
//!   client/server halves (`shared`) are one pair, not duplicates: children hang under the
//!   shared (server) half, and the server half hangs under the client half.
//! - A parent id that is absent makes the span an orphan root; a span naming itself is a root;
//!   a parent loop is cut at its earliest span (`parent_cycle`).
//! - Clock skew: a child in another service than its parent, that starts before the parent, or
//!   (for a SERVER child of a CLIENT parent) ends after it, is shifted with its subtree into the
//!   parent: centred when it is shorter, start-aligned otherwise. CONSUMER children, and children
//!   of PRODUCER spans, are never shifted (asynchronous work outliving its parent is normal).
//!   The shift is stored in `skew_shift_nanos`; raw times are kept.

use super::ids::TraceId;
use super::set::{TraceSet, TraceSetBuilder};
use super::types::{Span, SpanKind, Trace, NO_SPAN};
use crate::diagnostics::DiagnosticKind;
use hashbrown::HashMap;

pub(crate) fn assemble(builder: TraceSetBuilder) -> TraceSet {
    let TraceSetBuilder {
        arena,
        spans,
        mut diagnostics,
    } = builder;

    // 1. Group by trace id (groups in trace id order, arrival order within a group), then
    //    per trace, in trace id order: drop re-deliveries, link parents, cut loops. Only
    //    indexes are kept (`kept`: builder index per kept span; `parents`: local parent index).
    let order = group_by_trace(&spans);
    let briefs = &order.briefs;
    let mut scratch = Scratch::default();
    let mut kept: Vec<u32> = Vec::with_capacity(spans.len());
    let mut parents: Vec<u32> = Vec::with_capacity(spans.len());
    let mut linked: Vec<Linked> = Vec::with_capacity(order.groups.len());
    for &(from, to, trace_id) in &order.groups {
        let first = kept.len();
        let ctx = Ctx {
            briefs,
            spans: &spans,
            arena: &arena,
        };
        scratch.link_trace(from..to, &ctx, &mut kept, &mut parents, &mut diagnostics);
        let start = kept
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| briefs.get(i as usize))
            .map(|b| b.start)
            .min()
            .unwrap_or(0);
        linked.push(Linked {
            trace_id,
            start,
            first: first as u32,
            end: kept.len() as u32,
        });
    }
    // 2. Traces ordered by start, then id; each laid out in pre-order straight into its final
    //    place.
    linked.sort_by_key(|t| (t.start, t.trace_id));
    let mut out: Vec<Span> = Vec::with_capacity(kept.len());
    let mut traces: Vec<Trace> = Vec::with_capacity(linked.len());
    let mut layout = Layout::default();
    let ctx = Ctx {
        briefs,
        spans: &spans,
        arena: &arena,
    };
    for (index, t) in linked.iter().enumerate() {
        let members = kept.get(t.first as usize..t.end as usize).unwrap_or(&[]);
        let parent = parents.get(t.first as usize..t.end as usize).unwrap_or(&[]);
        let trace = layout.lay_out(index as u32, t.trace_id, members, parent, &ctx, &mut out);
        traces.push(trace);
    }
    drop(order);
    drop(spans);
    diagnostics.spans_read = out.len() as u64;
    TraceSet::from_parts(arena, out, traces, diagnostics)
}

/// What linking and layout read: the briefs in trace order, the builder's spans, the arena.
struct Ctx<'a> {
    briefs: &'a [Brief],
    spans: &'a [Span],
    arena: &'a super::arena::Arena,
}

impl Ctx<'_> {
    /// The brief at position `i` of the trace order.
    fn brief(&self, i: u32) -> Option<&Brief> {
        self.briefs.get(i as usize)
    }

    /// The full span whose brief is at position `i`.
    fn span(&self, i: u32) -> Option<&Span> {
        self.brief(i).and_then(|b| self.spans.get(b.index as usize))
    }
}

/// The fields of a span that linking and ordering read, packed small and stored in trace
/// order, so that per-trace work reads memory in sequence instead of jumping through the
/// builder's (much larger) spans.
#[derive(Clone, Copy, Default)]
struct Brief {
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    shared: bool,
    start: u64,
    /// Index of the span in the builder.
    index: u32,
}

/// One trace after linking: its kept spans are `kept[first..end]`.
struct Linked {
    trace_id: TraceId,
    start: u64,
    first: u32,
    end: u32,
}

/// Spans grouped by trace: `briefs[groups[g].0..groups[g].1]` are the spans of the g-th trace
/// id (`groups[g].2`) in byte order, in arrival order.
struct Groups {
    briefs: Vec<Brief>,
    groups: Vec<(u32, u32, TraceId)>,
}

/// Groups spans by trace id with a hash map (runs of one trace id, the usual layout, skip it),
/// then orders the groups by trace id.
fn group_by_trace(spans: &[Span]) -> Groups {
    let mut group_of: HashMap<TraceId, u32> = HashMap::new();
    let mut ids: Vec<TraceId> = Vec::new();
    let mut sizes: Vec<u32> = Vec::new();
    let mut span_group: Vec<u32> = Vec::with_capacity(spans.len());
    let mut last: Option<(TraceId, u32)> = None;
    for s in spans {
        let g = match last {
            Some((id, g)) if id == s.trace_id => g,
            _ => {
                let g = *group_of.entry(s.trace_id).or_insert_with(|| {
                    ids.push(s.trace_id);
                    sizes.push(0);
                    (ids.len() - 1) as u32
                });
                last = Some((s.trace_id, g));
                g
            }
        };
        if let Some(n) = sizes.get_mut(g as usize) {
            *n += 1;
        }
        span_group.push(g);
    }
    let mut by_id: Vec<u32> = (0..ids.len() as u32).collect();
    by_id.sort_unstable_by_key(|&g| ids.get(g as usize).copied().unwrap_or_default());
    // Start offset of each group in the id order.
    let mut fill = vec![0u32; ids.len()];
    let mut groups = Vec::with_capacity(ids.len());
    let mut at = 0u32;
    for &g in &by_id {
        let n = sizes.get(g as usize).copied().unwrap_or(0);
        if let Some(f) = fill.get_mut(g as usize) {
            *f = at;
        }
        groups.push((at, at + n, ids.get(g as usize).copied().unwrap_or_default()));
        at += n;
    }
    let mut briefs = vec![Brief::default(); spans.len()];
    for (i, (&g, s)) in span_group.iter().zip(spans).enumerate() {
        if let Some(f) = fill.get_mut(g as usize) {
            if let Some(slot) = briefs.get_mut(*f as usize) {
                *slot = Brief {
                    span_id: s.span_id.0,
                    parent: s.parent_span_id.map(|p| p.0),
                    shared: s.shared,
                    start: s.start_unix_nanos,
                    index: i as u32,
                };
            }
            *f += 1;
        }
    }
    Groups { briefs, groups }
}

#[derive(Default)]
struct Scratch {
    by_id: HashMap<[u8; 8], u32>,
    shared_by_id: HashMap<[u8; 8], u32>,
    client_half_by_id: HashMap<[u8; 8], u32>,
    parent: Vec<u32>,
}

impl Scratch {
    /// Drops exact re-deliveries among `members` (brief positions of one trace, in arrival
    /// order), appends the kept ones to `kept` and their local parent indexes to `parents`.
    fn link_trace(
        &mut self,
        members: std::ops::Range<u32>,
        ctx: &Ctx,
        kept_out: &mut Vec<u32>,
        parents: &mut Vec<u32>,
        diagnostics: &mut crate::diagnostics::Diagnostics,
    ) {
        self.by_id.clear();
        self.shared_by_id.clear();
        self.client_half_by_id.clear();
        let base = kept_out.len();

        // 1. Drop exact re-deliveries; note distinct spans that share an id.
        for m in members {
            let Some(brief) = ctx.brief(m) else {
                continue;
            };
            let kept = kept_out.get(base..).unwrap_or(&[]);
            let id = brief.span_id;
            let same_half = if brief.shared {
                self.shared_by_id.get(&id)
            } else {
                self.by_id.get(&id)
            };
            if let Some(&earlier) = same_half {
                // Rare: spans sharing an id are compared in full.
                let (Some(e), Some(span)) =
                    (kept.get(earlier as usize).and_then(|&k| ctx.span(k)), ctx.span(m))
                else {
                    continue;
                };
                let arena = ctx.arena;
                if e.name == span.name
                    && e.start_unix_nanos == span.start_unix_nanos
                    && e.end_unix_nanos == span.end_unix_nanos
                {
                    diagnostics.spans_skipped += 1;
                    diagnostics.add(
                        DiagnosticKind::DuplicateSpan,
                        format!("trace {}", span.trace_id),
                        Some(&span.span_id.to_hex()),
                        Some("spanId"),
                        "the same span was delivered twice; the copy was dropped",
                    );
                    continue;
                }
                diagnostics.add(
                    DiagnosticKind::DuplicateSpanId,
                    format!("trace {}", span.trace_id),
                    Some(&span.span_id.to_hex()),
                    Some("spanId"),
                    "two different spans share this id; both kept, children hang under the earliest",
                );
                // Children naming the id hang under one span chosen by content, not by arrival
                // order, so the tree does not depend on how a file happened to order its spans.
                let index = kept.len() as u32;
                let prefer_new = link_key(span, arena) < link_key(e, arena);
                if prefer_new {
                    if brief.shared {
                        self.shared_by_id.insert(id, index);
                    } else {
                        self.by_id.insert(id, index);
                        self.client_half_by_id.insert(id, index);
                    }
                }
                kept_out.push(m);
                continue;
            }
            let index = kept.len() as u32;
            if brief.shared {
                self.shared_by_id.insert(id, index);
            } else {
                self.by_id.insert(id, index);
                self.client_half_by_id.insert(id, index);
            }
            kept_out.push(m);
        }

        // 2. Parent links (local indexes).
        let kept = kept_out.get(base..).unwrap_or(&[]);
        let n = kept.len();
        self.parent.clear();
        self.parent.resize(n, NO_SPAN);
        for (i, brief) in kept.iter().filter_map(|&k| ctx.brief(k)).enumerate() {
            let id = brief.span_id;
            let candidate = if brief.shared {
                // Server half of a Zipkin pair: under its client half when present.
                match self.client_half_by_id.get(&id) {
                    Some(&client) => Some(client),
                    None => brief.parent.and_then(|p| self.lookup_parent(&p)),
                }
            } else {
                brief.parent.and_then(|p| self.lookup_parent(&p))
            };
            if let (Some(c), Some(slot)) = (candidate, self.parent.get_mut(i)) {
                if c as usize != i {
                    *slot = c;
                }
            }
        }
        break_cycles(kept, ctx, &mut self.parent, diagnostics);
        parents.extend_from_slice(&self.parent);
    }

    fn lookup_parent(&self, id: &[u8; 8]) -> Option<u32> {
        // Children of a shared id belong to the server half.
        self.shared_by_id.get(id).or_else(|| self.by_id.get(id)).copied()
    }
}

/// Reusable buffers of the pre-order layout.
#[derive(Default)]
struct Layout {
    child_count: Vec<u32>,
    child_start: Vec<u32>,
    fill: Vec<u32>,
    children: Vec<u32>,
    roots: Vec<u32>,
    stack: Vec<(u32, u32, u32, i64)>,
}

impl Layout {
    /// Lays out one linked trace (`members`: brief positions; `parent`: local parent indexes)
    /// at the end of `out` in depth-first pre-order (roots and children by start), with depth,
    /// subtree sizes and clock-skew shifts; `index` is the trace's index in the set.
    fn lay_out(
        &mut self,
        index: u32,
        trace_id: TraceId,
        members: &[u32],
        parent: &[u32],
        ctx: &Ctx,
        out: &mut Vec<Span>,
    ) -> Trace {
        let n = members.len();
        let arena = ctx.arena;
        let brief_at = |i: u32| members.get(i as usize).and_then(|&m| ctx.brief(m));
        let span_at = |i: u32| members.get(i as usize).and_then(|&m| ctx.span(m));

        // 3. Children lists, sorted by start (then arrival order), and roots.
        self.child_count.clear();
        self.child_count.resize(n, 0);
        for &p in parent {
            if let Some(c) = self.child_count.get_mut(p as usize) {
                *c += 1;
            }
        }
        self.child_start.clear();
        self.child_start.resize(n + 1, 0);
        for i in 0..n {
            self.child_start[i + 1] = self.child_start[i] + self.child_count[i];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.child_start);
        self.children.clear();
        self.children.resize(self.child_start[n] as usize, 0);
        self.roots.clear();
        for (i, &p) in parent.iter().enumerate() {
            if p == NO_SPAN {
                self.roots.push(i as u32);
            } else if let Some(slot) = self.fill.get_mut(p as usize) {
                if let Some(c) = self.children.get_mut(*slot as usize) {
                    *c = i as u32;
                }
                *slot += 1;
            }
        }
        let start_key = |i: &u32| (brief_at(*i).map(|b| b.start).unwrap_or(0), *i);
        for i in 0..n {
            let range = self.child_start[i] as usize..self.child_start[i + 1] as usize;
            if let Some(list) = self.children.get_mut(range) {
                if list.len() > 1 {
                    list.sort_by_key(start_key);
                }
            }
        }
        // A real root (no parent id) comes before orphans; then by start.
        self.roots.sort_by_key(|&i| {
            (
                brief_at(i).map(|b| b.parent.is_some()).unwrap_or(true),
                start_key(&i),
            )
        });

        // 4. Pre-order layout with depth, subtree sizes and clock-skew shifts.
        let base = out.len() as u32;
        let mut trace = Trace {
            trace_id,
            spans: super::types::Range32 {
                start: base,
                len: n as u32,
            },
            root_count: self.roots.len() as u32,
            orphan_count: 0,
            start_unix_nanos: u64::MAX,
            end_unix_nanos: 0,
            error_count: 0,
            max_depth: 0,
            skew_adjusted_count: 0,
        };
        // Stack of (local index, depth, parent's output index, inherited shift).
        self.stack.clear();
        self.stack
            .extend(self.roots.iter().rev().map(|&r| (r, 0, NO_SPAN, 0)));
        while let Some((local, depth, parent_out, inherited)) = self.stack.pop() {
            let Some(span) = span_at(local) else {
                continue;
            };
            let mut span = *span;
            span.trace = index;
            span.parent = parent_out;
            span.depth = depth;
            span.child_count = self.child_count.get(local as usize).copied().unwrap_or(0);
            span.subtree_len = 1;
            let mut shift = inherited;
            if let Some(p) = out.get(parent_out as usize) {
                let own = skew_shift(p, &span, shift, arena);
                if own != 0 {
                    trace.skew_adjusted_count += 1;
                    shift += own;
                }
            }
            span.skew_shift_nanos = shift;
            if span.is_orphan() {
                trace.orphan_count += 1;
            }
            if span.is_error() {
                trace.error_count += 1;
            }
            trace.max_depth = trace.max_depth.max(depth);
            trace.start_unix_nanos = trace.start_unix_nanos.min(span.start_unix_nanos);
            trace.end_unix_nanos = trace.end_unix_nanos.max(span.end_unix_nanos);
            let my_out = out.len() as u32;
            out.push(span);
            let list = self
                .children
                .get(self.child_start[local as usize] as usize..self.child_start[local as usize + 1] as usize)
                .unwrap_or(&[]);
            for &c in list.iter().rev() {
                self.stack.push((c, depth + 1, my_out, shift));
            }
        }
        // Subtree sizes: walk the pre-order backwards adding each span into its parent.
        let end = out.len();
        for i in (base as usize..end).rev() {
            let (p, len) = match out.get(i) {
                Some(s) => (s.parent, s.subtree_len),
                None => continue,
            };
            if let Some(parent_span) = out.get_mut(p as usize) {
                parent_span.subtree_len += len;
            }
        }
        if trace.start_unix_nanos == u64::MAX {
            trace.start_unix_nanos = 0;
        }
        trace
    }
}

/// Order among distinct spans sharing one id: the one children attach to is the smallest key
/// (earliest start, then longest, then kind, then name).
fn link_key<'a>(
    span: &Span,
    arena: &'a super::arena::Arena,
) -> (u64, std::cmp::Reverse<u64>, SpanKind, &'a str) {
    (
        span.start_unix_nanos,
        std::cmp::Reverse(span.end_unix_nanos),
        span.kind,
        arena.str(span.name),
    )
}

/// Cuts parent loops: any span not reachable from a root sits on or under a loop.
fn break_cycles(
    kept: &[u32],
    ctx: &Ctx,
    parent: &mut [u32],
    diagnostics: &mut crate::diagnostics::Diagnostics,
) {
    let n = kept.len();
    let span_at = |i: usize| kept.get(i).and_then(|&k| ctx.span(k));
    // state: 0 unknown, 1 on current path, 2 reaches a root.
    let mut state = vec![0u8; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut path: Vec<usize> = Vec::new();
        let mut current = start;
        loop {
            match state.get(current).copied() {
                Some(2) => break,
                Some(1) => {
                    // Loop found: cut it at its earliest-starting member.
                    let loop_start = path.iter().position(|&p| p == current).unwrap_or(0);
                    let cut = path
                        .get(loop_start..)
                        .unwrap_or(&[])
                        .iter()
                        .copied()
                        .min_by_key(|&i| {
                            let start = kept.get(i).and_then(|&k| ctx.brief(k)).map(|b| b.start);
                            (start.unwrap_or(0), i)
                        })
                        .unwrap_or(current);
                    if let Some(slot) = parent.get_mut(cut) {
                        *slot = NO_SPAN;
                    }
                    diagnostics.add(
                        DiagnosticKind::ParentCycle,
                        span_at(cut)
                            .map(|s| format!("trace {}", s.trace_id))
                            .unwrap_or_default(),
                        span_at(cut).map(|s| s.span_id.to_hex()).as_deref(),
                        Some("parentSpanId"),
                        "parent links form a loop; this span was made a root",
                    );
                    break;
                }
                _ => {}
            }
            if let Some(s) = state.get_mut(current) {
                *s = 1;
            }
            path.push(current);
            match parent.get(current).copied() {
                Some(p) if p != NO_SPAN => current = p as usize,
                _ => break,
            }
        }
        for p in path {
            if let Some(s) = state.get_mut(p) {
                *s = 2;
            }
        }
    }
}

/// The extra shift a child needs to sit inside its (already shifted) parent, or 0.
fn skew_shift(parent: &Span, child: &Span, inherited: i64, arena: &super::arena::Arena) -> i64 {
    if child.kind == SpanKind::Consumer || parent.kind == SpanKind::Producer {
        return 0;
    }
    let parent_service = arena
        .resources
        .get(parent.resource as usize)
        .map(|r| r.service_name);
    let child_service = arena
        .resources
        .get(child.resource as usize)
        .map(|r| r.service_name);
    if parent_service == child_service {
        return 0;
    }
    let p_start = parent.display_start_unix_nanos() as i128;
    let p_end = parent.display_end_unix_nanos() as i128;
    let c_start = child.start_unix_nanos as i128 + inherited as i128;
    let c_end = child.end_unix_nanos as i128 + inherited as i128;
    let starts_early = c_start < p_start;
    let ends_late = c_end > p_end && parent.kind == SpanKind::Client && child.kind == SpanKind::Server;
    if !starts_early && !ends_late {
        return 0;
    }
    let p_dur = p_end - p_start;
    let c_dur = (c_end - c_start).max(0);
    let target_start = if c_dur <= p_dur {
        p_start + (p_dur - c_dur) / 2
    } else {
        p_start
    };
    let shift = target_start - c_start;
    i64::try_from(shift).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::diagnostics::DiagnosticKind;

    /// A test row: (span id, parent id, service, kind, start, end).
    type Row<'a> = (u8, Option<u8>, &'a str, SpanKind, u64, u64);

    /// Builds a one-trace set from rows.
    fn build(rows: &[Row<'_>]) -> TraceSet {
        let mut b = TraceSetBuilder::new();
        let trace_id = TraceId([7; 16]);
        for &(id, parent, service, kind, start, end) in rows {
            let service_name = b.arena.intern(service);
            let resource = b.arena.push_resource(Resource {
                service_name,
                ..Default::default()
            });
            let name = b.arena.intern(&format!("op{id}"));
            b.push_span(Span {
                trace_id,
                span_id: SpanId([0, 0, 0, 0, 0, 0, 0, id]),
                parent_span_id: parent.map(|p| SpanId([0, 0, 0, 0, 0, 0, 0, p])),
                name,
                kind,
                start_unix_nanos: start,
                end_unix_nanos: end,
                resource,
                ..Default::default()
            });
        }
        b.finish()
    }

    #[test]
    fn preorder_depth_orphans_and_roots() {
        use SpanKind::*;
        // id parent service kind start end
        let set = build(&[
            (3, Some(1), "a", Internal, 30, 40),
            (1, None, "a", Server, 0, 100),
            (2, Some(1), "a", Internal, 10, 20),
            (4, Some(2), "a", Internal, 11, 12),
            (9, Some(8), "a", Internal, 50, 60), // orphan: 8 is absent
        ]);
        let t = set.traces()[0];
        assert_eq!(t.root_count, 2);
        assert_eq!(t.orphan_count, 1);
        assert_eq!(t.max_depth, 2);
        let order: Vec<u8> = set.trace_spans(&t).iter().map(|s| s.span_id.0[7]).collect();
        assert_eq!(order, vec![1, 2, 4, 3, 9]);
        let depths: Vec<u32> = set.trace_spans(&t).iter().map(|s| s.depth).collect();
        assert_eq!(depths, vec![0, 1, 2, 1, 0]);
        let subtree: Vec<u32> = set.trace_spans(&t).iter().map(|s| s.subtree_len).collect();
        assert_eq!(subtree, vec![4, 2, 1, 1, 1]);
        assert_eq!(set.children(0).collect::<Vec<_>>(), vec![1, 3]);
        assert!(set.spans()[4].is_orphan());
        assert_eq!(set.root_of(&t), Some(0));
    }

    #[test]
    fn duplicates_and_cycles() {
        use SpanKind::*;
        let set = build(&[
            (1, None, "a", Server, 0, 100),
            (1, None, "a", Server, 0, 100), // exact re-delivery: dropped
            (2, Some(3), "a", Internal, 10, 20),
            (3, Some(2), "a", Internal, 5, 30), // loop 2 <-> 3
        ]);
        assert_eq!(set.span_count(), 3);
        assert_eq!(set.diagnostics.count(DiagnosticKind::DuplicateSpan), 1);
        assert_eq!(set.diagnostics.count(DiagnosticKind::ParentCycle), 1);
        let t = set.traces()[0];
        assert_eq!(t.root_count, 2);
    }

    #[test]
    fn clock_skew_across_services_is_shifted_and_marked() {
        use SpanKind::*;
        // The server child starts 50 before its client parent: centred into the parent.
        let set = build(&[
            (1, None, "front", Client, 1000, 1100),
            (2, Some(1), "back", Server, 950, 1010),
            (3, Some(2), "back", Internal, 960, 970),
        ]);
        let spans = set.trace_spans(&set.traces()[0]);
        assert_eq!(spans[1].skew_shift_nanos, 70); // 1000 + (100-60)/2 - 950
        assert_eq!(spans[1].display_start_unix_nanos(), 1020);
        assert_eq!(spans[2].skew_shift_nanos, 70); // inherited
        assert_eq!(spans[1].start_unix_nanos, 950); // raw kept
        assert_eq!(set.traces()[0].skew_adjusted_count, 1);
        // Same service: never shifted.
        let same = build(&[
            (1, None, "a", Client, 1000, 1100),
            (2, Some(1), "a", Server, 950, 1010),
        ]);
        assert_eq!(same.spans()[1].skew_shift_nanos, 0);
    }

    #[test]
    fn merges_sets() {
        use SpanKind::*;
        let a = build(&[(1, None, "a", Server, 0, 100)]);
        let b = build(&[(2, Some(1), "b", Client, 10, 20)]);
        let mut builder = a.into_builder();
        builder.append_set(&b);
        let merged = builder.finish();
        assert_eq!(merged.traces().len(), 1);
        assert_eq!(merged.traces()[0].root_count, 1);
        assert_eq!(merged.service_name(&merged.spans()[1]), "b");
    }
}
