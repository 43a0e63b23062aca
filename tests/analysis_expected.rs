//! Expected analysis figures for the browser tests of the analysis views
//! (`tests/e2e/analysis.mjs`): the core's `analyze_set` and `compare_traces` on fixed inputs,
//! written as JSON and compared with the checked-in `tests/e2e/analysis-expected.json`, which
//! the browser test reads to check what the SPA shows. `SPANLENS_BLESS=1` rewrites the file.
//!
//! Inputs: `public/demo.json` (the demo set) and
//! `../shared/fixtures/otlp/oteldemo-file-exporter-5-traces.jsonl` (skipped when absent).

// Helpers outside `#[test]` functions panic on unreadable inputs: that is the test failing.
#![allow(clippy::unwrap_used)]

use spanlens_core::analysis::{analyze_set, compare_traces, Rules};
use spanlens_core::formats::read_into;
use spanlens_core::model::{TraceSet, TraceSetBuilder};
use std::fmt::Write as _;
use std::path::Path;

fn load(path: &Path) -> TraceSet {
    let bytes = std::fs::read(path).unwrap();
    let mut b = TraceSetBuilder::new();
    read_into(&mut b, &bytes, None, path.file_name().and_then(|n| n.to_str())).unwrap();
    b.finish()
}

fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn set_json(set: &TraceSet) -> String {
    let a = analyze_set(set, &Rules::builtin());
    let g = &a.service_graph;
    let nodes: Vec<String> = g.nodes.iter().map(|n| q(&n.name)).collect();
    let edges: Vec<String> = g
        .edges
        .iter()
        .map(|e| format!("{}: {}", q(&format!("{}->{}", e.client, e.server)), e.requests))
        .collect();
    let grades: Vec<String> = a
        .operations
        .iter()
        .map(|o| format!("{}: \"{:?}\"", q(&format!("{}/{}", o.service, o.name)), o.grade))
        .collect();
    let bottlenecks: Vec<String> = a
        .bottlenecks
        .iter()
        .map(|b| q(&format!("{}/{}", b.service, b.operation)))
        .collect();
    format!(
        "{{\n    \"traces\": {},\n    \"spans\": {},\n    \"nodes\": [{}],\n    \"edges\": {{{}}},\n    \"grades\": {{{}}},\n    \"bottlenecks\": [{}],\n    \"errorClusters\": {}\n  }}",
        a.trace_count,
        a.span_count,
        nodes.join(", "),
        edges.join(", "),
        grades.join(", "),
        bottlenecks.join(", "),
        a.errors.clusters.len()
    )
}

fn compare_json(set: &TraceSet) -> String {
    let (ia, ib) = (0u32, 1u32);
    let c = compare_traces(set, ia, set, ib).unwrap();
    let side = |v: &[spanlens_core::analysis::UnmatchedSpans]| -> String {
        v.iter()
            .map(|u| format!("{}: {}", q(&format!("{}/{}", u.service, u.name)), u.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{{\n    \"a\": {},\n    \"b\": {},\n    \"durationDeltaNanos\": {},\n    \"onlyInA\": {{{}}},\n    \"onlyInB\": {{{}}}\n  }}",
        q(&c.trace_id_a),
        q(&c.trace_id_b),
        c.duration_delta_nanos,
        side(&c.only_in_a),
        side(&c.only_in_b)
    )
}

#[test]
fn analysis_expectations_match_the_core() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = load(&repo.join("public/demo.json"));
    let five = repo.join("../shared/fixtures/otlp/oteldemo-file-exporter-5-traces.jsonl");
    if !five.exists() {
        eprintln!("fixtures absent: skipped");
        return;
    }
    let five = load(&five);
    let json = format!(
        "{{\n  \"demo\": {},\n  \"fiveTraces\": {},\n  \"compareDemo\": {}\n}}\n",
        set_json(&demo),
        set_json(&five),
        compare_json(&demo)
    );
    let path = repo.join("tests/e2e/analysis-expected.json");
    if std::env::var_os("SPANLENS_BLESS").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        checked_in, json,
        "the core's figures changed: rerun with SPANLENS_BLESS=1 and review the diff"
    );
}
