//! Serving the built web app: files with the right MIME type and cache headers, client-route
//! fallback to index.html, gzip, no path traversal (`..`, encoded dots, symlinks out of dist).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use spanlens_server::app;
use tower::ServiceExt;

async fn get(
    state: &spanlens_server::state::AppState,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (
        status,
        headers,
        resp.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn serves_dist_with_fallback_mime_cache_and_no_traversal() {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>spanlens</title>").unwrap();
    std::fs::write(
        dist.join("spanlens-web-0123abcd4567ef89_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(
        dist.join("assets/app-9f8e7d6c5b4a.js"),
        "console.log('x');\n".repeat(200),
    )
    .unwrap();
    std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.path().join("secret.txt"), dist.join("link.txt")).unwrap();
    let data = root.path().join("data");
    let state = state_in(&data, |c| c.dist_dir = Some(dist.clone()));

    let (status, h, body) = get(&state, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["content-security-policy"], "frame-ancestors 'self'");
    assert!(String::from_utf8(body).unwrap().contains("spanlens"));

    for route in [
        "/trace/0123456789abcdef0123456789abcdef",
        "/search",
        "/trace/abc?source=server",
    ] {
        let (status, h, _) = get(&state, route, &[]).await;
        assert_eq!(status, StatusCode::OK, "{route}");
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{route}");
    }

    let (status, h, body) = get(&state, "/spanlens-web-0123abcd4567ef89_bg.wasm", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "application/wasm");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(&body[..4], b"\0asm");

    let (status, h, body) = get(
        &state,
        "/assets/app-9f8e7d6c5b4a.js",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-encoding"], "gzip");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(body.len() < 1000);

    for bad in [
        "/missing.js",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/link.txt",
        "/.hidden",
    ] {
        let (status, _, body) = get(&state, bad, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(!String::from_utf8_lossy(&body).contains("top secret"), "{bad}");
    }
    // An API miss is a plain 404, never the app.
    let (status, h, _) = get(&state, "/api/does-not-exist", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!h["content-type"].to_str().unwrap().contains("html"));
}

#[tokio::test]
async fn without_dist_the_root_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path(), |c| c.dist_dir = None);
    let (status, _, body) = get(&state, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("--dist"));
    assert_eq!(get(&state, "/trace/abc", &[]).await.0, StatusCode::NOT_FOUND);
}
