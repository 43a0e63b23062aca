//! Every real fixture (`shared/fixtures/**`, `shared/tempo-api/client_otlp/*.json`, read in
//! place) analyses without panic, and the analysis is deterministic: the set analysis and every
//! trace analysis are the same whether a file is read directly or after an OTLP round trip that
//! regroups and reorders its spans (so no output depends on input order or interning order), and
//! the documented list orders hold.

// Helpers outside `#[test]` functions panic on unreadable fixtures: that is the test failing.
#![allow(clippy::unwrap_used)]

use spanlens_core::analysis::{analyze_set, analyze_trace, Rules};
use spanlens_core::formats::{self, writers};
use spanlens_core::model::TraceSet;
use std::path::PathBuf;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/")).join(rel)
}

fn every_fixture() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "fixtures/otlp",
        "fixtures/tempo",
        "fixtures/jaeger",
        "fixtures/zipkin",
        "tempo-api/client_otlp",
    ] {
        for entry in std::fs::read_dir(shared(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json" || e == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 30,
        "expected every shared fixture, found {}",
        files.len()
    );
    files
}

/// The whole analysis of a set as JSON text (set analysis, then each trace's analysis).
fn analysis_json(set: &TraceSet, rules: &Rules) -> String {
    let mut out = serde_json::to_string(&analyze_set(set, rules)).unwrap();
    for index in 0..set.traces().len() as u32 {
        let trace = analyze_trace(set, index, rules).unwrap();
        out.push('\n');
        out.push_str(&serde_json::to_string(&trace).unwrap());
    }
    out
}

#[test]
fn every_fixture_analyses_deterministically() {
    let rules = Rules::builtin();
    for path in every_fixture() {
        let name = path.display().to_string();
        let set =
            formats::read(&std::fs::read(&path).unwrap(), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let first = analysis_json(&set, &rules);
        assert_eq!(first, analysis_json(&set, &rules), "{name}: two runs differ");

        let regrouped = formats::read(writers::to_otlp_json(&set, None).as_bytes(), None).unwrap();
        assert_eq!(
            analysis_json(&regrouped, &rules),
            first,
            "{name}: the analysis depends on the order spans arrived in"
        );

        let analysis = analyze_set(&set, &rules);
        let ops: Vec<(&str, &str)> = analysis
            .operations
            .iter()
            .map(|o| (o.service.as_str(), o.name.as_str()))
            .collect();
        assert!(
            ops.windows(2).all(|w| w[0] <= w[1]),
            "{name}: operations not sorted by (service, name)"
        );
        let services: Vec<&str> = analysis.services.iter().map(|s| s.service.as_str()).collect();
        assert!(
            services.windows(2).all(|w| w[0] <= w[1]),
            "{name}: services not sorted"
        );
        assert!(
            analysis
                .bottlenecks
                .windows(2)
                .all(|w| w[0].impact >= w[1].impact),
            "{name}: bottlenecks not sorted by impact"
        );
        assert_eq!(analysis.span_count as usize, set.span_count(), "{name}");
    }
}
