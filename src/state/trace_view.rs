//! The state of one open trace: collapsed spans, the selected span, the zoom window, the
//! critical-path toggle and the find query, plus the rows the waterfall shows (derived).
//!
//! The rows come from the core's pre-order layout (`Span::subtree_len` skips a collapsed
//! subtree); matches come from the core's TraceQL evaluator or a plain text match over the
//! names and attribute values the core stores. Not here: drawing.

use super::Loaded;
use crate::routes::{Params, Route};
use leptos::prelude::*;
use spanlens_core::analysis::TraceAnalysis;
use spanlens_core::model::{Span, Trace};
use std::collections::HashSet;
use std::sync::Arc;

/// An `Arc` compared by pointer, so memos over big vectors don't compare contents.
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The result of "find in trace".
#[derive(Debug, Default)]
pub struct Matches {
    /// Matching set-wide span indexes, in pre-order.
    pub spans: Vec<u32>,
    pub set: HashSet<u32>,
    /// A query error, with the column when known.
    pub error: Option<String>,
}

/// Everything about the open trace. `Copy`: signals and memos.
#[derive(Clone, Copy)]
pub struct TraceCtx {
    pub loaded: StoredValue<Arc<Loaded>>,
    pub trace_index: u32,
    pub collapsed: RwSignal<HashSet<u32>>,
    pub selected: RwSignal<Option<u32>>,
    pub details_open: RwSignal<bool>,
    pub zoom: RwSignal<(f64, f64)>,
    pub critical: RwSignal<bool>,
    pub find: RwSignal<String>,
    pub matches_only: RwSignal<bool>,
    pub match_cursor: RwSignal<usize>,
    /// Asks the waterfall to scroll a span into view.
    pub reveal: RwSignal<Option<u32>>,
    pub rows: Memo<Shared<Vec<u32>>>,
    pub matches: Memo<Shared<Matches>>,
    /// Spans on the critical path (set-wide indexes), when computed.
    pub critical_spans: Memo<Shared<HashSet<u32>>>,
    /// The core's analysis of the trace, filled in after the first paint.
    pub analysis: RwSignal<Option<Shared<TraceAnalysis>>>,
    /// The view tab (`view=`); `None` = the waterfall.
    pub view: RwSignal<Option<String>>,
    /// The time axis of the waterfall and minimap: earliest display (clock-skew adjusted) start
    /// to latest display end, in Unix nanoseconds.
    pub axis: (u64, u64),
}

impl TraceCtx {
    /// Creates the state of trace `trace_index`, starting from the URL parameters.
    pub fn new(loaded: Arc<Loaded>, trace_index: u32, params: &Params) -> TraceCtx {
        let trace = loaded.set.trace(trace_index).copied();
        let selected = params.span.as_deref().and_then(|id| {
            let t = trace?;
            let spans = loaded.set.trace_spans(&t);
            spans
                .iter()
                .position(|s| s.span_id.to_hex() == id)
                .map(|p| t.spans.start + p as u32)
        });
        let axis = trace
            .map(|t| {
                let spans = loaded.set.trace_spans(&t);
                let lo = spans
                    .iter()
                    .map(|s| s.display_start_unix_nanos())
                    .min()
                    .unwrap_or(t.start_unix_nanos);
                let hi = spans
                    .iter()
                    .map(|s| s.display_end_unix_nanos())
                    .max()
                    .unwrap_or(t.end_unix_nanos);
                (lo, hi.max(lo))
            })
            .unwrap_or((0, 0));
        let stored = StoredValue::new(loaded);
        let collapsed = RwSignal::new(HashSet::new());
        let find = RwSignal::new(params.q.clone().unwrap_or_default());
        let matches_only = RwSignal::new(params.matches_only);
        let matches = Memo::new(move |_| {
            let q = find.get();
            Shared(Arc::new(stored.with_value(|l| find_matches(l, trace_index, &q))))
        });
        let rows = Memo::new(move |_| {
            let only = matches_only.get();
            let m = matches.get();
            let collapsed = collapsed.get();
            Shared(Arc::new(stored.with_value(|l| {
                if only && !m.0.spans.is_empty() {
                    return m.0.spans.clone();
                }
                visible_rows(l, trace_index, &collapsed)
            })))
        });
        let critical = RwSignal::new(params.critical_path);
        let critical_spans = Memo::new(move |_| {
            if !critical.get() {
                return Shared(Arc::new(HashSet::new()));
            }
            Shared(Arc::new(stored.with_value(|l| {
                crate::views::analysis::critical_spans(l, trace_index)
            })))
        });
        TraceCtx {
            loaded: stored,
            trace_index,
            collapsed,
            selected: RwSignal::new(selected),
            details_open: RwSignal::new(selected.is_some()),
            zoom: RwSignal::new(params.zoom.unwrap_or((0.0, 1.0))),
            critical,
            find,
            matches_only,
            match_cursor: RwSignal::new(0),
            reveal: RwSignal::new(selected),
            rows,
            matches,
            critical_spans,
            analysis: RwSignal::new(None),
            axis,
            view: RwSignal::new(
                params
                    .view
                    .clone()
                    .filter(|v| v != "waterfall" && crate::routes::VIEWS.contains(&v.as_str())),
            ),
        }
    }

    /// Gets the core analysis without blocking the page: from the cache, else from the analysis
    /// worker (which holds the set already), else computed here after the first rows paint.
    pub fn start_analysis(&self) {
        let ctx = *self;
        let (generation, cached) = ctx
            .loaded
            .with_value(|l| (l.generation, crate::views::analysis::cached(l, ctx.trace_index)));
        if let Some(a) = cached {
            ctx.analysis.set(Some(Shared(a)));
            return;
        }
        let compute_here = move || {
            set_timeout(
                move || {
                    let Some(loaded) = ctx.loaded.try_get_value() else {
                        return;
                    };
                    let a = crate::views::analysis::trace_analysis(&loaded, ctx.trace_index);
                    let _ = ctx.analysis.try_set(a.map(Shared));
                },
                std::time::Duration::from_millis(30),
            );
        };
        let asked =
            crate::views::set_analysis::request_trace_analysis(generation, ctx.trace_index, move |result| {
                match result {
                    Some(a) => {
                        let a = crate::views::analysis::remember(generation, ctx.trace_index, a);
                        let _ = ctx.analysis.try_set(Some(Shared(a)));
                    }
                    None => compute_here(),
                }
            });
        if !asked {
            compute_here();
        }
    }

    /// The trace.
    pub fn trace(&self) -> Trace {
        self.loaded
            .with_value(|l| l.set.trace(self.trace_index).copied())
            .unwrap_or(Trace {
                trace_id: Default::default(),
                spans: Default::default(),
                root_count: 0,
                orphan_count: 0,
                start_unix_nanos: 0,
                end_unix_nanos: 0,
                error_count: 0,
                max_depth: 0,
                skew_adjusted_count: 0,
            })
    }

    /// A span by set-wide index.
    pub fn span(&self, index: u32) -> Option<Span> {
        self.loaded.with_value(|l| l.set.span(index).copied())
    }

    /// Selects a span and shows it.
    pub fn select(&self, index: u32) {
        self.selected.set(Some(index));
        self.details_open.set(true);
        self.reveal.set(Some(index));
    }

    /// Moves the selection by `delta` rows.
    pub fn move_selection(&self, delta: i64) {
        let rows = self.rows.get_untracked();
        let rows = &rows.0;
        if rows.is_empty() {
            return;
        }
        let pos = self
            .selected
            .get_untracked()
            .and_then(|s| rows.iter().position(|&r| r == s));
        let next = match pos {
            Some(p) => (p as i64 + delta).clamp(0, rows.len() as i64 - 1) as usize,
            None => 0,
        };
        if let Some(&span) = rows.get(next) {
            self.selected.set(Some(span));
            self.reveal.set(Some(span));
        }
    }

    /// Collapses (`true`) or expands a span.
    pub fn set_collapsed(&self, index: u32, collapse: bool) {
        let has_children = self.span(index).is_some_and(|s| s.child_count > 0);
        self.collapsed.update(|c| {
            if collapse && has_children {
                c.insert(index);
            } else {
                c.remove(&index);
            }
        });
    }

    /// Collapses every span that has children (the roots stay open), or expands all.
    pub fn collapse_all(&self, collapse: bool) {
        if !collapse {
            self.collapsed.set(HashSet::new());
            return;
        }
        let t = self.trace();
        let all: HashSet<u32> = self.loaded.with_value(|l| {
            l.set
                .trace_spans(&t)
                .iter()
                .enumerate()
                .filter(|(_, s)| s.child_count > 0 && !s.is_root())
                .map(|(i, _)| t.spans.start + i as u32)
                .collect()
        });
        self.collapsed.set(all);
    }

    /// Jumps to the next (`forward`) or previous match, expanding its ancestors.
    pub fn next_match(&self, forward: bool) {
        let m = self.matches.get_untracked();
        let n = m.0.spans.len();
        if n == 0 {
            return;
        }
        let cur = self.match_cursor.get_untracked();
        let next = if forward { (cur + 1) % n } else { (cur + n - 1) % n };
        let first = self
            .selected
            .get_untracked()
            .is_none_or(|s| !m.0.set.contains(&s));
        let next = if first && forward { 0 } else { next };
        self.match_cursor.set(next);
        if let Some(&span) = m.0.spans.get(next) {
            self.expand_to(span);
            self.select(span);
        }
    }

    /// Expands every collapsed ancestor of a span.
    pub fn expand_to(&self, index: u32) {
        let mut ancestors = Vec::new();
        self.loaded.with_value(|l| {
            let mut cur = l.set.span(index).map(|s| s.parent);
            while let Some(p) = cur.filter(|p| *p != spanlens_core::model::NO_SPAN) {
                ancestors.push(p);
                cur = l.set.span(p).map(|s| s.parent);
            }
        });
        if ancestors
            .iter()
            .any(|a| self.collapsed.with_untracked(|c| c.contains(a)))
        {
            self.collapsed.update(|c| {
                for a in &ancestors {
                    c.remove(a);
                }
            });
        }
    }

    /// The URL of the current view.
    pub fn route(&self, base: &Params) -> Route {
        let id = self.trace().trace_id.to_hex();
        let zoom = self.zoom.get_untracked();
        let q = self.find.get_untracked();
        Route::trace(
            &id,
            Params {
                span: self
                    .selected
                    .get_untracked()
                    .and_then(|s| self.span(s))
                    .map(|s| s.span_id.to_hex()),
                zoom: (zoom != (0.0, 1.0)).then_some(zoom),
                critical_path: self.critical.get_untracked(),
                q: (!q.trim().is_empty()).then_some(q),
                matches_only: self.matches_only.get_untracked(),
                view: self.view.get_untracked(),
                ..base.clone()
            },
        )
    }
}

/// The rows shown: the trace's pre-order with collapsed subtrees skipped.
fn visible_rows(l: &Loaded, trace_index: u32, collapsed: &HashSet<u32>) -> Vec<u32> {
    let Some(t) = l.set.trace(trace_index) else {
        return Vec::new();
    };
    let spans = l.set.trace_spans(t);
    let mut out = Vec::with_capacity(spans.len());
    let mut i = 0usize;
    while let Some(s) = spans.get(i) {
        let index = t.spans.start + i as u32;
        out.push(index);
        if !collapsed.is_empty() && collapsed.contains(&index) {
            i += s.subtree_len.max(1) as usize;
        } else {
            i += 1;
        }
    }
    out
}

/// Find in trace: a TraceQL span filter when the text starts with `{`, else a case-insensitive
/// text match on span name, service, status message and attribute values.
fn find_matches(l: &Loaded, trace_index: u32, q: &str) -> Matches {
    let q = q.trim();
    if q.is_empty() {
        return Matches::default();
    }
    let spans: Vec<u32> = if q.starts_with('{') {
        match spanlens_core::query::parse_search(q) {
            Ok(query) => spanlens_core::query::matching_spans(&l.set, trace_index, &query),
            Err(e) => {
                return Matches {
                    error: Some(e.to_string()),
                    ..Matches::default()
                }
            }
        }
    } else {
        let needle = q.to_lowercase();
        let Some(t) = l.set.trace(trace_index) else {
            return Matches::default();
        };
        let set = &l.set;
        set.trace_spans(t)
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                let hit = |text: &str| text.to_lowercase().contains(&needle);
                hit(set.arena.str(s.name))
                    || hit(set.service_name(s))
                    || hit(set.arena.str(s.status_message))
                    || s.span_id.to_hex() == needle
                    || set
                        .attrs(s)
                        .iter()
                        .any(|kv| hit(set.arena.str(kv.key)) || hit(&set.arena.value_text(kv.value)))
            })
            .map(|(i, _)| t.spans.start + i as u32)
            .collect()
    };
    let set = spans.iter().copied().collect();
    Matches {
        spans,
        set,
        error: None,
    }
}
