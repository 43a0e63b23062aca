//! `spanlens analyze` end to end: runs the built binary on the shared fixtures (read in place),
//! on standard input, with a forced input format, and on unreadable input (exit 2, one line on
//! stderr).

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
    assert!(text.starts_with("1 trace(s), 16 span(s)\n"), "{text}");
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
