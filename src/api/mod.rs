//! A typed client for the Tempo HTTP API (our server or a real Tempo): trace by id (v2, falling
//! back to v1 on 404), search, tag names and values, and `POST /api/upload` on spanlens.
//! Requests carry `X-Scope-OrgID` and a bearer token when configured.
//!
//! Responses that are traces go to the worker as bytes (the core reads them); only the small
//! search/tag envelopes are decoded here. Not here: building TraceQL or reading trace formats.

use crate::state::TempoSettings;
use crate::tag_suggestions::TypedValue;
use js_sys::Uint8Array;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

/// An HTTP failure, with the status when there was a response.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

fn js_err(e: wasm_bindgen::JsValue) -> ApiError {
    ApiError {
        status: None,
        message: e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}")),
    }
}

fn url(settings: &TempoSettings, path: &str) -> String {
    format!("{}{}", settings.base_url.trim().trim_end_matches('/'), path)
}

async fn request(
    settings: &TempoSettings,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: Option<&str>,
) -> Result<(u16, Vec<u8>), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(js_err)?;
    headers.set("Accept", "application/json").map_err(js_err)?;
    if !settings.tenant.trim().is_empty() {
        headers
            .set("X-Scope-OrgID", settings.tenant.trim())
            .map_err(js_err)?;
    }
    if !settings.token.trim().is_empty() {
        headers
            .set("Authorization", &format!("Bearer {}", settings.token.trim()))
            .map_err(js_err)?;
    }
    if let Some(ct) = content_type {
        headers.set("Content-Type", ct).map_err(js_err)?;
    }
    init.set_headers(&headers);
    if let Some(body) = body {
        init.set_body(&Uint8Array::from(body));
    }
    let req = Request::new_with_str_and_init(&url(settings, path), &init).map_err(js_err)?;
    let resp = JsFuture::from(leptos::prelude::window().fetch_with_request(&req))
        .await
        .map_err(|e| ApiError {
            status: None,
            message: format!("cannot reach {}: {}", url(settings, path), js_err(e).message),
        })?;
    let resp: Response = resp.dyn_into().map_err(js_err)?;
    let buf = JsFuture::from(resp.array_buffer().map_err(js_err)?)
        .await
        .map_err(js_err)?;
    Ok((resp.status(), Uint8Array::new(&buf).to_vec()))
}

async fn get_ok(settings: &TempoSettings, path: &str) -> Result<Vec<u8>, ApiError> {
    let (status, body) = request(settings, "GET", path, None, None).await?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(ApiError {
            status: Some(status),
            message: String::from_utf8_lossy(&body).trim().chars().take(300).collect(),
        })
    }
}

fn range_query(start: Option<i64>, end: Option<i64>) -> String {
    let mut q = Vec::new();
    if let Some(s) = start {
        q.push(format!("start={s}"));
    }
    if let Some(e) = end {
        q.push(format!("end={e}"));
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// Trace by id: `/api/v2/traces/{id}`, then `/api/traces/{id}` when v2 answers 404. Returns the
/// body for the core to read.
pub async fn trace_by_id(
    settings: &TempoSettings,
    id: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<Vec<u8>, ApiError> {
    let q = range_query(start, end);
    match get_ok(settings, &format!("/api/v2/traces/{id}{q}")).await {
        Err(ApiError {
            status: Some(404), ..
        }) => get_ok(settings, &format!("/api/traces/{id}{q}")).await,
        other => other,
    }
}

/// One search hit.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchHit {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub root_service_name: String,
    pub root_trace_name: String,
    pub start_time_unix_nano: String,
    pub duration_ms: Option<f64>,
    pub service_stats: Option<std::collections::BTreeMap<String, ServiceStats>>,
}

/// Per-service counts of a search hit.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceStats {
    pub span_count: u32,
    pub error_count: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchResponse {
    traces: Vec<SearchHit>,
}

/// `/api/search` with an already-built query string (`q=…&start=…`).
pub async fn search(settings: &TempoSettings, query: &str) -> Result<Vec<SearchHit>, ApiError> {
    let body = get_ok(settings, &format!("/api/search?{query}")).await?;
    serde_json::from_slice::<SearchResponse>(&body)
        .map(|r| r.traces)
        .map_err(|e| ApiError {
            status: None,
            message: format!("unexpected search response: {e}"),
        })
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TagValues {
    tag_values: Vec<String>,
}

/// `/api/search/tag/{tag}/values`: values of one attribute.
pub async fn tag_values(settings: &TempoSettings, tag: &str) -> Result<Vec<String>, ApiError> {
    let body = get_ok(
        settings,
        &format!("/api/search/tag/{}/values", crate::routes::encode(tag)),
    )
    .await?;
    Ok(serde_json::from_slice::<TagValues>(&body)
        .unwrap_or_default()
        .tag_values)
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TypedTagValues {
    tag_values: Vec<TypedValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TagScope {
    name: String,
    tags: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScopedTags {
    scopes: Vec<TagScope>,
}

/// `/api/v2/search/tags`: attribute names as TraceQL writes them (`span.http.method`,
/// `resource.service.name`), sorted; intrinsics left out (the builder has fields for them).
pub async fn scoped_tag_names(settings: &TempoSettings) -> Result<Vec<String>, ApiError> {
    let body = get_ok(settings, "/api/v2/search/tags").await?;
    let parsed = serde_json::from_slice::<ScopedTags>(&body).map_err(|e| ApiError {
        status: None,
        message: format!("unexpected tags response: {e}"),
    })?;
    let mut names: Vec<String> = parsed
        .scopes
        .into_iter()
        .filter(|s| s.name != "intrinsic")
        .flat_map(|s| {
            let scope = s.name;
            s.tags.into_iter().map(move |t| format!("{scope}.{t}"))
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// `/api/v2/search/tag/{tag}/values`: typed values of one scoped attribute.
pub async fn typed_tag_values(settings: &TempoSettings, tag: &str) -> Result<Vec<TypedValue>, ApiError> {
    let body = get_ok(
        settings,
        &format!("/api/v2/search/tag/{}/values", crate::routes::encode(tag)),
    )
    .await?;
    serde_json::from_slice::<TypedTagValues>(&body)
        .map(|v| v.tag_values)
        .map_err(|e| ApiError {
            status: None,
            message: format!("unexpected tag values response: {e}"),
        })
}

/// `POST /api/upload` of one file to the spanlens server. Returns the response body.
pub async fn upload(settings: &TempoSettings, bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let (status, body) = request(
        settings,
        "POST",
        "/api/upload",
        Some(bytes),
        Some("application/json"),
    )
    .await?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(ApiError {
            status: Some(status),
            message: String::from_utf8_lossy(&body).trim().chars().take(300).collect(),
        })
    }
}

/// A plain GET of a static file next to the app (the demo traces).
pub async fn fetch_static(settings: &TempoSettings, path: &str) -> Result<Vec<u8>, ApiError> {
    get_ok(settings, path).await
}

/// TraceQL metrics over a time range: `GET /api/metrics/query_range` (Tempo with TraceQL
/// metrics, or spanlens). `start`/`end` in Unix seconds, `step_secs` the step.
pub async fn metrics_query_range(
    settings: &TempoSettings,
    query: &str,
    start: i64,
    end: i64,
    step_secs: i64,
) -> Result<spanlens_core::tempo_api::QueryRangeResponse, ApiError> {
    let path = format!(
        "/api/metrics/query_range?q={}&start={start}&end={end}&step={step_secs}s",
        crate::routes::encode(query)
    );
    let body = get_ok(settings, &path).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError {
        status: None,
        message: format!("not a query_range response: {e}"),
    })
}
