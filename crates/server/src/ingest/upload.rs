//! `POST /api/upload`: the SPA's "share this file". The body is a trace file in any format the
//! core reads (OTLP JSON/protobuf, Tempo JSON, Jaeger, Zipkin; gzip-compressed or not, by
//! `Content-Encoding` or by content), optionally `?format=otlp_json` to skip detection. The
//! spans are redacted and stored like OTLP ingest; the answer lists each trace with its
//! permalink (`/trace/{id}?source=server`).
//!
//! Errors: 400 text/plain with the reader's reason, 413 over `--max-upload-bytes`, 401 `no org
//! id` in multi-tenant mode without `X-Scope-OrgID`.

use crate::api::error::ApiError;
use crate::ingest::http::{read_body, BodyError};
use crate::ingest::store_batch;
use crate::state::{AppState, TenantError};
use crate::store::set_to_otlp;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use spanlens_core::formats::{self, Format};
use std::io::Read;
use std::sync::atomic::Ordering;

/// Query parameters of an upload.
#[derive(Debug, Default, Deserialize)]
pub struct UploadParams {
    /// Format name (`otlp_json`, `otlp_proto`, `jaeger_json`, `zipkin_json`); detected when absent.
    pub format: Option<String>,
}

/// One stored trace.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UploadedTrace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// Permalink of the trace in the web app.
    pub url: String,
    pub span_count: u64,
    pub root_service_name: String,
    pub root_trace_name: String,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UploadResponse {
    pub format: String,
    pub traces: Vec<UploadedTrace>,
    pub spans_stored: u64,
    pub spans_rejected: u64,
    /// Problems the reader reported (skipped or repaired spans), one line each.
    pub warnings: Vec<String>,
}

/// Undoes gzip when the body is a gzip file.
fn maybe_gunzip(bytes: bytes::Bytes, limit: usize) -> Result<bytes::Bytes, ApiError> {
    if bytes.len() < 2 || bytes.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_ref())
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("gzip: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "upload too large: the limit is {limit} bytes"
        )));
    }
    Ok(bytes::Bytes::from(out))
}

/// `POST /api/upload`.
pub async fn upload(
    State(state): State<AppState>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadResponse>, ApiError> {
    let tenant = state.ingest_tenant(&headers).map_err(|e| match e {
        TenantError::Missing => ApiError::NoOrgId,
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let format = match params.format.as_deref().filter(|f| !f.is_empty()) {
        Some(name) => Some(Format::parse(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown format {name:?}: expected otlp_json, otlp_proto, jaeger_json or zipkin_json"
            ))
        })?),
        None => None,
    };
    let limit = state.config.max_upload_bytes;
    let bytes = read_body(&headers, body, limit).await.map_err(|e| match e {
        BodyError::TooLarge(limit) => {
            ApiError::PayloadTooLarge(format!("upload too large: the limit is {limit} bytes"))
        }
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let bytes = maybe_gunzip(bytes, limit)?;
    let worker = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut builder = spanlens_core::model::TraceSetBuilder::new();
        let summary = formats::read_into(&mut builder, &bytes, format, None)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let set = builder.finish();
        let warnings: Vec<String> = set
            .diagnostics
            .examples
            .iter()
            .take(20)
            .map(|ex| ex.message.clone())
            .collect();
        let data = set_to_otlp(&set).map_err(|e| ApiError::Internal(e.to_string()))?;
        let outcome =
            store_batch(&worker, &tenant, data).map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let mut traces = Vec::new();
        for (i, trace) in set.traces().iter().enumerate() {
            let hex = trace.trace_id.to_hex();
            let (root_service, root_name) = u32::try_from(i)
                .ok()
                .and_then(|_| set.root_of(trace))
                .and_then(|r| set.span(r))
                .map(|s| (set.service_name(s).to_string(), set.name(s).to_string()))
                .unwrap_or_default();
            traces.push(UploadedTrace {
                url: format!("/trace/{hex}?source=server"),
                trace_id: hex,
                span_count: u64::from(trace.spans.len),
                root_service_name: root_service,
                root_trace_name: root_name,
            });
        }
        Ok::<_, ApiError>(UploadResponse {
            format: summary.format.as_str().to_string(),
            traces,
            spans_stored: outcome.spans_stored,
            spans_rejected: outcome.spans_rejected + set.diagnostics.spans_skipped,
            warnings,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("upload worker failed: {e}")))??;
    state.metrics.uploads.fetch_add(1, Ordering::Relaxed);
    Ok(Json(result))
}
