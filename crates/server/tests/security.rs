//! Security and the Tempo-cluster mode: query tokens, the CORS allow-list, the configurable
//! CSP `frame-ancestors`, and `--tempo-url` / `--forward-otlp` against a fake upstream.
//!
//! No real Tempo can run in these tests, so a tiny HTTP server on loopback stands in for it
//! (a test double of an external system): it records what it receives and answers canned
//! bodies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use spanlens_server::app;
use spanlens_server::state::AppState;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (
        status,
        headers,
        resp.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn query_token_cors_and_frame_ancestors() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| {
        c.query_token = Some("q".to_string());
        c.cors_origins = vec!["https://grafana.example".to_string()];
        c.frame_ancestors = "'self' https://grafana.example".to_string();
    });
    // Queries need the token; /ready and the app do not.
    let (status, h, _) = call(&state, Request::get("/api/search").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h["www-authenticate"], "Bearer");
    let req = Request::get("/api/search")
        .header("authorization", "Bearer q")
        .body(Body::empty())
        .unwrap();
    assert_ne!(call(&state, req).await.0, StatusCode::UNAUTHORIZED);
    let req = Request::get("/metrics")
        .header("authorization", "Bearer wrong")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&state, req).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&state, Request::get("/ready").body(Body::empty()).unwrap())
            .await
            .0,
        StatusCode::OK
    );

    // CSP on every answer.
    let (_, h, _) = call(&state, Request::get("/ready").body(Body::empty()).unwrap()).await;
    assert_eq!(
        h["content-security-policy"],
        "frame-ancestors 'self' https://grafana.example"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");

    // CORS: the allowed origin gets the header (preflight too), another origin does not.
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/api/search")
        .header("origin", "https://grafana.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap();
    let (status, h, _) = call(&state, preflight).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(h["access-control-allow-origin"], "https://grafana.example");
    let req = Request::get("/ready")
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let (_, h, _) = call(&state, req).await;
    assert!(h.get("access-control-allow-origin").is_none());
}

/// One request the fake upstream received: URI, headers, body.
type Received = (String, HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<Received>>>,
}

/// The fake upstream: records requests; answers `/api/traces/...` with a canned body.
async fn fake_upstream() -> (u16, Seen) {
    let seen = Seen::default();
    let recorder = seen.clone();
    let router = axum::Router::new().fallback(move |req: Request<Body>| {
        let recorder = recorder.clone();
        async move {
            let uri = req.uri().to_string();
            let headers = req.headers().clone();
            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
            recorder.requests.lock().unwrap().push((uri.clone(), headers, body));
            if uri.starts_with("/api/traces/") {
                (StatusCode::OK, [("content-type", "application/json")], "{\"batches\":[]}".to_string())
            } else if uri.starts_with("/api/search?") {
                let body = r#"{"traces":[{"traceID":"2f3e0cf1c5b4a1","rootServiceName":"gw","rootTraceName":"GET /",
                    "startTimeUnixNano":"1700000000000000000","durationMs":12}],"metrics":{}}"#;
                (StatusCode::OK, [("content-type", "application/json")], body.to_string())
            } else if uri.starts_with("/api/v2/search/tags") {
                let body = r#"{"scopes":[{"name":"span","tags":["http.route"]},{"name":"intrinsic","tags":["name"]}]}"#;
                (StatusCode::OK, [("content-type", "application/json")], body.to_string())
            } else {
                (StatusCode::OK, [("content-type", "text/plain")], String::new())
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (port, seen)
}

#[tokio::test]
async fn tempo_url_proxies_queries_with_tenant_and_auth() {
    let (port, seen) = fake_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| {
        c.tempo_url = Some(format!("http://127.0.0.1:{port}"))
    });
    let req = Request::get("/api/traces/abc123?start=1&end=2")
        .header("x-scope-orgid", "team-a")
        .header("authorization", "Basic dTpw")
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, h, body) = call(&state, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(body, b"{\"batches\":[]}");
    let requests = seen.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (uri, headers, _) = &requests[0];
    assert_eq!(uri, "/api/traces/abc123?start=1&end=2");
    assert_eq!(headers["x-scope-orgid"], "team-a");
    assert_eq!(headers["authorization"], "Basic dTpw");
    // Non-Tempo paths stay local.
    assert_eq!(
        call(&state, Request::get("/ready").body(Body::empty()).unwrap())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(seen.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn tempo_url_unreachable_is_502() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| {
        c.tempo_url = Some(format!("http://127.0.0.1:{port}"))
    });
    let (status, _, _) = call(&state, Request::get("/api/search").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn forward_otlp_sends_redacted_batches_on() {
    let (port, seen) = fake_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = state_in(dir.path(), |c| {
        c.forward_otlp = Some(format!("http://127.0.0.1:{port}"));
        c.multitenant = true;
    });
    state.forwarder = spanlens_server::store::tempo::forwarder_for(&state).unwrap();
    let id = trace_id(1);
    let body =
        prost::Message::encode_to_vec(&batch("svc", vec![span(&id, 0, "r", vec![kv("password", "pw")])]));
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("x-scope-orgid", "team-a")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(call(&state, req).await.0, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.requests.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing forwarded");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (uri, headers, body) = seen.requests.lock().unwrap()[0].clone();
    assert_eq!(uri, "/v1/traces");
    assert_eq!(headers["x-scope-orgid"], "team-a");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let set = spanlens_core::formats::read(&body, None).unwrap();
    assert_eq!(
        set.span_attr_text(&set.spans()[0], "password").as_deref(),
        Some("[REDACTED]")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempo_store_reads_search_and_tags_from_tempo() {
    use spanlens_server::store::tempo::TempoStore;
    use spanlens_server::store::{TagScope, TraceFilter, TraceStore};
    let (port, seen) = fake_upstream().await;
    let store = TempoStore::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let (found, names) = tokio::task::spawn_blocking(move || {
        let filter = TraceFilter {
            service: Some("gw".to_string()),
            min_duration_nanos: Some(5_000_000),
            limit: 5,
            ..TraceFilter::default()
        };
        let tenants = vec!["a".to_string(), "b".to_string()];
        (
            store.find_traces(&tenants, &filter).unwrap(),
            store.tag_names(&tenants, None).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].trace_id.to_hex(),
        "000000000000000000002f3e0cf1c5b4a1"[2..].to_string()
    );
    assert_eq!(found[0].root_service, "gw");
    assert_eq!(found[0].end_unix_nanos - found[0].start_unix_nanos, 12_000_000);
    assert_eq!(names, vec![(TagScope::Span, "http.route".to_string())]);
    let requests = seen.requests.lock().unwrap().clone();
    let (uri, headers, _) = &requests[0];
    assert!(
        uri.starts_with("/api/search?limit=5&tags=service.name%3Dgw&minDuration=5000000ns"),
        "{uri}"
    );
    assert_eq!(headers["x-scope-orgid"], "a|b");
}
