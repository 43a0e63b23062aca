//! Invariants of the analysis on the synthetic multi-service traces of `spanlens_core::synth`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spanlens_core::analysis::{analyze_set, analyze_trace, critical_path_raw, Rules};
use spanlens_core::synth::{generate, SynthOptions};

#[test]
fn invariants_hold_on_synthetic_traces() {
    let set = generate(&SynthOptions::for_total_spans(3_000, 30, 7));
    let rules = Rules::builtin();
    let a = analyze_set(&set, &rules);
    assert_eq!(a.span_count as usize, set.span_count());
    // Critical paths tile the main root exactly, in time order.
    for t in set.traces() {
        let Some(root) = set.root_of(t) else { continue };
        let r = set.span(root).unwrap();
        let path = critical_path_raw(&set, root);
        let mut at = r.display_start_unix_nanos();
        for &(_, s, e) in &path {
            assert_eq!(s, at);
            assert!(e > s);
            at = e;
        }
        if r.display_end_unix_nanos() > r.display_start_unix_nanos() {
            assert_eq!(at, r.display_end_unix_nanos());
        }
    }
    // Per-trace views agree with the set's summaries; self time never exceeds duration.
    for (i, summary) in a.traces.iter().enumerate().take(40) {
        let tr = analyze_trace(&set, i as u32, &rules).unwrap();
        assert_eq!(tr.grade, summary.grade);
        assert_eq!(tr.worst_critical_path_grade, summary.worst_critical_path_grade);
        assert_eq!(
            tr.root_cause
                .and_then(|s| set.span(s))
                .map(|s| s.span_id.to_hex()),
            summary.root_cause_span_id
        );
        for f in &tr.spans {
            assert!(f.self_nanos <= f.duration_nanos);
        }
    }
    // Counts add up.
    let calls: u64 = a.operations.iter().map(|o| o.calls).sum();
    assert_eq!(calls, a.span_count);
    let group_calls: u64 = a.span_metrics.groups.iter().map(|g| g.calls).sum();
    assert_eq!(group_calls, a.span_count);
    let node_spans: u64 = a.service_graph.nodes.iter().map(|n| n.spans).sum();
    assert_eq!(node_spans, a.span_count);
    for o in &a.span_metrics.operations {
        assert_eq!(o.histogram.iter().sum::<u64>(), o.calls);
    }
    let red_calls: u64 = a
        .span_metrics
        .red
        .services
        .iter()
        .flat_map(|s| s.points.iter())
        .map(|p| p.calls)
        .sum();
    assert_eq!(red_calls, a.span_count);
    assert!((30..=120).contains(&a.span_metrics.red.point_count));
    // Sorted outputs.
    assert!(a.bottlenecks.windows(2).all(|w| w[0].impact >= w[1].impact));
    assert!(a
        .operations
        .windows(2)
        .all(|w| (&w[0].service, &w[0].name) < (&w[1].service, &w[1].name)));
    assert!(a.errors.clusters.windows(2).all(|w| w[0].count >= w[1].count));
    // The generator's features show up.
    assert!(!a.service_graph.edges.is_empty());
    assert!(a.operations.iter().any(|o| o.category == "AI"));
    assert!(a.operations.iter().any(|o| o.category == "Database"));
    // Deterministic, serializable.
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, serde_json::to_string(&analyze_set(&set, &rules)).unwrap());
}
