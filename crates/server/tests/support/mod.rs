//! Test support for the in-process API tests: an app over a fresh SQLite store in a temporary
//! directory, loaded with the shared OTLP fixtures (read in place from `shared/`), and a
//! one-request helper built on `tower::ServiceExt::oneshot`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use spanlens_server::config::Config;
use spanlens_server::state::AppState;
use spanlens_server::store::sqlite::SqliteStore;
use spanlens_server::store::{TraceStore, DEFAULT_TENANT};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

/// `shared/tempo-api/` next to the repository.
pub fn tempo_api_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/tempo-api"))
}

/// The four traces the OpenTelemetry SDK sent to the recorded Tempo, as OTLP JSON.
pub fn client_otlp_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tempo_api_dir().join("client_otlp"))
        .expect("client_otlp dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// An app over a fresh store; the temporary directory lives as long as the returned guard.
pub struct TestApp {
    pub app: Router,
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

/// A fresh app (single-tenant unless `multitenant`), with nothing stored.
pub fn empty_app(multitenant: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    let mut config = Config::for_data_dir(dir.path());
    config.multitenant = multitenant;
    let state = AppState::new(store.clone(), config);
    TestApp {
        app: spanlens_server::app(state.clone()),
        store,
        state,
        _dir: dir,
    }
}

/// Stores every client_otlp fixture for `tenant`.
pub fn load_fixtures(store: &SqliteStore, tenant: &str) {
    for file in client_otlp_files() {
        let bytes = std::fs::read(&file).expect("read fixture");
        let set = spanlens_core::formats::read(&bytes, None).expect("parse fixture");
        store.append(tenant, &set).expect("append");
    }
}

/// A single-tenant app with the four fixture traces stored.
pub fn fixture_app() -> TestApp {
    let t = empty_app(false);
    load_fixtures(&t.store, DEFAULT_TENANT);
    t
}

/// An answer: status, content type (empty when absent) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends one request through the app in process.
pub async fn request(app: &Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut builder = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(builder.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

/// `GET uri` without headers.
pub async fn get(app: &Router, uri: &str) -> Answer {
    request(app, "GET", uri, &[]).await
}
