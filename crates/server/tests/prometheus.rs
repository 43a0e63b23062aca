//! In-process test of `GET /metrics`: the server's own series and the span-metrics and
//! service-graph series under Tempo's names and labels, over the four shared fixtures.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use support::{empty_app, fixture_app, get, request};

/// A window reaching back to the 2026 fixtures for years to come.
const WIDE: &str = "window=87600h";

fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn exposition_has_own_and_tempo_series() {
    let t = fixture_app();
    t.state.metrics.spans_received.store(7, Ordering::Relaxed);
    let a = get(&t.app, &format!("/metrics?{WIDE}")).await;
    assert_eq!(a.status.as_u16(), 200);
    assert_eq!(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = a.text();
    assert_eq!(value_of(&text, "spanlens_spans_received_total"), Some(7.0));
    assert_eq!(value_of(&text, "spanlens_store_traces"), Some(4.0));
    assert_eq!(value_of(&text, "spanlens_store_spans"), Some(40.0));
    assert!(text.contains("spanlens_ingest_requests_total{protocol=\"http\"} "));
    assert!(text.contains("spanlens_ingest_request_duration_seconds_bucket{le=\"+Inf\"} "));
    for name in [
        "traces_spanmetrics_calls_total{",
        "traces_spanmetrics_latency_bucket{",
        "traces_spanmetrics_latency_sum{",
        "traces_spanmetrics_latency_count{",
        "traces_service_graph_request_total{",
        "traces_service_graph_request_failed_total{",
        "traces_service_graph_request_server_seconds_bucket{",
        "traces_service_graph_request_client_seconds_bucket{",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    assert!(text.contains(r#"traces_spanmetrics_calls_total{service="api-gateway",span_name="POST /v1/chat",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_"#));
    assert!(text.contains(r#"connection_type="database""#));
    assert!(text.contains(r#"le="+Inf""#));
    assert!(
        text.contains(r#"le="0.002""#),
        "span-metrics buckets start at 2 ms"
    );
    // Calls add up to every stored span.
    let calls: f64 = text
        .lines()
        .filter(|l| l.starts_with("traces_spanmetrics_calls_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(calls, 40.0);
    // Every sample line has a HELP/TYPE'd family and parses as `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn default_window_and_errors() {
    let t = empty_app(false);
    let a = get(&t.app, "/metrics").await;
    assert_eq!(a.status.as_u16(), 200);
    assert!(a.text().contains("# TYPE traces_spanmetrics_calls_total gauge"));
    let a = get(&t.app, "/metrics?window=abc").await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (400, "invalid window: time: invalid duration \"abc\"")
    );
    // Multi-tenant without an org id: only the server's own series.
    let t = empty_app(true);
    let a = get(&t.app, "/metrics").await;
    assert_eq!(a.status.as_u16(), 200);
    assert!(!a.text().contains("traces_spanmetrics_calls_total"));
    let a = request(&t.app, "GET", "/metrics", &[("X-Scope-OrgID", "a")]).await;
    assert!(a.text().contains("traces_spanmetrics_calls_total"));
}
