//! OTLP ingest, in process (`tower::ServiceExt::oneshot` on `app(state)`): every success and
//! error path of `POST /v1/traces`, gRPC Export framing, upload, redaction, tenants, tokens,
//! the per-trace cap — and that the server keeps serving after each bad request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::model::TraceId;
use spanlens_server::app;
use spanlens_server::ingest::http::{RpcStatus, METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE};
use spanlens_server::state::AppState;
use spanlens_server::store::DEFAULT_TENANT;
use std::sync::atomic::Ordering;
use tower::ServiceExt;

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

fn post(ct: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/traces")
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap()
}

fn stored_spans(state: &AppState, seed: u64) -> usize {
    state
        .store
        .get_trace(&[DEFAULT_TENANT.to_string()], TraceId(trace_id(seed)), None)
        .unwrap()
        .map(|t| t.set.span_count())
        .unwrap_or(0)
}

async fn still_serving(state: &AppState, seed: u64) {
    let (status, _, body) = send(state, post("application/x-protobuf", trace_bytes(seed, 3))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, vec![0x0a, 0x00]);
    assert_eq!(stored_spans(state, seed), 3);
}

#[tokio::test]
async fn protobuf_json_and_gzip_are_stored_and_answered_like_tempo() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |_| {});

    // 096: protobuf → 200 application/x-protobuf, empty ExportTraceServiceResponse (0a 00).
    let (status, ct, body) = send(&state, post("application/x-protobuf", trace_bytes(1, 5))).await;
    assert_eq!(
        (status, ct.as_str(), body.as_slice()),
        (StatusCode::OK, "application/x-protobuf", &[0x0a, 0x00][..])
    );
    assert_eq!(stored_spans(&state, 1), 5);

    // 097: JSON → {"partialSuccess":{}}.
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"j"}}]},
        "scopeSpans":[{"spans":[{"traceId":"00000000000000020000000000000002","spanId":"0000000000000001",
        "name":"GET /","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000"}]}]}]}"#;
    let (status, ct, body) = send(&state, post("application/json", json.as_bytes().to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/json");
    assert_eq!(String::from_utf8(body).unwrap(), r#"{"partialSuccess":{}}"#);
    let mut id = [0u8; 16];
    id[7] = 2;
    id[15] = 2;
    let t = state
        .store
        .get_trace(&[DEFAULT_TENANT.to_string()], TraceId(id), None)
        .unwrap()
        .unwrap();
    assert_eq!(t.set.span_count(), 1);

    // gzip, with a charset parameter on the content type.
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf; charset=binary")
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(&trace_bytes(3, 4))))
        .unwrap();
    let (status, _, _) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored_spans(&state, 3), 4);

    // Spans of one trace over several requests are merged.
    let id4 = trace_id(4);
    for i in 0..3 {
        let b = batch("svc", vec![span(&id4, i, "s", vec![])]).encode_to_vec();
        assert_eq!(
            send(&state, post("application/x-protobuf", b)).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(stored_spans(&state, 4), 3);
    assert_eq!(state.metrics.spans_stored.load(Ordering::Relaxed), 5 + 1 + 4 + 3);
}

#[tokio::test]
async fn bad_input_gets_tempos_answers_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| c.max_body_bytes = 64 * 1024);

    // 098: garbage protobuf → 400 google.rpc.Status code 3.
    let (status, ct, body) = send(&state, post("application/x-protobuf", b"\x0fgarbage!!".to_vec())).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/x-protobuf")
    );
    let st = RpcStatus::decode(body.as_slice()).unwrap();
    assert_eq!(st.code, 3);
    assert!(st.message.starts_with("proto:"), "{}", st.message);
    still_serving(&state, 100).await;

    // Truncated protobuf.
    let full = trace_bytes(5, 10);
    let (status, _, body) = send(
        &state,
        post("application/x-protobuf", full[..full.len() / 2].to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(RpcStatus::decode(body.as_slice()).unwrap().code, 3);
    assert_eq!(stored_spans(&state, 5), 0);
    still_serving(&state, 101).await;

    // 099: bad JSON → 400 {"code":3,"message":...}.
    let (status, ct, body) = send(&state, post("application/json", b"{not json".to_vec())).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/json")
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], 3);
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    still_serving(&state, 102).await;

    // gzip garbage.
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(Body::from(b"definitely not gzip".to_vec()))
        .unwrap();
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(RpcStatus::decode(body.as_slice())
        .unwrap()
        .message
        .contains("gzip"));
    still_serving(&state, 103).await;

    // 100: wrong content type → 415, Tempo's text.
    let (status, ct, body) = send(&state, post("text/plain", b"hello".to_vec())).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain")
    );
    assert_eq!(String::from_utf8(body).unwrap(), UNSUPPORTED_MEDIA_TYPE);
    let req = Request::post("/v1/traces").body(Body::from("x")).unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // 101: GET (and other methods) → 405, Tempo's text.
    for method in ["GET", "PUT", "DELETE"] {
        let req = Request::builder()
            .method(method)
            .uri("/v1/traces")
            .body(Body::empty())
            .unwrap();
        let (status, ct, body) = send(&state, req).await;
        assert_eq!(
            (status, ct.as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, "text/plain")
        );
        assert_eq!(String::from_utf8(body).unwrap(), METHOD_NOT_ALLOWED);
    }

    // Oversized: by Content-Length, by streaming, and after decompression.
    let big = vec![0u8; 100 * 1024];
    let (status, _, body) = send(&state, post("application/x-protobuf", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let st = RpcStatus::decode(body.as_slice()).unwrap();
    assert!(st.message.contains("65536"), "{}", st.message);
    let stream = futures_like_stream(big.clone());
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .body(stream)
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let req = Request::post("/v1/traces")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(&vec![b' '; 1024 * 1024])))
        .unwrap();
    let (status, ct, body) = send(&state, req).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/json")
    );
    assert!(String::from_utf8(body).unwrap().contains("too large"));

    // Unknown content encoding.
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "br")
        .body(Body::from(trace_bytes(6, 1)))
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    still_serving(&state, 104).await;
    assert!(state.metrics.ingest_bad_requests.load(Ordering::Relaxed) >= 8);
}

/// A body delivered in chunks without a Content-Length.
fn futures_like_stream(bytes: Vec<u8>) -> Body {
    Body::new(Chunked(
        bytes.chunks(8192).map(bytes::Bytes::copy_from_slice).collect(),
    ))
}

struct Chunked(std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[tokio::test]
async fn partial_success_for_spans_with_bad_ids() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |_| {});
    let id = trace_id(7);
    let mut bad = span(&id, 1, "bad", vec![]);
    bad.trace_id = vec![1, 2, 3];
    let mut bad2 = span(&id, 2, "bad2", vec![]);
    bad2.span_id = vec![];
    let body = batch("svc", vec![span(&id, 0, "ok", vec![]), bad, bad2]).encode_to_vec();
    let (status, _, body) = send(&state, post("application/x-protobuf", body)).await;
    assert_eq!(status, StatusCode::OK);
    let resp = wire::ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    let partial = resp.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("2 spans rejected"),
        "{}",
        partial.error_message
    );
    assert_eq!(stored_spans(&state, 7), 1);

    // The same in JSON: rejectedSpans as a string, errorMessage.
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"00000000000000090000000000000009","spanId":"0000000000000001","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"},
        {"traceId":"00000000000000090000000000000009","name":"no span id","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
    let (status, _, body) = send(&state, post("application/json", json.as_bytes().to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "1", "{v}");
    assert!(v["partialSuccess"]["errorMessage"].is_string());
}

#[tokio::test]
async fn redaction_tenants_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| {
        c.multitenant = true;
        c.ingest_token = Some("in-tok".to_string());
        c.query_token = Some("q-tok".to_string());
    });
    let id = trace_id(10);
    let attrs = vec![
        kv("http.request.header.authorization", "Bearer secret-value"),
        kv("db.password", "hunter2"),
        kv("gen_ai.usage.input_tokens", "12"),
    ];
    let body = batch("svc", vec![span(&id, 0, "root", attrs)]).encode_to_vec();

    // No token → 401.
    let (status, _, _) = send(&state, post("application/x-protobuf", body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Token, no org id → 503 `no org id` (Tempo's distributor).
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer in-tok")
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, _, resp) = send(&state, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(RpcStatus::decode(resp.as_slice()).unwrap().message, "no org id");
    // Query token does not open ingest.
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer q-tok")
        .header("x-scope-orgid", "team-a")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::UNAUTHORIZED);
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer in-tok")
        .header("x-scope-orgid", "team-a")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::OK);

    let tid = TraceId(id);
    assert!(state
        .store
        .get_trace(&["team-b".to_string()], tid, None)
        .unwrap()
        .is_none());
    assert!(state
        .store
        .get_trace(&[DEFAULT_TENANT.to_string()], tid, None)
        .unwrap()
        .is_none());
    let t = state
        .store
        .get_trace(&["team-a".to_string()], tid, None)
        .unwrap()
        .unwrap();
    let s = &t.set.spans()[0];
    assert_eq!(
        t.set
            .span_attr_text(s, "http.request.header.authorization")
            .as_deref(),
        Some("[REDACTED]")
    );
    assert_eq!(
        t.set.span_attr_text(s, "db.password").as_deref(),
        Some("[REDACTED]")
    );
    assert_eq!(
        t.set.span_attr_text(s, "gen_ai.usage.input_tokens").as_deref(),
        Some("12")
    );
    assert_eq!(state.metrics.attributes_redacted.load(Ordering::Relaxed), 2);
    // a|b reads both tenants.
    let both = state
        .store
        .get_trace(&["team-a".to_string(), "team-b".to_string()], tid, None)
        .unwrap();
    assert!(both.is_some());
    // Redacted values never reach the tag index either.
    let values = state
        .store
        .tag_values(&["team-a".to_string()], None, "db.password", 10)
        .unwrap();
    assert_eq!(
        values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
        vec!["[REDACTED]"]
    );
}

#[tokio::test]
async fn oversized_trace_is_cut_and_partial() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| c.max_trace_bytes = 2_000);
    let id = trace_id(11);
    let mut rejected = 0;
    for i in 0..40 {
        let body = batch(
            "svc",
            vec![span(&id, i, "s", vec![kv("k", "some value to take space")])],
        )
        .encode_to_vec();
        let (status, _, body) = send(&state, post("application/x-protobuf", body)).await;
        assert_eq!(status, StatusCode::OK);
        let resp = wire::ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
        rejected += resp.partial_success.unwrap().rejected_spans;
    }
    assert!(rejected > 0);
    let t = state
        .store
        .get_trace(&[DEFAULT_TENANT.to_string()], TraceId(id), None)
        .unwrap()
        .unwrap();
    assert!(t.partial);
    assert_eq!(t.set.span_count() as i64 + rejected, 40);
}

#[tokio::test]
async fn upload_any_format_returns_permalinks() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |_| {});
    let zipkin = r#"[{"traceId":"00000000000000aa00000000000000bb","id":"0000000000000001","name":"get /x",
        "timestamp":1700000000000000,"duration":1500,"localEndpoint":{"serviceName":"zip"},
        "tags":{"password":"p4ss"}}]"#;
    let req = Request::post("/api/upload").body(Body::from(zipkin)).unwrap();
    let (status, ct, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(ct.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["format"], "zipkin_json");
    assert_eq!(v["traces"][0]["traceID"], "00000000000000aa00000000000000bb");
    assert_eq!(
        v["traces"][0]["url"],
        "/trace/00000000000000aa00000000000000bb?source=server"
    );
    assert_eq!(v["spansStored"], 1);
    let mut id = [0u8; 16];
    id[7] = 0xaa;
    id[15] = 0xbb;
    let t = state
        .store
        .get_trace(&[DEFAULT_TENANT.to_string()], TraceId(id), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        t.set.span_attr_text(&t.set.spans()[0], "password").as_deref(),
        Some("[REDACTED]")
    );

    // gzip file, protobuf inside.
    let req = Request::post("/api/upload")
        .body(Body::from(gzip(&trace_bytes(12, 3))))
        .unwrap();
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(stored_spans(&state, 12), 3);

    // Not a trace → 400 text with the reason; bad format name → 400.
    let req = Request::post("/api/upload").body(Body::from("hello")).unwrap();
    let (status, ct, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(ct.starts_with("text/plain"));
    assert!(String::from_utf8(body).unwrap().contains("not a trace"));
    let req = Request::post("/api/upload?format=bogus")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::BAD_REQUEST);
}

/// gRPC Export through the same router, framed by hand (length-prefixed message, trailers).
#[tokio::test]
async fn grpc_export_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |_| {});
    let msg = trace_bytes(13, 4);
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    framed.extend_from_slice(&msg);
    let req = Request::post("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(framed))
        .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let collected = resp.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let body = collected.to_bytes();
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.to_str().unwrap()),
        Some("0"),
        "{trailers:?}"
    );
    assert_eq!(body[0], 0);
    let resp = wire::ExportTraceServiceResponse::decode(&body[5..]).unwrap();
    assert_eq!(resp.partial_success.unwrap_or_default().rejected_spans, 0);
    assert_eq!(stored_spans(&state, 13), 4);

    // Garbage message → INVALID_ARGUMENT / INTERNAL from the codec, never a panic.
    let req = Request::post("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        .header("content-type", "application/grpc")
        .body(Body::from(vec![0u8, 0, 0, 0, 3, 0xff, 0xff, 0xff]))
        .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| "trailer".to_string());
    let collected = resp.into_body().collect().await.unwrap();
    let code = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or(status);
    assert_ne!(code, "0");
    still_serving(&state, 105).await;
}
