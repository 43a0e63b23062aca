//! Span metrics and RED series (analysis.md §3), error clusters (§6), trace comparison.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{analyze_set, compare_traces, percentile_sorted, Rules};
use spanlens_core::model::SpanKind::*;
use support::{idx, Table, MS};

#[test]
fn groups_rollups_and_known_distribution() {
    let mut t = Table::new();
    // 100 calls of 1..=100 ms; every 10th fails (10 errors).
    t.span(1000, None, "api", "root", Internal, 0, 10_000);
    for i in 1..=100u16 {
        let row = t.span(
            i,
            Some(1000),
            "api",
            "GET /item",
            Server,
            u64::from(i) * 50,
            u64::from(i) * 50 + u64::from(i),
        );
        if i % 10 == 0 {
            row.error();
        }
    }
    // Jaeger-style error tag on an unset-status span.
    t.span(2000, Some(1000), "api", "GET /item", Server, 100, 110)
        .flag("error", true);
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let m = &a.span_metrics;
    let groups: Vec<(&str, &str, &str, u64, u64)> = m
        .groups
        .iter()
        .map(|g| {
            (
                g.span_name.as_str(),
                g.span_kind.as_str(),
                g.status_code.as_str(),
                g.calls,
                g.errors,
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("GET /item", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET", 91, 1),
            ("GET /item", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", 10, 10),
            ("root", "SPAN_KIND_INTERNAL", "STATUS_CODE_UNSET", 1, 0),
        ]
    );
    let err = &m.groups[1];
    // 10, 20, …, 100 ms: nearest-rank p50 = 50 ms, p90 = 90 ms, p99 = 100 ms.
    assert_eq!(
        (
            err.latency.p50_nanos,
            err.latency.p90_nanos,
            err.latency.p99_nanos
        ),
        (50 * MS, 90 * MS, 100 * MS)
    );
    assert_eq!(err.latency.mean_nanos, 55 * MS);
    // Histogram buckets 2, 4, 8, 16, 32, 64, 128 ms…: 10→16, 20,30→32, 40,50,60→64, 70..100→128.
    assert_eq!(&err.histogram[..8], &[0, 0, 0, 1, 2, 3, 4, 0]);
    assert_eq!(err.histogram.len(), 15);
    assert_eq!(m.bucket_bounds_nanos.len(), 14);
    // The (service, name) rollup joins both groups: 101 calls, 11 errors.
    let op = m
        .operations
        .iter()
        .find(|o| o.span_name.as_deref() == Some("GET /item"))
        .unwrap();
    assert_eq!((op.calls, op.errors), (101, 11));
    // 1..=100 ms plus one 10 ms call: rank 51 of 101 is 50 ms; rank 96 is 95 ms.
    assert_eq!(
        (op.latency.p50_nanos, op.latency.p95_nanos, op.latency.max_nanos),
        (50 * MS, 95 * MS, 100 * MS)
    );
    let svc = &m.services[0];
    assert_eq!((svc.service.as_str(), svc.calls, svc.errors), ("api", 102, 11));
    // Percentiles of a known distribution, directly.
    let v: Vec<u64> = (1..=100).collect();
    assert_eq!(percentile_sorted(&v, 950), Some(95));
}

#[test]
fn red_series_step_and_points() {
    let mut t = Table::new();
    // One 10 ms call every second: range 59.01 s → the smallest round step with ≤ 120 points is
    // 500 ms (119 points).
    for i in 0..60u16 {
        t.trace(1 + (i % 200) as u8);
        let s = u64::from(i) * 1000;
        let row = t.span(i + 1, None, "api", "tick", Server, s, s + 10);
        if i < 6 {
            row.error();
        }
    }
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let red = &a.span_metrics.red;
    assert_eq!(red.step_nanos, 500 * MS);
    assert_eq!(red.point_count, 119);
    assert_eq!(red.start_unix_nanos, 0);
    let op = &red.operations[0];
    assert_eq!(op.points.len(), 60);
    let p0 = &op.points[0];
    assert_eq!(
        (p0.index, p0.calls, p0.errors, p0.rate_per_sec, p0.error_rate),
        (0, 1, 1, 2.0, 1.0)
    );
    assert_eq!(
        (p0.p50_nanos, p0.p95_nanos, p0.p99_nanos),
        (10 * MS, 10 * MS, 10 * MS)
    );
    assert_eq!(op.points[59].index, 118);
    assert_eq!(op.points[59].errors, 0);
    assert_eq!(red.services[0].points.len(), 60);
    assert!(red.services[0].span_name.is_none());
}

#[test]
fn error_clusters() {
    let mut t = Table::new();
    for tr in 1..=3u8 {
        t.trace(tr);
        let base = u64::from(tr) * 1000;
        t.span(1, None, "api", "GET /", Server, base, base + 100)
            .error_msg("upstream failed");
        t.span(2, Some(1), "db", "query", Server, base + 10, base + 20)
            .error()
            .exception("TimeoutError", "query timed out");
    }
    t.trace(4);
    t.span(1, None, "db", "query", Server, 9000, 9010)
        .error()
        .exception("DeadlockError", "deadlock");
    t.span(2, Some(1), "db", "log", Internal, 9001, 9002)
        .exception("Warning", "not an error span");
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let e = &a.errors;
    assert_eq!(
        (e.error_spans, e.exception_events, e.traces_with_errors),
        (7, 5, 4)
    );
    let rows: Vec<(&str, &str, &str, bool, u64)> = e
        .clusters
        .iter()
        .map(|c| {
            (
                c.service.as_str(),
                c.span_name.as_str(),
                c.reason.as_str(),
                c.from_exception,
                c.count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("api", "GET /", "upstream failed", false, 3),
            ("db", "query", "TimeoutError", true, 3),
            ("db", "query", "DeadlockError", true, 1),
        ]
    );
    let timeout = &e.clusters[1];
    assert_eq!(
        (timeout.first_seen_unix_nanos, timeout.last_seen_unix_nanos),
        (1010 * MS, 3010 * MS)
    );
    assert_eq!(timeout.example_trace_ids.len(), 3);
    assert_eq!(timeout.example_message, "query timed out");
    // Root cause of each of the first three traces: the db query under the failing handler.
    assert_eq!(
        a.traces[0].root_cause_span_id,
        Some(set.span(idx(&set, 1, 2)).unwrap().span_id.to_hex())
    );
}

#[test]
fn compare_two_traces() {
    let mut t = Table::new();
    t.trace(1);
    t.span(1, None, "api", "GET /", Server, 0, 100);
    t.span(2, Some(1), "api", "SELECT", Client, 10, 20);
    t.span(3, Some(1), "api", "SELECT", Client, 20, 30);
    t.span(4, Some(1), "cache", "get", Client, 30, 35);
    t.trace(2);
    t.span(1, None, "api", "GET /", Server, 0, 160);
    t.span(2, Some(1), "api", "SELECT", Client, 10, 40);
    t.span(3, Some(2), "api", "SELECT", Client, 12, 20); // same name, different path
    t.span(4, Some(1), "auth", "check", Client, 40, 60);
    let set = t.finish();
    let c = compare_traces(&set, 0, &set, 1).unwrap();
    assert_eq!(c.duration_delta_nanos, 60 * MS as i64);
    let ops: Vec<(&str, &str, u64, u64, i64)> = c
        .operations
        .iter()
        .map(|o| {
            (
                o.service.as_str(),
                o.name.as_str(),
                o.count_a,
                o.count_b,
                o.total_delta_nanos / MS as i64,
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            ("api", "GET /", 1, 1, 60),
            ("api", "SELECT", 2, 2, 18), // 20 ms → 38 ms
            ("auth", "check", 0, 1, 20),
            ("cache", "get", 1, 0, -5),
        ]
    );
    let only_a: Vec<(&str, Vec<String>, u64)> = c
        .only_in_a
        .iter()
        .map(|u| (u.name.as_str(), u.path.clone(), u.count))
        .collect();
    assert_eq!(
        only_a,
        vec![
            ("SELECT", vec!["api: GET /".to_string()], 1),
            ("get", vec!["api: GET /".to_string()], 1)
        ]
    );
    assert_eq!(c.only_in_a[0].spans, vec![idx(&set, 1, 3)]);
    let only_b: Vec<(&str, Vec<String>)> = c
        .only_in_b
        .iter()
        .map(|u| (u.name.as_str(), u.path.clone()))
        .collect();
    assert_eq!(
        only_b,
        vec![
            (
                "SELECT",
                vec!["api: GET /".to_string(), "api: SELECT".to_string()]
            ),
            ("check", vec!["api: GET /".to_string()]),
        ]
    );
    assert!(compare_traces(&set, 0, &set, 9).is_err());
    // Two sets: the same trace compares equal.
    let same = compare_traces(&set, 1, &set.clone(), 1).unwrap();
    assert!(same.only_in_a.is_empty() && same.only_in_b.is_empty());
}

#[test]
fn output_serializes_and_round_trips() {
    let mut t = Table::new();
    t.span(1, None, "api", "GET /", Server, 0, 100).error();
    t.span(2, Some(1), "api", "SELECT", Client, 10, 20)
        .attr("db.system", "postgresql");
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let json = serde_json::to_string(&a).unwrap();
    let back: spanlens_core::analysis::SetAnalysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    // Deterministic.
    assert_eq!(
        json,
        serde_json::to_string(&analyze_set(&set, &Rules::builtin())).unwrap()
    );
    let tr = spanlens_core::analysis::analyze_trace(&set, 0, &Rules::builtin()).unwrap();
    let back: spanlens_core::analysis::TraceAnalysis =
        serde_json::from_str(&serde_json::to_string(&tr).unwrap()).unwrap();
    assert_eq!(back, tr);
    let rules_json = serde_json::to_string(&Rules::builtin()).unwrap();
    assert!(rules_json.contains("\"kind\":\"server\""));
}
