//! `spanlens analyze` end to end: runs the built binary on the shared fixtures (read in place),
//! on standard input, with a forced input format, and on unreadable input (exit 2, one line on
//! stderr); the analysis sections of the JSON report (checked against `analyze_set` run here
//! through the core API), the text report's order, `--fail-under` on every scope and `--rules`.

// The process helpers below are test code too, though not inside `#[test]` functions.
#![allow(clippy::expect_used)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_spanlens");

fn fixture(rel: &str) -> String {
    format!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/{}"),
        rel
    )
}

fn analyze(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .arg("analyze")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spanlens");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(bytes).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

fn json_report(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

#[test]
fn json_report_for_a_zipkin_fixture() {
    let out = analyze(&["--format", "json", &fixture("zipkin/zipkin-skew.json")], None);
    let report = json_report(&out);
    let traces = report["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert_eq!(t["trace_id"], "00000000000000001e223ff1f80f1c69");
    assert_eq!(t["span_count"], 4);
    assert_eq!(t["services"], serde_json::json!(["servicea", "serviceb"]));
    assert_eq!(t["root_service"], "servicea");
    assert_eq!(t["root_name"], "get");
    assert_eq!(t["start_unix_nano"], 1_470_150_004_008_761_000u64);
    assert_eq!(t["error_count"], 0);
    assert!(t["duration_nanos"].as_u64().expect("duration") > 0);
    assert_eq!(report["diagnostics"]["spans_read"], 4);
}

#[test]
fn several_files_make_one_set() {
    let out = analyze(
        &[
            "--format",
            "json",
            &fixture("jaeger/perses-k6-authenticate-error-jaeger.json"),
            &fixture("otlp/oteldemo-file-exporter-5-traces.jsonl"),
        ],
        None,
    );
    let report = json_report(&out);
    let traces = report["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 6);
    let spans: u64 = traces.iter().map(|t| t["span_count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(spans, 85);
    let k6 = traces
        .iter()
        .find(|t| t["root_name"] == "get-inventory")
        .expect("the k6 trace");
    assert_eq!(k6["error_count"], 1);
    assert_eq!(k6["root_service"], "shop-backend");
    assert_eq!(report["diagnostics"]["sources"].as_array().map(Vec::len), Some(2));
}

#[test]
fn reads_standard_input() {
    let bytes = std::fs::read(fixture("otlp/synthetic-sibling-errors-enum-names.json")).expect("fixture");
    let out = analyze(&["--format", "json", "-"], Some(&bytes));
    let report = json_report(&out);
    assert_eq!(report["traces"][0]["span_count"], 6);
    assert_eq!(report["traces"][0]["error_count"], 5);
    let sources = report["diagnostics"]["sources"].to_string();
    assert!(sources.contains("<stdin>"), "{sources}");
}

#[test]
fn text_report_is_readable() {
    let out = analyze(&[&fixture("zipkin/zipkin-yelp.json")], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 trace(s), 16 span(s)\n"), "{text}");
    assert!(text.contains("TRACE ID"), "{text}");
    assert!(text.contains("diagnostics:"), "{text}");
    assert!(text.contains("unknown"), "{text}");
}

#[test]
fn forced_input_format() {
    let path = fixture("zipkin/zipkin-netflix-128bit.json");
    let out = analyze(
        &["--format", "json", "--input-format", "zipkin_json", &path],
        None,
    );
    assert_eq!(json_report(&out)["traces"][0]["span_count"], 8);
    let out = analyze(&["--input-format", "jaeger_json", &path], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("Jaeger JSON"), "{err}");
}

#[test]
fn garbage_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.json");
    std::fs::write(&path, b"this is not a trace\nat all\n").expect("write");
    let path = path.to_string_lossy().to_string();
    let out = analyze(&[&path], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("garbage.json"), "{err}");
    assert!(err.contains("not a trace"), "{err}");

    let out = analyze(&["/nonexistent/spanlens/trace.json"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/spanlens/trace.json"), "{err}");

    let out = analyze(&["-"], Some(b"\x00\x01\x02garbage"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end().lines().count(), 1);
}

/// Five traces of the OpenTelemetry demo: with the built-in rules its operations grade A, D and
/// F, its services A and B, its traces A and D.
const DEMO: &str = "otlp/oteldemo-file-exporter-5-traces.jsonl";

fn grade_of(v: &Value) -> &str {
    let g = v.as_str().expect("a grade letter");
    assert!(["A", "B", "C", "D", "F"].contains(&g), "{g}");
    g
}

#[test]
fn json_report_has_the_analysis_sections() {
    let report = json_report(&analyze(&["--format", "json", &fixture(DEMO)], None));
    let is_ms = |v: &Value| v.is_f64() || v.is_u64();

    let graph = &report["service_graph"];
    let nodes = graph["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().any(|n| n["name"] == "frontend"), "{graph}");
    let edges = graph["edges"].as_array().expect("edges");
    assert!(!edges.is_empty());
    for e in edges {
        assert!(e["client"].is_string() && e["server"].is_string(), "{e}");
        let ct = e["connection_type"].as_str().expect("connection_type");
        assert!(
            ["plain", "messaging_system", "database", "virtual_node"].contains(&ct),
            "{e}"
        );
        assert!(e["requests"].is_u64() && e["failed"].is_u64(), "{e}");
        assert!(is_ms(&e["client_p95_ms"]) && is_ms(&e["server_p95_ms"]), "{e}");
    }
    assert!(edges
        .iter()
        .any(|e| e["client"] == "frontend" && e["server"] == "checkout" && e["connection_type"] == "plain"));

    let ops = report["operations"].as_array().expect("operations");
    assert!(!ops.is_empty());
    for o in ops {
        for k in ["service", "name", "kind", "category"] {
            assert!(o[k].is_string(), "{k} in {o}");
        }
        assert!(o["calls"].is_u64() && o["errors"].is_u64(), "{o}");
        for k in ["p50_ms", "p95_ms", "p99_ms"] {
            assert!(is_ms(&o[k]), "{k} in {o}");
        }
        grade_of(&o["grade"]);
    }
    let keys: Vec<(&str, &str)> = ops
        .iter()
        .map(|o| {
            (
                o["service"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "operations sorted by (service, name)");

    let services = report["services"].as_array().expect("services");
    assert_eq!(services.len(), 3);
    for s in services {
        assert!(
            s["name"].is_string() && s["calls"].is_u64() && s["errors"].is_u64(),
            "{s}"
        );
        grade_of(&s["grade"]);
    }

    let bottlenecks = report["bottlenecks"].as_array().expect("bottlenecks");
    assert!(!bottlenecks.is_empty());
    for b in bottlenecks {
        for k in ["service", "name", "category", "severity"] {
            assert!(b[k].is_string(), "{k} in {b}");
        }
        assert!(
            is_ms(&b["p95_ms"]) && is_ms(&b["target_ms"]) && b["impact"].is_number(),
            "{b}"
        );
        assert!(b["recommendations"].is_array(), "{b}");
    }
    let impacts: Vec<f64> = bottlenecks.iter().filter_map(|b| b["impact"].as_f64()).collect();
    assert!(impacts.windows(2).all(|w| w[0] >= w[1]), "{impacts:?}");

    let clusters = report["error_clusters"].as_array().expect("error_clusters");
    assert!(clusters
        .iter()
        .any(|c| c["reason"] == "java.net.ConnectException"));

    let traces = report["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 5);
    for t in traces {
        grade_of(&t["grade"]);
        grade_of(&t["worst_critical_path_grade"]);
        let path = t["critical_path"].as_array().expect("critical_path");
        assert!(!path.is_empty());
        for seg in path {
            assert!(seg["span_id"].is_string() && seg["service"].is_string(), "{seg}");
            assert!(seg["name"].is_string() && is_ms(&seg["duration_ms"]), "{seg}");
            assert!(
                seg["start_unix_nano"].is_u64() && seg["end_unix_nano"].is_u64(),
                "{seg}"
            );
        }
        // The segments cover the root's duration.
        let total: f64 = path.iter().filter_map(|s| s["duration_ms"].as_f64()).sum();
        let duration = t["duration_nanos"].as_u64().expect("duration") as f64 / 1e6;
        assert!((total - duration).abs() < 1e-6, "{total} vs {duration}");
        assert_eq!(path[0]["start_unix_nano"], t["start_unix_nano"]);
    }
}

#[test]
fn grades_match_the_core() {
    let bytes = std::fs::read(fixture(DEMO)).expect("fixture");
    let set = spanlens_core::formats::read(&bytes, None).expect("readable");
    let expected = spanlens_core::analysis::analyze_set(&set, &spanlens_core::analysis::Rules::builtin());
    let letter = |g: spanlens_core::analysis::Grade| format!("{g:?}");

    let report = json_report(&analyze(&["--format", "json", &fixture(DEMO)], None));
    let ops = report["operations"].as_array().expect("operations");
    assert_eq!(ops.len(), expected.operations.len());
    let find = |service: &str, name: &str| {
        ops.iter()
            .find(|o| o["service"] == service && o["name"] == name)
            .unwrap_or_else(|| panic!("operation {service}: {name}"))
    };
    // A known operation: the frontend's entry point.
    let core = expected
        .operations
        .iter()
        .find(|o| o.service == "frontend" && o.name == "POST /api/orders")
        .expect("the core has it");
    let cli = find("frontend", "POST /api/orders");
    assert_eq!(cli["grade"], letter(core.grade));
    assert_eq!(cli["category"], core.category.as_str());
    assert_eq!(cli["calls"], core.calls);
    assert_eq!(cli["p95_ms"].as_f64(), Some(core.latency.p95_nanos as f64 / 1e6));
    // And every other one.
    for o in &expected.operations {
        assert_eq!(find(&o.service, &o.name)["grade"], letter(o.grade), "{o:?}");
    }
    for (cli, core) in report["services"]
        .as_array()
        .expect("services")
        .iter()
        .zip(&expected.services)
    {
        assert_eq!(cli["name"], core.service.as_str());
        assert_eq!(cli["grade"], letter(core.grade));
    }
    for (cli, core) in report["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .zip(&expected.traces)
    {
        assert_eq!(cli["trace_id"], core.trace_id.as_str());
        assert_eq!(
            cli["grade"],
            core.grade.map(letter).map(Value::from).unwrap_or(Value::Null)
        );
    }
}

#[test]
fn text_report_starts_with_grades_and_bottlenecks() {
    let out = analyze(&[&fixture(DEMO)], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap_or("").starts_with("Operation grades ("),
        "{text}"
    );
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "SERVICE",
            "OPERATION",
            "CATEGORY",
            "CALLS",
            "ERRORS",
            "P50",
            "P95",
            "P99",
            "GRADE"
        ],
        "{text}"
    );
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
    let order = [
        at("Operation grades ("),
        at("\nBottlenecks ("),
        at("\nServices ("),
        at("\nService graph edges ("),
        at("\nError clusters ("),
        at("\nTraces: 5 trace(s)"),
        at("\ndiagnostics:"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    // The bottlenecks show severity, impact and recommendations.
    assert!(text.contains("[critical] impact "), "{text}");
    assert!(text.contains("    - "), "{text}");
}

fn gate(extra: &[&str]) -> Output {
    let path = fixture(DEMO);
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    args.push(&path);
    analyze(&args, None)
}

fn assert_gate(extra: &[&str], code: i32, failed_lines: usize, prefix: &str) {
    let out = gate(extra);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{extra:?}: {err}");
    // The report is printed either way.
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert!(report["operations"].is_array());
    assert_eq!(err.lines().count(), failed_lines, "{extra:?}: {err}");
    assert!(err.lines().all(|l| l.contains(prefix)), "{err}");
}

#[test]
fn fail_under_on_each_scope() {
    // Operations grade F (frontend GET) at worst.
    assert_gate(&["--fail-under", "F"], 0, 0, "");
    let out = gate(&["--fail-under", "D"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("operation frontend: GET") && err.contains("grades F"),
        "{err}"
    );
    assert_gate(&["--fail-under", "a", "--scope", "operation"], 1, 5, "operation ");
    // Services: A and B.
    assert_gate(&["--fail-under", "B", "--scope", "service"], 0, 0, "");
    assert_gate(&["--fail-under", "A", "--scope", "service"], 1, 2, "service ");
    // Traces: A and D.
    assert_gate(&["--fail-under", "D", "--scope", "trace"], 0, 0, "");
    assert_gate(
        &["--fail-under", "C", "--scope", "trace"],
        1,
        1,
        "trace 5b584103c6fc5ddf",
    );
}

#[test]
fn rules_file_changes_the_grades() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Everything falls back to one category whose bounds nothing can meet.
    let tiny = dir.path().join("tiny.toml");
    std::fs::write(
        &tiny,
        "defaults = false\n[fallback]\nname = \"Strict\"\n\
         thresholds = { a = \"1ns\", b = \"2ns\", c = \"3ns\", d = \"4ns\", target = \"1ns\", \
         alert = \"2ns\", critical = \"3ns\" }\n",
    )
    .expect("write");
    let tiny = tiny.to_string_lossy().to_string();
    let out = gate(&["--rules", &tiny]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    let ops = report["operations"].as_array().expect("operations");
    assert!(
        ops.iter().all(|o| o["grade"] == "F" && o["category"] == "Strict"),
        "{ops:?}"
    );
    // Now every scope fails even at D, and passes at F.
    for scope in ["operation", "service", "trace"] {
        assert_eq!(
            gate(&["--rules", &tiny, "--fail-under", "D", "--scope", scope])
                .status
                .code(),
            Some(1)
        );
        assert_eq!(
            gate(&["--rules", &tiny, "--fail-under", "F", "--scope", scope])
                .status
                .code(),
            Some(0)
        );
    }
    // The same rules as JSON (detected by content, whatever the extension).
    let json = dir.path().join("tiny.rules");
    std::fs::write(
        &json,
        r#"{"defaults": false, "fallback": {"name": "Strict", "thresholds": {"a": "1ns", "b": "2ns",
            "c": "3ns", "d": "4ns", "target": "1ns", "alert": "2ns", "critical": "3ns"}}}"#,
    )
    .expect("write");
    let out = gate(&["--rules", &json.to_string_lossy(), "--fail-under", "D"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_rules_or_grade_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "defaults = true\n[[category]]\nname = \n").expect("write");
    let out = gate(&["--rules", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml") && err.contains("line 3"), "{err}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"category\": [\n  {\"name\": 5}]}").expect("write");
    let out = gate(&["--rules", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("line 2"), "{err}");

    let out = gate(&["--rules", "/nonexistent/spanlens/rules.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end().lines().count(), 1);

    let out = gate(&["--fail-under", "E"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown grade"));
}
