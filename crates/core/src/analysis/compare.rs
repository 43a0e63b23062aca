//! Comparison of two traces (from one set or two sets): per (service, operation) count and
//! duration deltas, and the spans present in only one of them.
//!
//! Matching rule: a span's key is (service, span name, the (service, span name) path of its
//! ancestors from the root). Keys are compared as multisets: when trace A has 5 spans with a key
//! and B has 3, 2 of A's are "only in A" (the last two in pre-order, listed as examples). Times
//! are display times; deltas are B − A.
//!
//! Not here: aligning the spans one to one for a side-by-side waterfall.

use crate::model::{Span, TraceSet};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a comparison could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("trace index {index} is out of range (the set has {count} traces)")]
    NoSuchTrace { index: u32, count: usize },
}

/// Per (service, operation) figures of both traces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationDelta {
    pub service: String,
    pub name: String,
    pub count_a: u64,
    pub count_b: u64,
    pub count_delta: i64,
    pub total_a_nanos: u64,
    pub total_b_nanos: u64,
    pub total_delta_nanos: i64,
    pub avg_a_nanos: u64,
    pub avg_b_nanos: u64,
    pub avg_delta_nanos: i64,
}

/// Spans of one key present in only one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedSpans {
    pub service: String,
    pub name: String,
    /// Ancestors, root first, as `service: name`.
    pub path: Vec<String>,
    /// How many more spans of this key this trace has than the other.
    pub count: u64,
    /// Set-wide indexes (in that trace's set) of the unmatched spans.
    pub spans: Vec<u32>,
}

/// The comparison of trace A with trace B.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceComparison {
    pub trace_id_a: String,
    pub trace_id_b: String,
    pub duration_a_nanos: u64,
    pub duration_b_nanos: u64,
    pub duration_delta_nanos: i64,
    pub span_count_a: u64,
    pub span_count_b: u64,
    pub operations: Vec<OperationDelta>,
    pub only_in_a: Vec<UnmatchedSpans>,
    pub only_in_b: Vec<UnmatchedSpans>,
}

/// Interns (parent path node, service, name) so one id stands for a whole ancestor path.
#[derive(Default)]
struct Paths {
    ids: HashMap<(u32, String, String), u32>,
    nodes: Vec<(u32, String, String)>,
}

impl Paths {
    fn id(&mut self, parent: u32, service: &str, name: &str) -> u32 {
        let key = (parent, service.to_string(), name.to_string());
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    /// (service, name, ancestors root first as `service: name`).
    fn describe(&self, id: u32) -> (String, String, Vec<String>) {
        let (mut parent, service, name) =
            self.nodes
                .get(id as usize)
                .cloned()
                .unwrap_or((NONE, String::new(), String::new()));
        let mut path = Vec::new();
        while let Some((p, s, n)) = self.nodes.get(parent as usize) {
            if path.len() > self.nodes.len() {
                break;
            }
            path.push(format!("{s}: {n}"));
            parent = *p;
        }
        path.reverse();
        (service, name, path)
    }
}

const NONE: u32 = u32::MAX;

/// (service, name, path) with the span indexes of each side.
type Described = ((String, String, Vec<String>), Vec<u32>, Vec<u32>);

fn delta(a: u64, b: u64) -> i64 {
    (i128::from(b) - i128::from(a)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn duration(s: &Span) -> u64 {
    s.display_end_unix_nanos()
        .saturating_sub(s.display_start_unix_nanos())
}

/// Path ids of a trace's spans in pre-order, with set-wide indexes and durations.
fn keyed(set: &TraceSet, trace: u32, paths: &mut Paths) -> Result<Vec<(u32, u32, u64)>, CompareError> {
    let t = set.trace(trace).ok_or(CompareError::NoSuchTrace {
        index: trace,
        count: set.traces().len(),
    })?;
    let base = t.spans.start;
    let spans = set.trace_spans(t);
    let mut ids: Vec<u32> = Vec::with_capacity(spans.len());
    let mut out = Vec::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        // Pre-order: the parent's id is already known.
        let parent = if s.parent == crate::model::NO_SPAN {
            NONE
        } else {
            ids.get(s.parent.wrapping_sub(base) as usize)
                .copied()
                .unwrap_or(NONE)
        };
        let id = paths.id(parent, set.service_name(s), set.name(s));
        ids.push(id);
        out.push((id, base + i as u32, duration(s)));
    }
    Ok(out)
}

/// Compares trace `a` of `set_a` with trace `b` of `set_b` (the sets may be the same).
pub fn compare_traces(
    set_a: &TraceSet,
    a: u32,
    set_b: &TraceSet,
    b: u32,
) -> Result<TraceComparison, CompareError> {
    let mut paths = Paths::default();
    let ka = keyed(set_a, a, &mut paths)?;
    let kb = keyed(set_b, b, &mut paths)?;
    let (ta, tb) = match (set_a.trace(a), set_b.trace(b)) {
        (Some(x), Some(y)) => (*x, *y),
        _ => {
            return Err(CompareError::NoSuchTrace {
                index: a,
                count: set_a.traces().len(),
            })
        }
    };
    let mut ops: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    let mut keys: BTreeMap<u32, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
    for (side, list) in [(0usize, &ka), (1usize, &kb)] {
        for &(id, idx, dur) in list.iter() {
            let (_, service, name) =
                paths
                    .nodes
                    .get(id as usize)
                    .cloned()
                    .unwrap_or((NONE, String::new(), String::new()));
            let e = ops.entry((service, name)).or_default();
            if let Some(c) = e.get_mut(side) {
                *c += 1;
            }
            if let Some(t) = e.get_mut(side + 2) {
                *t = t.saturating_add(dur);
            }
            let entry = keys.entry(id).or_default();
            if side == 0 {
                entry.0.push(idx);
            } else {
                entry.1.push(idx);
            }
        }
    }
    let operations = ops
        .into_iter()
        .map(|((service, name), [ca, cb, ta, tb])| {
            let avg_a = ta.checked_div(ca).unwrap_or(0);
            let avg_b = tb.checked_div(cb).unwrap_or(0);
            OperationDelta {
                service,
                name,
                count_a: ca,
                count_b: cb,
                count_delta: delta(ca, cb),
                total_a_nanos: ta,
                total_b_nanos: tb,
                total_delta_nanos: delta(ta, tb),
                avg_a_nanos: avg_a,
                avg_b_nanos: avg_b,
                avg_delta_nanos: delta(avg_a, avg_b),
            }
        })
        .collect();
    let mut only_in_a = Vec::new();
    let mut only_in_b = Vec::new();
    let mut described: Vec<Described> = keys
        .into_iter()
        .filter(|(_, (ia, ib))| ia.len() != ib.len())
        .map(|(id, (ia, ib))| (paths.describe(id), ia, ib))
        .collect();
    described.sort();
    for (key, ia, ib) in described {
        let unmatched = |mine: &[u32], other: usize| -> Option<UnmatchedSpans> {
            (mine.len() > other).then(|| UnmatchedSpans {
                service: key.0.clone(),
                name: key.1.clone(),
                path: key.2.clone(),
                count: (mine.len() - other) as u64,
                spans: mine.get(other..).unwrap_or(&[]).to_vec(),
            })
        };
        if let Some(u) = unmatched(&ia, ib.len()) {
            only_in_a.push(u);
        }
        if let Some(u) = unmatched(&ib, ia.len()) {
            only_in_b.push(u);
        }
    }
    Ok(TraceComparison {
        trace_id_a: ta.trace_id.to_hex(),
        trace_id_b: tb.trace_id.to_hex(),
        duration_a_nanos: ta.duration_nanos(),
        duration_b_nanos: tb.duration_nanos(),
        duration_delta_nanos: delta(ta.duration_nanos(), tb.duration_nanos()),
        span_count_a: ka.len() as u64,
        span_count_b: kb.len() as u64,
        operations,
        only_in_a,
        only_in_b,
    })
}
