//! Categories, grades (every boundary of every category), request classes, service grades
//! (analysis.md §4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{analyze_set, Grade, RequestClass, Rules, Thresholds};
use spanlens_core::model::SpanKind::{self, *};
use support::{Table, MS};

const S: u64 = 1_000;

/// (category, table, A bound, B bound, C bound, D bound in ms)
const TABLES: [(&str, Thresholds, [u64; 4]); 5] = [
    ("AI", Thresholds::AI, [2 * S, 5 * S, 10 * S, 20 * S]),
    ("Memory", Thresholds::MEMORY, [50, 100, 200, 500]),
    ("Database", Thresholds::DATABASE, [100, 250, 500, S]),
    ("API", Thresholds::API, [200, 500, S, 2 * S]),
    ("Internal", Thresholds::API, [200, 500, S, 2 * S]),
];

/// Every boundary in nanoseconds with its expected grade: just below a bound, at it.
fn boundaries(bounds: [u64; 4]) -> Vec<(u64, Grade)> {
    let grades = [Grade::A, Grade::B, Grade::C, Grade::D, Grade::F];
    let mut out = vec![(0, Grade::A)];
    for (i, b) in bounds.iter().enumerate() {
        out.push((b * MS - 1, grades[i]));
        out.push((b * MS, grades[i + 1]));
    }
    out.push((u64::MAX / 4, Grade::F));
    out
}

#[test]
fn builtin_tables_match_the_design() {
    let rules = Rules::builtin();
    for (name, table, _) in TABLES {
        let cat = rules
            .categories
            .iter()
            .chain([&rules.fallback])
            .find(|c| c.name == name)
            .unwrap();
        assert_eq!(cat.thresholds, table, "{name}");
    }
    let t = Thresholds::MEMORY;
    assert_eq!(
        (t.target_nanos, t.alert_nanos, t.critical_nanos),
        (50 * MS, 50 * MS, 100 * MS)
    );
    let t = Thresholds::DATABASE;
    assert_eq!(
        (t.target_nanos, t.alert_nanos, t.critical_nanos),
        (100 * MS, 200 * MS, 500 * MS)
    );
    let t = Thresholds::AI;
    assert_eq!(
        (t.target_nanos, t.alert_nanos, t.critical_nanos),
        (2_000 * MS, 5_000 * MS, 10_000 * MS)
    );
    let t = Thresholds::API;
    assert_eq!(
        (t.target_nanos, t.alert_nanos, t.critical_nanos),
        (200 * MS, 1_000 * MS, 2_000 * MS)
    );
}

#[test]
fn every_grade_boundary_of_every_category() {
    for (name, table, bounds) in TABLES {
        for (nanos, grade) in boundaries(bounds) {
            assert_eq!(table.grade(nanos), grade, "{name} at {nanos} ns");
        }
    }
}

/// Adds one span whose category is `category`, named uniquely.
fn span_of(t: &mut Table, id: u16, category: &str, start: u64, dur: u64) {
    let name = format!("{category}-{id}");
    let (kind, key, value): (SpanKind, &str, &str) = match category {
        "AI" => (Client, "gen_ai.system", "openai"),
        "Memory" => (Client, "db.system", "qdrant"),
        "Database" => (Client, "db.system", "postgresql"),
        "API" => (Server, "x", "y"),
        _ => (Internal, "x", "y"),
    };
    t.span_ns(id, Some(60_000), "svc", &name, kind, start, start + dur)
        .attr(key, value);
}

#[test]
fn every_grade_boundary_end_to_end() {
    // One trace: a long root, and under it one single-span operation per (category, boundary).
    let mut t = Table::new();
    t.span_ns(60_000, None, "svc", "root", Server, 0, 1_000_000 * MS);
    let mut expected = Vec::new();
    let mut id = 1u16;
    for (name, _, bounds) in TABLES {
        for (nanos, grade) in boundaries(bounds) {
            let nanos = nanos.min(100_000 * MS);
            let grade = if nanos == 100_000 * MS { Grade::F } else { grade };
            span_of(&mut t, id, name, 1, nanos);
            expected.push((format!("{name}-{id}"), name, grade));
            id += 1;
        }
    }
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    for (op, cat, grade) in expected {
        let o = a.operations.iter().find(|o| o.name == op).unwrap();
        assert_eq!((o.category.as_str(), o.grade), (cat, grade), "{op}");
    }
}

#[test]
fn request_classes_use_a_and_c_bounds() {
    let api = Thresholds::API;
    assert_eq!(api.class(200 * MS - 1), RequestClass::Fast);
    assert_eq!(api.class(200 * MS), RequestClass::Medium);
    assert_eq!(api.class(1_000 * MS - 1), RequestClass::Medium);
    assert_eq!(api.class(1_000 * MS), RequestClass::Slow);
    let ai = Thresholds::AI;
    assert_eq!(ai.class(2_000 * MS - 1), RequestClass::Fast);
    assert_eq!(ai.class(2_000 * MS), RequestClass::Medium);
    assert_eq!(ai.class(10_000 * MS), RequestClass::Slow);
    let db = Thresholds::DATABASE;
    assert_eq!(
        (db.class(100 * MS - 1), db.class(100 * MS), db.class(500 * MS)),
        (RequestClass::Fast, RequestClass::Medium, RequestClass::Slow)
    );
    let mem = Thresholds::MEMORY;
    assert_eq!(
        (mem.class(50 * MS - 1), mem.class(50 * MS), mem.class(200 * MS)),
        (RequestClass::Fast, RequestClass::Medium, RequestClass::Slow)
    );
    let rules = Rules::builtin();
    assert_eq!(rules.class_label(0, RequestClass::Medium), "Normal"); // AI
    assert_eq!(rules.class_label(3, RequestClass::Medium), "Medium"); // API
}

/// (span id, name, kind, attribute, expected category)
type CategoryRow = (
    u16,
    &'static str,
    SpanKind,
    Option<(&'static str, &'static str)>,
    &'static str,
);

#[test]
fn categories_first_match_wins() {
    let mut t = Table::new();
    t.span(1, None, "svc", "GET /", Server, 0, 1000);
    let rows: [CategoryRow; 14] = [
        // id  name                         kind      attribute                    category
        (2, "chat gpt-4o", Client, None, "AI"),
        (3, "POST /v1/chat/completions", Client, None, "AI"),
        (4, "POST /v1/chat", Server, None, "API"),
        (5, "chatter", Internal, None, "Internal"),
        (6, "LLM call", Internal, None, "AI"),
        (7, "work", Internal, Some(("gen_ai.request.model", "gpt")), "AI"),
        (8, "search", Client, Some(("db.system", "qdrant")), "Memory"),
        (9, "memory.recall", Internal, None, "Memory"),
        (10, "upsert", Internal, Some(("vector_store.name", "x")), "Memory"),
        (
            11,
            "SELECT",
            Client,
            Some(("db.statement", "select 1")),
            "Database",
        ),
        (
            12,
            "find",
            Client,
            Some(("db.operation.name", "find")),
            "Database",
        ),
        (13, "fetch", Client, Some(("http.request.method", "GET")), "API"),
        (
            14,
            "embeddings text-embedding-3",
            Client,
            Some(("db.system", "postgresql")),
            "AI",
        ),
        (15, "tick", Internal, None, "Internal"),
    ];
    for (id, name, kind, attr, _) in rows {
        let row = t.span(id, Some(1), "svc", name, kind, 10, 20);
        if let Some((k, v)) = attr {
            row.attr(k, v);
        }
    }
    // A root internal span is API; an operation takes the best category of any of its spans.
    t.trace(2);
    t.span(1, None, "svc", "cron", Internal, 0, 10);
    t.span(2, Some(1), "svc", "tick", Internal, 1, 2)
        .attr("llm.model", "x");
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let cat = |name: &str| {
        a.operations
            .iter()
            .find(|o| o.name == name)
            .unwrap()
            .category
            .clone()
    };
    for (_, name, _, _, expected) in rows {
        let expected = if name == "tick" { "AI" } else { expected };
        assert_eq!(cat(name), expected, "{name}");
    }
    assert_eq!(cat("cron"), "API");
    assert_eq!(cat("GET /"), "API");
}

#[test]
fn service_grade_is_call_weighted_mean_rounded() {
    let mut t = Table::new();
    // svc-a: 3 calls of an A operation (4 points) and 1 call of an F one (0) → 3.0 → B.
    t.span(1, None, "svc-a", "fast", Server, 0, 10);
    t.span(2, Some(1), "svc-a", "fast", Server, 0, 10);
    t.span(3, Some(1), "svc-a", "fast", Server, 0, 10);
    t.span(4, Some(1), "svc-a", "slow", Server, 0, 5_000);
    // svc-b: one A call and one B call → 3.5 → A (half up).
    t.span(5, Some(1), "svc-b", "x", Server, 0, 10);
    t.span(6, Some(1), "svc-b", "y", Server, 0, 300);
    let set = t.finish();
    let a = analyze_set(&set, &Rules::builtin());
    let svc = |n: &str| a.services.iter().find(|s| s.service == n).unwrap().clone();
    assert_eq!((svc("svc-a").grade, svc("svc-a").grade_points), (Grade::B, 3.0));
    assert_eq!((svc("svc-b").grade, svc("svc-b").grade_points), (Grade::A, 3.5));
    assert_eq!(svc("svc-a").calls, 4);
}
