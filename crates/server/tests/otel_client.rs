//! A real OpenTelemetry client: the Python SDK's OTLP/HTTP and OTLP/gRPC exporters
//! (`tests/otel_client/export.py`) send traces to a running `spanlens serve`; every span is
//! then read back through the Tempo API (`GET /api/traces/{id}`) and from the store, with the
//! sensitive attributes redacted.
//!
//! Needs python3 with `opentelemetry-sdk`, `opentelemetry-exporter-otlp-proto-http` and
//! `opentelemetry-exporter-otlp-proto-grpc` (CI installs them). Without them the test fails,
//! unless `SPANLENS_SKIP_OTEL_CLIENT=1` is set, in which case it says loudly that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use spanlens_core::model::TraceId;
use spanlens_server::store::sqlite::SqliteStore;
use spanlens_server::store::{TraceStore, DEFAULT_TENANT};
use std::process::Command;

fn python_has_otel() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc",
        ])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn python_sdk_exports_over_http_and_grpc() {
    if !python_has_otel() {
        if std::env::var("SPANLENS_SKIP_OTEL_CLIENT").is_ok_and(|v| v == "1") {
            eprintln!(
                "\n!!! SKIPPED otel_client: python3 OpenTelemetry SDK/exporters are not installed !!!\n"
            );
            return;
        }
        panic!(
            "python3 with opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http and \
             opentelemetry-exporter-otlp-proto-grpc is required (pip install them), \
             or set SPANLENS_SKIP_OTEL_CLIENT=1 to skip"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--auth-token", "otel-test-token"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/otel_client/export.py");
    let output = Command::new("python3")
        .arg(script)
        .arg("--http-endpoint")
        .arg(format!("http://127.0.0.1:{}/v1/traces", server.otlp_http))
        .arg("--grpc-endpoint")
        .arg(format!("http://127.0.0.1:{}", server.otlp_grpc))
        .arg("--token")
        .arg("otel-test-token")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "exporter script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut ids = Vec::new();
    for transport in ["http", "grpc"] {
        let r = &report[transport];
        assert_eq!(
            r["ok"],
            true,
            "{transport} export failed: {report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(r["spans"], 20);
        for id in r["trace_ids"].as_array().unwrap() {
            ids.push((transport, id.as_str().unwrap().to_string()));
        }
    }
    assert_eq!(ids.len(), 10);

    // Through the API: every trace, 4 spans, the right service, redacted.
    for (transport, id) in &ids {
        let (status, body) = http_request(
            server.http,
            "GET",
            &format!("/api/traces/{id}"),
            &[("Authorization", "Bearer otel-test-token")],
            &[],
        )
        .unwrap();
        assert_eq!(
            status,
            200,
            "{transport} trace {id}: {}",
            String::from_utf8_lossy(&body)
        );
        let set = spanlens_core::formats::read(&body, None).unwrap();
        assert_eq!(set.span_count(), 4, "{transport} trace {id}");
        let span = &set.spans()[0];
        assert_eq!(set.service_name(span), format!("otel-{transport}-client"));
    }
    let status = server.terminate();
    assert!(status.success());

    // From the store: the SDK's attributes arrived, sensitive ones redacted.
    let store = SqliteStore::open(dir.path()).unwrap();
    let tenants = [DEFAULT_TENANT.to_string()];
    for (transport, id) in &ids {
        let t = store
            .get_trace(&tenants, TraceId::from_hex(id).unwrap(), None)
            .unwrap()
            .unwrap_or_else(|| panic!("{transport} trace {id} not stored"));
        let set = &t.set;
        assert_eq!(set.span_count(), 4);
        for span in set.spans() {
            for key in ["http.request.header.authorization", "db.password"] {
                if let Some(v) = set.span_attr_text(span, key) {
                    assert_eq!(v, "[REDACTED]", "{key} on {}", set.name(span));
                }
            }
        }
        assert!(set
            .spans()
            .iter()
            .any(|s| set.name(s) == "chat gpt-4o"
                && set.span_attr_text(s, "gen_ai.usage.input_tokens").is_some()));
    }
}
