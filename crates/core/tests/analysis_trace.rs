//! Per-trace analysis: self time, critical path, clock skew, statistics table, operation graph,
//! root cause, several roots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{analyze_set, analyze_trace, critical_path_raw, Grade, Rules};
use spanlens_core::model::SpanKind::*;
use support::{idx, Table, MS};

/// (span id, start ms, end ms) of the critical path.
fn path_ms(set: &spanlens_core::model::TraceSet, root: u32) -> Vec<(u16, u64, u64)> {
    critical_path_raw(set, root)
        .into_iter()
        .map(|(s, a, b)| {
            let id = set.span(s).unwrap().span_id.0;
            (u16::from_be_bytes([id[6], id[7]]), a / MS, b / MS)
        })
        .collect()
}

#[test]
fn critical_path_with_overlapping_and_gapped_children() {
    let mut t = Table::new();
    //     id  parent   service name kind      start end (ms)
    t.span(1, None, "svc", "A", Server, 0, 100);
    t.span(2, Some(1), "svc", "B", Internal, 10, 40); // overlaps C, ends before C starts? no: ends inside C
    t.span(3, Some(1), "svc", "C", Internal, 30, 70);
    t.span(5, Some(3), "svc", "E", Internal, 35, 60);
    t.span(4, Some(1), "svc", "D", Internal, 80, 90); // gaps 70–80 and 90–100
    t.span(6, Some(4), "svc", "F", Internal, 85, 95); // ends after its parent: clipped to 90
    let set = t.finish();
    let root = idx(&set, 1, 1);
    let path = path_ms(&set, root);
    assert_eq!(
        path,
        vec![
            (1, 0, 30), // B ends at 40 > 30 when we reach C's start: skipped (Jaeger's rule)
            (3, 30, 35),
            (5, 35, 60),
            (3, 60, 70),
            (1, 70, 80),
            (4, 80, 85),
            (6, 85, 90),
            (1, 90, 100),
        ]
    );
    let total: u64 = critical_path_raw(&set, root).iter().map(|(_, a, b)| b - a).sum();
    assert_eq!(total, 100 * MS);

    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    let self_ms = |id: u16| {
        a.spans
            .iter()
            .find(|f| f.span == idx(&set, 1, id))
            .unwrap()
            .self_nanos
            / MS
    };
    // A: 100 − |[10,70] ∪ [80,90]| = 30; C: 40 − 25; D: 10 − |[85,90]|.
    assert_eq!(
        (
            self_ms(1),
            self_ms(2),
            self_ms(3),
            self_ms(4),
            self_ms(5),
            self_ms(6)
        ),
        (30, 30, 15, 5, 25, 10)
    );
    let on_path: Vec<bool> = [1, 2, 3, 4, 5, 6]
        .iter()
        .map(|&id| {
            a.spans
                .iter()
                .find(|f| f.span == idx(&set, 1, id))
                .unwrap()
                .on_critical_path
        })
        .collect();
    assert_eq!(on_path, vec![true, false, true, true, true, true]);
    assert_eq!(a.max_depth, 2);
    assert_eq!(a.max_fan_out, 3);
    assert!((a.mean_fan_out - 5.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        a.critical_path.first().unwrap().span_id,
        set.span(root).unwrap().span_id.to_hex()
    );
}

#[test]
fn clock_skewed_child_uses_display_times() {
    let mut t = Table::new();
    t.span(1, None, "front", "GET /", Server, 0, 200);
    t.span(2, Some(1), "front", "call back", Client, 50, 150);
    // Starts 30 ms before its client parent: shifted by +50 ms, centred into [50,150] → [70,130].
    t.span(3, Some(2), "back", "handle", Server, 20, 80);
    t.span(4, Some(3), "back", "work", Internal, 30, 40); // inherits the shift → [80,90]
    let set = t.finish();
    let s3 = set.span(idx(&set, 1, 3)).unwrap();
    assert_eq!(s3.skew_shift_nanos, 50 * MS as i64);
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    let self_ms = |id: u16| {
        a.spans
            .iter()
            .find(|f| f.span == idx(&set, 1, id))
            .unwrap()
            .self_nanos
            / MS
    };
    // With raw times the client would only lose the 30 ms overlap; with display times, 60 ms.
    assert_eq!(
        (self_ms(1), self_ms(2), self_ms(3), self_ms(4)),
        (100, 40, 50, 10)
    );
    assert_eq!(
        path_ms(&set, idx(&set, 1, 1)),
        vec![
            (1, 0, 50),
            (2, 50, 70),
            (3, 70, 80),
            (4, 80, 90),
            (3, 90, 130),
            (2, 130, 150),
            (1, 150, 200)
        ]
    );
}

#[test]
fn statistics_table_and_operation_graph() {
    let mut t = Table::new();
    t.span(1, None, "api", "GET /", Server, 0, 100);
    t.span(2, Some(1), "api", "db", Client, 10, 30)
        .attr("db.system", "postgresql");
    t.span(3, Some(1), "api", "db", Client, 40, 50)
        .attr("db.system", "postgresql");
    t.span(4, Some(1), "cache", "get", Server, 60, 65);
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    // Rows sorted by (service, name): api/GET /, api/db, cache/get.
    let names: Vec<(&str, &str)> = a
        .operations
        .iter()
        .map(|r| (r.service.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(names, vec![("api", "GET /"), ("api", "db"), ("cache", "get")]);
    let db = &a.operations[1];
    assert_eq!(db.category, "Database");
    assert_eq!(
        (
            db.count,
            db.total_nanos / MS,
            db.avg_nanos / MS,
            db.min_nanos / MS,
            db.max_nanos / MS
        ),
        (2, 30, 15, 10, 20)
    );
    assert_eq!(
        (
            db.self_total_nanos / MS,
            db.self_avg_nanos / MS,
            db.self_min_nanos / MS,
            db.self_max_nanos / MS
        ),
        (30, 15, 10, 20)
    );
    assert!((db.percent_of_trace - 30.0).abs() < 1e-9);
    let root = &a.operations[0];
    assert_eq!(root.self_total_nanos / MS, 65);
    assert!((root.percent_of_trace - 65.0).abs() < 1e-9);
    assert_eq!(root.category, "API");
    let edges: Vec<(u32, u32, u64, bool)> = a
        .operation_graph
        .iter()
        .map(|e| (e.parent, e.child, e.count, e.same_service))
        .collect();
    assert_eq!(edges, vec![(0, 1, 2, true), (0, 2, 1, false)]);
    assert_eq!(a.grade, Some(Grade::A));
    assert_eq!(a.worst_critical_path_grade, Some(Grade::A));
}

#[test]
fn root_cause_is_deepest_error_without_error_children() {
    let mut t = Table::new();
    t.span(1, None, "a", "root", Server, 0, 100).error();
    t.span(2, Some(1), "a", "b", Internal, 10, 40)
        .error_msg("b failed");
    t.span(3, Some(2), "a", "c", Internal, 15, 20);
    t.span(4, Some(1), "d", "d", Server, 50, 90).error();
    t.span(5, Some(4), "d", "e", Internal, 60, 70)
        .error()
        .exception("IOError", "disk full");
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    assert_eq!(a.root_cause, Some(idx(&set, 1, 5)));
    assert_eq!(a.errors.len(), 4);
    let e = a.errors.iter().find(|e| e.span == idx(&set, 1, 5)).unwrap();
    assert_eq!(e.exceptions[0].exception_type, "IOError");
    assert_eq!(e.exceptions[0].message, "disk full");
    let s = analyze_set(&set, &Rules::builtin());
    assert_eq!(
        s.traces[0].root_cause_span_id,
        Some(set.span(idx(&set, 1, 5)).unwrap().span_id.to_hex())
    );
    assert_eq!(s.traces[0].error_count, 4);
}

#[test]
fn several_roots_use_the_main_root() {
    let mut t = Table::new();
    t.span(1, None, "a", "root", Server, 0, 100);
    t.span(2, Some(1), "a", "child", Internal, 20, 60);
    t.span(9, Some(42), "b", "orphan", Server, 150, 300); // parent 42 never arrived
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    assert_eq!(a.root_count, 2);
    assert_eq!(a.root, Some(idx(&set, 1, 1)));
    assert_eq!(a.duration_nanos, 300 * MS);
    assert_eq!(a.root_duration_nanos, 100 * MS);
    let sum: u64 = a
        .critical_path
        .iter()
        .map(|s| s.end_unix_nanos - s.start_unix_nanos)
        .sum();
    assert_eq!(sum, 100 * MS);
    assert!(analyze_trace(&set, 7, &Rules::builtin()).is_err());
}

#[test]
fn trace_grade_and_worst_critical_path_grade() {
    let mut t = Table::new();
    // Root API call of 300 ms (B), which waits on a 280 ms database call (C: 250 ≤ p < 500).
    t.span(1, None, "api", "GET /slow", Server, 0, 300);
    t.span(2, Some(1), "api", "SELECT", Client, 10, 290)
        .attr("db.system", "mysql");
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    assert_eq!(a.grade, Some(Grade::B));
    assert_eq!(a.worst_critical_path_grade, Some(Grade::C));
    let s = analyze_set(&set, &Rules::builtin());
    assert_eq!(s.traces[0].grade, Some(Grade::B));
    assert_eq!(s.traces[0].worst_critical_path_grade, Some(Grade::C));
}

#[test]
fn empty_and_degenerate_inputs_do_not_panic() {
    let set = Table::new().finish();
    let s = analyze_set(&set, &Rules::builtin());
    assert_eq!(s.span_count, 0);
    assert!(s.traces.is_empty());
    let mut t = Table::new();
    t.span(1, None, "a", "zero", Server, 50, 50);
    t.span(2, Some(1), "a", "neg", Internal, 60, 40); // negative duration
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    assert!(a.critical_path.is_empty());
    let _ = analyze_set(&set, &Rules::builtin());
}

#[test]
fn trace_view_takes_categories_from_the_whole_set() {
    let mut t = Table::new();
    t.trace(1);
    t.span(1, None, "bot", "POST /ask", Server, 0, 3000);
    t.span(2, Some(1), "bot", "work", Internal, 0, 2500); // plain here…
    t.trace(2);
    t.span(1, None, "bot", "POST /ask", Server, 5000, 5100);
    t.span(2, Some(1), "bot", "work", Internal, 5000, 5050)
        .attr("gen_ai.system", "openai"); // …AI here
    let set = t.finish();
    let a = analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    let work = a.operations.iter().find(|o| o.name == "work").unwrap();
    assert_eq!(work.category, "AI");
    // 2.5 s is B for AI (it would be F with the API table); the root is F (3 s API).
    assert_eq!(a.grade, Some(Grade::F));
    assert_eq!(a.worst_critical_path_grade, Some(Grade::F));
    let f = a.spans.iter().find(|f| f.span == idx(&set, 1, 2)).unwrap();
    assert_eq!(f.class_label, "Normal");
    let s = analyze_set(&set, &Rules::builtin());
    assert_eq!(s.traces[0].grade, a.grade);
    // Same figures whether the trace is analysed alone or inside the set.
    let b = analyze_trace(&set, 1, &Rules::builtin()).unwrap();
    assert_eq!(b.spans[1].self_nanos, 50 * MS);
    assert_eq!(b.operations[0].category, "API");
}
