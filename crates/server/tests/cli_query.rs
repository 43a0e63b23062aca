//! `spanlens query`: runs the binary on the SDK traces behind the recorded Tempo responses
//! (`shared/tempo-api/client_otlp`), in text and JSON, and checks errors exit 2 with one line.

use std::path::Path;
use std::process::{Command, Output};

const FIXTURES: &str = "/work/shared/tempo-api/client_otlp";

fn fixtures() -> Option<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(FIXTURES)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    files.sort();
    (!files.is_empty()).then_some(files)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spanlens"))
        .arg("query")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run spanlens: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn json_output_is_tempo_search_shape() {
    let Some(files) = fixtures() else { return };
    let mut args = vec![
        "{ resource.service.name = \"knowledge-router\" && status = error }",
        "--format",
        "json",
    ];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let traces = body["traces"].as_array().unwrap();
    let ids: Vec<&str> = traces.iter().map(|t| t["traceID"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            "9e8036d307ac72f279cc2011ed9d7dd9",
            "2dd08e8263e9a8584490023bee0cf61d"
        ]
    );
    assert_eq!(traces[1]["spanSets"][0]["matched"], 2);
    assert_eq!(traces[1]["rootServiceName"], "api-gateway");
    assert_eq!(traces[1]["spanSet"], traces[1]["spanSets"][0]);
    assert!(body["metrics"].is_object());
}

#[test]
fn text_output_and_limits() {
    let Some(files) = fixtures() else { return };
    let mut args = vec!["{ status = error }", "--limit", "1", "--spss", "1"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("1 matching trace(s) of 4 inspected"),
        "{stdout}"
    );
    // the most recent trace with errors
    assert!(
        stdout.contains("trace 9e8036d307ac72f279cc2011ed9d7dd9"),
        "{stdout}"
    );
    assert!(stdout.contains("status=error"), "{stdout}");
    assert!(stdout.contains("more span(s)"), "{stdout}");
    assert_eq!(stdout.matches("    span ").count(), 1, "{stdout}");

    let mut args = vec!["{ name = \"no such span\" }"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("0 matching trace(s) of 4 inspected"));
}

#[test]
fn bad_query_exits_2_naming_the_position() {
    let file = fixtures()
        .map(|f| f[0].clone())
        .unwrap_or_else(|| "Cargo.toml".into());
    for (q, expected) in [
        (
            "{ resource.service.name = }",
            "parse error at line 1, col 27: syntax error: unexpected }",
        ),
        (
            "{ } | bogus()",
            "parse error at line 1, col 7: syntax error: unexpected IDENTIFIER",
        ),
        (
            "{ } | rate()",
            "parse error at line 1, col 7: unsupported: metrics functions",
        ),
    ] {
        let out = run(&[q, &file]);
        assert_eq!(out.status.code(), Some(2), "{q}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{q}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn unreadable_file_exits_2() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-file.json");
    let out = run(&["{}", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-file.json"), "{stderr}");

    let junk = Path::new(env!("CARGO_TARGET_TMPDIR")).join("junk.json");
    std::fs::write(&junk, b"this is not a trace").unwrap();
    let out = run(&["{}", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("junk.json"));
}
