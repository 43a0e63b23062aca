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

    // Group by trace id, keeping arrival order within a trace.
    let mut order: Vec<u32> = (0..spans.len() as u32).collect();
    order.sort_by_key(|&i| (spans.get(i as usize).map(|s| s.trace_id).unwrap_or_default(), i));

    let mut out_spans: Vec<Span> = Vec::with_capacity(spans.len());
    let mut traces: Vec<Trace> = Vec::new();
    let mut group_start = 0usize;
    let mut scratch = Scratch::default();
    while group_start < order.len() {
        let trace_id = spans
            .get(order[group_start] as usize)
            .map(|s| s.trace_id)
            .unwrap_or_default();
        let mut group_end = group_start;
        while group_end < order.len()
            && spans.get(order[group_end] as usize).map(|s| s.trace_id) == Some(trace_id)
        {
            group_end += 1;
        }
        let members: Vec<Span> = order[group_start..group_end]
            .iter()
            .filter_map(|&i| spans.get(i as usize).copied())
            .collect();
        let trace = scratch.assemble_trace(members, &arena, &mut out_spans, &mut diagnostics);
        traces.push(trace);
        group_start = group_end;
    }
    drop(spans);

    // Order traces by start, then id; rewrite span ranges and trace indexes accordingly.
    let mut trace_order: Vec<usize> = (0..traces.len()).collect();
    trace_order.sort_by_key(|&i| traces.get(i).map(|t| (t.start_unix_nanos, t.trace_id)));
    let mut final_spans: Vec<Span> = Vec::with_capacity(out_spans.len());
    let mut final_traces: Vec<Trace> = Vec::with_capacity(traces.len());
    for (new_index, &old) in trace_order.iter().enumerate() {
        let Some(t) = traces.get(old) else { continue };
        let new_start = final_spans.len() as u32;
        let offset = i64::from(new_start) - i64::from(t.spans.start);
        for s in out_spans.get(t.spans.as_range()).unwrap_or(&[]) {
            let mut s = *s;
            s.trace = new_index as u32;
            if s.parent != NO_SPAN {
                s.parent = (i64::from(s.parent) + offset) as u32;
            }
            final_spans.push(s);
        }
        let mut t = *t;
        t.spans.start = new_start;
        final_traces.push(t);
    }
    diagnostics.spans_read = final_spans.len() as u64;
    TraceSet::from_parts(arena, final_spans, final_traces, diagnostics)
}

#[derive(Default)]
struct Scratch {
    by_id: HashMap<[u8; 8], u32>,
    shared_by_id: HashMap<[u8; 8], u32>,
    client_half_by_id: HashMap<[u8; 8], u32>,
}

impl Scratch {
    fn assemble_trace(
        &mut self,
        mut members: Vec<Span>,
        arena: &super::arena::Arena,
        out: &mut Vec<Span>,
        diagnostics: &mut crate::diagnostics::Diagnostics,
    ) -> Trace {
        self.by_id.clear();
        self.shared_by_id.clear();
        self.client_half_by_id.clear();

        // 1. Drop exact re-deliveries; note distinct spans that share an id.
        let mut kept: Vec<Span> = Vec::with_capacity(members.len());
        for span in members.drain(..) {
            let id = span.span_id.0;
            let same_half = if span.shared {
                self.shared_by_id.get(&id)
            } else {
                self.by_id.get(&id)
            };
            if let Some(&earlier) = same_half {
                let Some(e) = kept.get(earlier as usize) else {
                    continue;
                };
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
                let earlier = earlier as usize;
                let prefer_new = kept
                    .get(earlier)
                    .is_some_and(|e| link_key(&span, arena) < link_key(e, arena));
                if prefer_new {
                    if span.shared {
                        self.shared_by_id.insert(id, index);
                    } else {
                        self.by_id.insert(id, index);
                        self.client_half_by_id.insert(id, index);
                    }
                }
                kept.push(span);
                continue;
            }
            let index = kept.len() as u32;
            if span.shared {
                self.shared_by_id.insert(id, index);
            } else {
                self.by_id.insert(id, index);
                self.client_half_by_id.insert(id, index);
            }
            kept.push(span);
        }

        // 2. Parent links (local indexes).
        let n = kept.len();
        let mut parent: Vec<u32> = vec![NO_SPAN; n];
        for (i, span) in kept.iter().enumerate() {
            let id = span.span_id.0;
            let candidate = if span.shared {
                // Server half of a Zipkin pair: under its client half when present.
                match self.client_half_by_id.get(&id) {
                    Some(&client) => Some(client),
                    None => span.parent_span_id.and_then(|p| self.lookup_parent(&p.0)),
                }
            } else {
                span.parent_span_id.and_then(|p| self.lookup_parent(&p.0))
            };
            if let (Some(c), Some(slot)) = (candidate, parent.get_mut(i)) {
                if c as usize != i {
                    *slot = c;
                }
            }
        }
        break_cycles(&kept, &mut parent, diagnostics);

        // 3. Children lists, sorted by start (then arrival order), and roots.
        let mut child_count = vec![0u32; n];
        for &p in &parent {
            if let Some(c) = child_count.get_mut(p as usize) {
                *c += 1;
            }
        }
        let mut child_start = vec![0u32; n + 1];
        for i in 0..n {
            child_start[i + 1] = child_start[i] + child_count[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; child_start[n] as usize];
        let mut roots: Vec<u32> = Vec::new();
        for (i, &p) in parent.iter().enumerate() {
            if p == NO_SPAN {
                roots.push(i as u32);
            } else if let Some(slot) = fill.get_mut(p as usize) {
                if let Some(c) = children.get_mut(*slot as usize) {
                    *c = i as u32;
                }
                *slot += 1;
            }
        }
        let start_key = |i: &u32| (kept.get(*i as usize).map(|s| s.start_unix_nanos).unwrap_or(0), *i);
        for i in 0..n {
            if let Some(list) = children.get_mut(child_start[i] as usize..child_start[i + 1] as usize) {
                list.sort_by_key(start_key);
            }
        }
        // A real root (no parent id) comes before orphans; then by start.
        roots.sort_by_key(|&i| {
            let s = kept.get(i as usize);
            (
                s.map(|s| s.parent_span_id.is_some()).unwrap_or(true),
                start_key(&i),
            )
        });

        // 4. Pre-order layout with depth, subtree sizes and clock-skew shifts.
        let base = out.len() as u32;
        let mut trace = Trace {
            trace_id: kept.first().map(|s| s.trace_id).unwrap_or_default(),
            spans: super::types::Range32 {
                start: base,
                len: n as u32,
            },
            root_count: roots.len() as u32,
            orphan_count: 0,
            start_unix_nanos: u64::MAX,
            end_unix_nanos: 0,
            error_count: 0,
            max_depth: 0,
            skew_adjusted_count: 0,
        };
        // Stack of (local index, depth, parent's output index, inherited shift).
        let mut stack: Vec<(u32, u32, u32, i64)> = roots.iter().rev().map(|&r| (r, 0, NO_SPAN, 0)).collect();
        // Output index of each local span, to fill subtree sizes afterwards.
        let mut out_index = vec![NO_SPAN; n];
        while let Some((local, depth, parent_out, inherited)) = stack.pop() {
            let Some(span) = kept.get(local as usize) else {
                continue;
            };
            let mut span = *span;
            span.parent = parent_out;
            span.depth = depth;
            span.child_count = child_count.get(local as usize).copied().unwrap_or(0);
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
            if let Some(slot) = out_index.get_mut(local as usize) {
                *slot = my_out;
            }
            out.push(span);
            let list = children
                .get(child_start[local as usize] as usize..child_start[local as usize + 1] as usize)
                .unwrap_or(&[]);
            for &c in list.iter().rev() {
                stack.push((c, depth + 1, my_out, shift));
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

    fn lookup_parent(&self, id: &[u8; 8]) -> Option<u32> {
        // Children of a shared id belong to the server half.
        self.shared_by_id.get(id).or_else(|| self.by_id.get(id)).copied()
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
fn break_cycles(kept: &[Span], parent: &mut [u32], diagnostics: &mut crate::diagnostics::Diagnostics) {
    let n = kept.len();
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
                        .min_by_key(|&i| (kept.get(i).map(|s| s.start_unix_nanos).unwrap_or(0), i))
                        .unwrap_or(current);
                    if let Some(slot) = parent.get_mut(cut) {
                        *slot = NO_SPAN;
                    }
                    diagnostics.add(
                        DiagnosticKind::ParentCycle,
                        kept.get(cut)
                            .map(|s| format!("trace {}", s.trace_id))
                            .unwrap_or_default(),
                        kept.get(cut).map(|s| s.span_id.to_hex()).as_deref(),
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
