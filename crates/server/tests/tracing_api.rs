//! In-process tests of the analysis endpoints (`/api/tracing/...`) over the four shared OTLP
//! fixtures, with an explicit window around them (their times are fixed in 2026).

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{empty_app, fixture_app, get, request};

const WINDOW: &str = "start=1795247220&end=1795247541";

#[tokio::test]
async fn status_reports_store_and_window() {
    let t = fixture_app();
    let a = get(&t.app, &format!("/api/tracing/status?{WINDOW}")).await;
    assert_eq!(
        (a.status.as_u16(), a.content_type.as_str()),
        (200, "application/json")
    );
    let v = a.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["store"]["traces"], 4);
    assert_eq!(v["store"]["spans"], 40);
    assert_eq!(v["in_window"]["traces"], 4);
    assert_eq!(v["in_window"]["spans"], 40);
    assert_eq!(v["window"]["start_unix_nanos"], 1_795_247_220_000_000_000u64);
    assert!(v["ingest"]["spans_received"].is_u64());
    // Default window (last hour) holds none of the 2026 fixtures unless run that morning.
    let v = get(&t.app, "/api/tracing/status?since=1s").await.json();
    assert_eq!(v["in_window"]["traces"], 0);
}

#[tokio::test]
async fn health_grades_and_reasons() {
    let t = fixture_app();
    let v = get(&t.app, &format!("/api/tracing/health?{WINDOW}")).await.json();
    let status = v["status"].as_str().unwrap_or("");
    assert!(["healthy", "degraded", "unhealthy"].contains(&status), "{status}");
    assert_eq!(v["spans"], 40);
    assert!(v["errors"].as_u64().unwrap_or(0) > 0);
    assert!(v["grade"].is_string());
    assert_eq!(v["services"].as_array().map(Vec::len), Some(5));
    assert!(v["reasons"].is_array());
    // Fixture error rate is over 20%: unhealthy, and the reason says so.
    if status == "unhealthy" {
        assert!(!v["reasons"].as_array().map(Vec::is_empty).unwrap_or(true));
    }
    let empty = empty_app(false);
    let v = get(&empty.app, "/api/tracing/health").await.json();
    assert_eq!(v["status"], "no_data");
}

#[tokio::test]
async fn performance_summary_has_percentiles() {
    let t = fixture_app();
    let v = get(&t.app, &format!("/api/tracing/performance/summary?{WINDOW}"))
        .await
        .json();
    assert_eq!(v["trace_count"], 4);
    assert_eq!(v["span_count"], 40);
    for k in ["p50_ms", "p95_ms", "p99_ms"] {
        assert!(v["trace_latency"][k].as_f64().unwrap_or(-1.0) > 0.0, "{k}");
    }
    let ops = v["operations"].as_array().cloned().unwrap_or_default();
    assert!(!ops.is_empty());
    let op = &ops[0];
    for k in [
        "service",
        "operation",
        "category",
        "grade",
        "calls",
        "errors",
        "error_rate",
        "latency",
    ] {
        assert!(op.get(k).is_some(), "{k}");
    }
    assert!(v["slowest_operations"]
        .as_array()
        .map(|l| l.len() <= 10)
        .unwrap_or(false));
}

#[tokio::test]
async fn bottlenecks_with_threshold() {
    let t = fixture_app();
    let v = get(&t.app, &format!("/api/tracing/performance/bottlenecks?{WINDOW}"))
        .await
        .json();
    let all = v["bottlenecks"].as_array().cloned().unwrap_or_default();
    assert_eq!(v["count"].as_u64(), Some(all.len() as u64));
    let impacts: Vec<f64> = all.iter().filter_map(|b| b["impact"].as_f64()).collect();
    assert!(impacts.windows(2).all(|w| w[0] >= w[1]), "highest impact first");
    for b in &all {
        assert!(["alert", "critical"].contains(&b["severity"].as_str().unwrap_or("")));
        assert!(b["recommendations"].is_array());
    }
    let v = get(
        &t.app,
        &format!("/api/tracing/performance/bottlenecks?{WINDOW}&threshold_ms=1000000"),
    )
    .await
    .json();
    assert_eq!(v["count"], 0);
    let a = get(&t.app, "/api/tracing/performance/bottlenecks?threshold_ms=abc").await;
    assert_eq!(a.status.as_u16(), 400);
    assert!(a.text().contains("threshold_ms"));
}

#[tokio::test]
async fn operation_analysis_found_and_missing() {
    let t = fixture_app();
    let v = get(
        &t.app,
        &format!("/api/tracing/operations/POST%20%2Fv1%2Fchat/analysis?{WINDOW}"),
    )
    .await
    .json();
    assert_eq!(v["operation"], "POST /v1/chat");
    let services = v["services"].as_array().cloned().unwrap_or_default();
    assert!(services.iter().any(|s| s["service"] == "api-gateway"));
    assert!(v["span_metrics"]
        .as_array()
        .map(|l| !l.is_empty())
        .unwrap_or(false));
    let v = get(
        &t.app,
        &format!("/api/tracing/operations/POST%20%2Fv1%2Fchat/analysis?{WINDOW}&service=postgres"),
    )
    .await;
    assert_eq!(v.status.as_u16(), 404);
    let a = get(&t.app, &format!("/api/tracing/operations/nope/analysis?{WINDOW}")).await;
    assert_eq!(a.status.as_u16(), 404);
    assert!(a.json()["error"].as_str().unwrap_or("").contains("nope"));
}

#[tokio::test]
async fn trace_search_filters_and_errors() {
    let t = fixture_app();
    let v = get(&t.app, &format!("/api/tracing/traces/search?{WINDOW}"))
        .await
        .json();
    assert_eq!(v["count"], 4);
    let v = get(
        &t.app,
        &format!("/api/tracing/traces/search?{WINDOW}&service=qdrant"),
    )
    .await
    .json();
    assert_eq!(v["count"], 1);
    assert_eq!(v["traces"][0]["trace_id"], "2909406c2e416788f5ec52ed01088475");
    let v = get(
        &t.app,
        &format!("/api/tracing/traces/search?{WINDOW}&status=error"),
    )
    .await
    .json();
    assert!(v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["error_count"].as_u64().unwrap_or(0) > 0));
    let v = get(&t.app, &format!("/api/tracing/traces/search?{WINDOW}&status=ok"))
        .await
        .json();
    assert!(v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["error_count"] == 0));
    let v = get(
        &t.app,
        &format!("/api/tracing/traces/search?{WINDOW}&min_duration_ms=1000"),
    )
    .await
    .json();
    assert!(v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["duration_ms"].as_f64().unwrap_or(0.0) >= 1000.0));
    let v = get(&t.app, &format!("/api/tracing/traces/search?{WINDOW}&limit=1"))
        .await
        .json();
    assert_eq!(v["count"], 1);
    for uri in [
        "/api/tracing/traces/search?min_duration_ms=-1",
        "/api/tracing/traces/search?status=maybe",
        "/api/tracing/traces/search?limit=0",
        "/api/tracing/traces/search?start=x",
        "/api/tracing/status?start=20&end=10",
        "/api/tracing/health?since=abc",
    ] {
        assert_eq!(get(&t.app, uri).await.status.as_u16(), 400, "{uri}");
    }
}

#[tokio::test]
async fn analysis_endpoints_need_an_org_id_when_multitenant() {
    let t = empty_app(true);
    for uri in [
        "/api/tracing/status",
        "/api/tracing/health",
        "/api/tracing/performance/summary",
        "/api/tracing/performance/bottlenecks",
        "/api/tracing/operations/x/analysis",
        "/api/tracing/traces/search",
    ] {
        let a = get(&t.app, uri).await;
        assert_eq!(
            (a.status.as_u16(), a.text().as_str()),
            (401, "no org id"),
            "{uri}"
        );
        let a = request(&t.app, "GET", uri, &[("X-Scope-OrgID", "a")]).await;
        assert_ne!(a.status.as_u16(), 401, "{uri}");
    }
}
