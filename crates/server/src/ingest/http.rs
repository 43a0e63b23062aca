//! OTLP/HTTP `POST /v1/traces`: protobuf (`application/x-protobuf`) and JSON
//! (`application/json`) bodies, optionally `Content-Encoding: gzip` (or `deflate`).
//!
//! Answers as Tempo's distributor does (recorded in `tempo-api/responses/096`–`101`): 200 with
//! an `ExportTraceServiceResponse` in the request's encoding (`partialSuccess` filled when
//! spans were refused); 400 with a `google.rpc.Status` (code 3, INVALID_ARGUMENT) for an
//! undecodable body; 415 and 405 as plain text; 413 with a `Status` (code 8) over the body
//! limit, checked on the compressed and on the decompressed size; 503 with a `Status` (code 14,
//! UNAVAILABLE, retryable per the OTLP spec) when the store fails or, in multi-tenant mode,
//! without `X-Scope-OrgID` (`no org id`).

use crate::ingest::{store_batch, IngestOutcome};
use crate::state::{AppState, TenantError};
use crate::store::set_to_otlp;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::formats::{self, Format};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The 415 body, as Tempo words it.
pub const UNSUPPORTED_MEDIA_TYPE: &str =
    "415 unsupported media type, supported: [application/json, application/x-protobuf]";
/// The 405 body, as Tempo words it.
pub const METHOD_NOT_ALLOWED: &str = "405 method not allowed, supported: [POST]";

/// `google.rpc.Status` (code, message; details are never sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC codes used in `Status` bodies.
pub const CODE_INVALID_ARGUMENT: i32 = 3;
pub const CODE_RESOURCE_EXHAUSTED: i32 = 8;
pub const CODE_UNAVAILABLE: i32 = 14;

/// The two OTLP/HTTP encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` header value (parameters ignored).
    pub fn from_content_type(value: Option<&str>) -> Option<Encoding> {
        let media = value?.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A `google.rpc.Status` answer in the request's encoding.
pub fn status_response(status: StatusCode, encoding: Encoding, code: i32, message: &str) -> Response {
    let body = match encoding {
        Encoding::Protobuf => RpcStatus {
            code,
            message: message.to_string(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
    };
    (status, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// The 200 answer: an `ExportTraceServiceResponse` with `partialSuccess`.
pub fn success_response(encoding: Encoding, outcome: &IngestOutcome) -> Response {
    let partial = wire::ExportTracePartialSuccess {
        rejected_spans: i64::try_from(outcome.spans_rejected).unwrap_or(i64::MAX),
        error_message: outcome.message.clone().unwrap_or_default(),
    };
    let body = match encoding {
        Encoding::Protobuf => wire::ExportTraceServiceResponse {
            partial_success: Some(partial),
        }
        .encode_to_vec(),
        Encoding::Json => {
            let mut inner = serde_json::Map::new();
            if partial.rejected_spans != 0 {
                inner.insert(
                    "rejectedSpans".to_string(),
                    serde_json::Value::String(partial.rejected_spans.to_string()),
                );
            }
            if !partial.error_message.is_empty() {
                inner.insert(
                    "errorMessage".to_string(),
                    serde_json::Value::String(partial.error_message),
                );
            }
            serde_json::json!({ "partialSuccess": inner })
                .to_string()
                .into_bytes()
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], text.to_string()).into_response()
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body too large: the limit is {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Unreadable(String),
    #[error("unsupported content encoding {0:?}")]
    UnsupportedEncoding(String),
    #[error("{0}")]
    BadCompression(String),
}

/// Reads a request body up to `limit` bytes, then undoes `Content-Encoding` (again up to `limit`).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(BodyError::TooLarge(limit));
        }
    }
    let collected = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            BodyError::TooLarge(limit)
        } else {
            BodyError::Unreadable(format!("cannot read the request body: {e}"))
        }
    })?;
    let raw = collected.to_bytes();
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => inflate(flate2::read::GzDecoder::new(raw.as_ref()), limit, "gzip"),
        "deflate" => inflate(flate2::read::ZlibDecoder::new(raw.as_ref()), limit, "deflate"),
        other => Err(BodyError::UnsupportedEncoding(other.to_string())),
    }
}

fn inflate(reader: impl Read, limit: usize, what: &str) -> Result<Bytes, BodyError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadCompression(format!("{what}: {e}")))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(Bytes::from(out))
}

/// Decodes an OTLP/HTTP body. `Err` is the message for a 400.
pub fn decode(encoding: Encoding, bytes: &[u8]) -> Result<(wire::TracesData, u64), String> {
    match encoding {
        Encoding::Protobuf => wire::TracesData::decode(bytes)
            .map(|d| (d, 0))
            .map_err(|e| format!("proto: {e}")),
        Encoding::Json => {
            let set = formats::read(bytes, Some(Format::OtlpJson)).map_err(|e| e.to_string())?;
            let skipped = set.diagnostics.spans_skipped;
            let data = set_to_otlp(&set).map_err(|e| e.to_string())?;
            Ok((data, skipped))
        }
    }
}

/// `POST /v1/traces`.
pub async fn export(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    state.metrics.ingest_requests_http.fetch_add(1, Ordering::Relaxed);
    let response = export_inner(&state, &headers, body).await;
    if !response.status().is_success() {
        state
            .metrics
            .ingest_bad_requests
            .fetch_add(u64::from(response.status().is_client_error()), Ordering::Relaxed);
    }
    state.metrics.ingest_latency.observe(started.elapsed());
    response
}

async fn export_inner(state: &AppState, headers: &HeaderMap, body: Body) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_MEDIA_TYPE);
    };
    let tenant = match state.ingest_tenant(headers) {
        Ok(t) => t,
        Err(TenantError::Missing) => {
            return status_response(
                StatusCode::SERVICE_UNAVAILABLE,
                encoding,
                CODE_UNAVAILABLE,
                "no org id",
            )
        }
        Err(e) => {
            return status_response(
                StatusCode::BAD_REQUEST,
                encoding,
                CODE_INVALID_ARGUMENT,
                &e.to_string(),
            )
        }
    };
    let bytes = match read_body(headers, body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge(_)) => {
            return status_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                encoding,
                CODE_RESOURCE_EXHAUSTED,
                &e.to_string(),
            )
        }
        Err(e @ BodyError::UnsupportedEncoding(_)) => {
            return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.to_string())
        }
        Err(e) => {
            return status_response(
                StatusCode::BAD_REQUEST,
                encoding,
                CODE_INVALID_ARGUMENT,
                &e.to_string(),
            )
        }
    };
    state
        .metrics
        .ingest_bytes
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    let worker_state = state.clone();
    let job = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        if encoding == Encoding::Protobuf {
            if let Some(result) = crate::ingest::store_protobuf(&worker_state, &tenant, &bytes) {
                let outcome = result.map_err(|e| IngestFailure::Store(e.to_string()))?;
                tracing::trace!(
                    micros = started.elapsed().as_micros() as u64,
                    spans = outcome.spans_stored,
                    "ingest timing (fast path)"
                );
                return Ok(outcome);
            }
        }
        let (data, skipped) = decode(encoding, &bytes).map_err(IngestFailure::Decode)?;
        let decoded = started.elapsed();
        let mut outcome =
            store_batch(&worker_state, &tenant, data).map_err(|e| IngestFailure::Store(e.to_string()))?;
        tracing::trace!(
            decode_micros = decoded.as_micros() as u64,
            store_micros = (started.elapsed() - decoded).as_micros() as u64,
            spans = outcome.spans_stored,
            "ingest timing"
        );
        if skipped > 0 {
            outcome.spans_rejected += skipped;
            worker_state
                .metrics
                .spans_rejected
                .fetch_add(skipped, Ordering::Relaxed);
            outcome.message.get_or_insert_with(|| {
                format!("{skipped} spans rejected: invalid span in the JSON document")
            });
        }
        Ok::<_, IngestFailure>(outcome)
    });
    match job.await {
        Ok(Ok(outcome)) => success_response(encoding, &outcome),
        Ok(Err(IngestFailure::Decode(message))) => {
            tracing::debug!(error = %message, "ingest: undecodable body");
            status_response(StatusCode::BAD_REQUEST, encoding, CODE_INVALID_ARGUMENT, &message)
        }
        Ok(Err(IngestFailure::Store(message))) => {
            tracing::error!(error = %message, "ingest: store failed");
            status_response(
                StatusCode::SERVICE_UNAVAILABLE,
                encoding,
                CODE_UNAVAILABLE,
                &message,
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "ingest: worker failed");
            status_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                encoding,
                CODE_UNAVAILABLE,
                "internal error while storing spans",
            )
        }
    }
}

enum IngestFailure {
    Decode(String),
    Store(String),
}

/// Any method but POST on `/v1/traces`.
pub async fn method_not_allowed() -> Response {
    plain(StatusCode::METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED)
}
