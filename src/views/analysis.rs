//! The bridge from views to the core's per-trace analysis (`spanlens_core::analysis`): critical
//! path, self time and grade. Results are computed once per (load, trace) and cached; every
//! figure comes from the core, this module only adapts the results to the views.

use crate::state::Loaded;
use spanlens_core::analysis::{analyze_trace, Rules, TraceAnalysis};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

thread_local! {
    static CACHE: RefCell<HashMap<(u32, u32), Arc<TraceAnalysis>>> = RefCell::new(HashMap::new());
    static RULES: Rules = Rules::builtin();
}

/// The analysis of one trace of the loaded set (computed on first use).
pub fn trace_analysis(l: &Loaded, trace_index: u32) -> Option<Arc<TraceAnalysis>> {
    let key = (l.generation, trace_index);
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Some(hit);
    }
    let a = RULES
        .with(|rules| analyze_trace(&l.set, trace_index, rules))
        .ok()?;
    let a = Arc::new(a);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(g, _), _| *g == l.generation);
        c.insert(key, a.clone());
    });
    Some(a)
}

/// Keeps an analysis computed elsewhere (the analysis worker) for (load, trace).
pub fn remember(generation: u32, trace_index: u32, analysis: TraceAnalysis) -> Arc<TraceAnalysis> {
    let a = Arc::new(analysis);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(g, _), _| *g == generation);
        c.insert((generation, trace_index), a.clone());
    });
    a
}

/// The cached analysis, without computing it.
pub fn cached(l: &Loaded, trace_index: u32) -> Option<Arc<TraceAnalysis>> {
    CACHE.with(|c| c.borrow().get(&(l.generation, trace_index)).cloned())
}

/// Set-wide indexes of the spans on the trace's critical path.
pub fn critical_spans(l: &Loaded, trace_index: u32) -> HashSet<u32> {
    trace_analysis(l, trace_index)
        .map(|a| a.critical_path.iter().map(|seg| seg.span).collect())
        .unwrap_or_default()
}

/// The trace's grade letter (`—` when the core has none).
pub fn trace_grade(l: &Loaded, trace_index: u32) -> String {
    grade_of(trace_analysis(l, trace_index).as_deref())
}

/// The grade letter of an analysis (`—` when none).
pub fn grade_of(a: Option<&TraceAnalysis>) -> String {
    a.and_then(|a| a.grade)
        .map(|g| format!("{g:?}"))
        .unwrap_or_else(|| "—".to_string())
}

/// Self time of a span (set-wide index), from the cached analysis.
pub fn self_time(l: &Loaded, trace_index: u32, span: u32) -> Option<u64> {
    let a = cached(l, trace_index)?;
    let guess = l
        .set
        .trace(trace_index)
        .map(|t| span.saturating_sub(t.spans.start) as usize)?;
    match a.spans.get(guess) {
        Some(f) if f.span == span => Some(f.self_nanos),
        _ => a.spans.iter().find(|f| f.span == span).map(|f| f.self_nanos),
    }
}
