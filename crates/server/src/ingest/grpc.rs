//! OTLP/gRPC: the `opentelemetry.proto.collector.trace.v1.TraceService/Export` unary call,
//! written by hand over tonic's server machinery (no protoc, no generated code): a
//! [`tonic::server::NamedService`] plus a `tower::Service` that routes the one method through
//! `tonic::server::Grpc` with the prost codec and the core's wire types.
//!
//! Accepts gzip-compressed messages; the message size limit is `--max-body-bytes`. In
//! multi-tenant mode a call without `x-scope-orgid` metadata fails with UNAVAILABLE `no org
//! id`, as Tempo's does; with an ingest token, a call without `authorization: Bearer <token>`
//! fails with UNAUTHENTICATED. Served by axum (HTTP/2 without TLS) on `--otlp-grpc-listen`.

use crate::ingest::store_batch;
use crate::security::bearer_ok;
use crate::state::{AppState, TenantError};
use spanlens_core::formats::otlp_proto::wire;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codec::CompressionEncoding;

/// The gRPC service name.
pub const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
/// The one method's path.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The TraceService server.
#[derive(Clone)]
pub struct TraceServiceServer {
    state: AppState,
}

impl TraceServiceServer {
    pub fn new(state: AppState) -> TraceServiceServer {
        TraceServiceServer { state }
    }
}

impl tonic::server::NamedService for TraceServiceServer {
    const NAME: &'static str = SERVICE_NAME;
}

impl<B> tower::Service<http::Request<B>> for TraceServiceServer
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != EXPORT_PATH {
            let status = tonic::Status::unimplemented(format!("unknown method {}", req.uri().path()));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let state = self.state.clone();
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<
                wire::ExportTraceServiceResponse,
                wire::ExportTraceServiceRequest,
            >::default();
            let mut grpc = tonic::server::Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(state.config.max_body_bytes);
            Ok(grpc.unary(Export { state }, req).await)
        })
    }
}

/// One Export call.
struct Export {
    state: AppState,
}

impl tonic::server::UnaryService<wire::ExportTraceServiceRequest> for Export {
    type Response = wire::ExportTraceServiceResponse;
    type Future = BoxFuture<Result<tonic::Response<Self::Response>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<wire::ExportTraceServiceRequest>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let started = Instant::now();
            state.metrics.ingest_requests_grpc.fetch_add(1, Ordering::Relaxed);
            let result = export(&state, request).await;
            state.metrics.ingest_latency.observe(started.elapsed());
            result
        })
    }
}

async fn export(
    state: &AppState,
    request: tonic::Request<wire::ExportTraceServiceRequest>,
) -> Result<tonic::Response<wire::ExportTraceServiceResponse>, tonic::Status> {
    let headers = request.metadata().clone().into_headers();
    if let Some(token) = &state.config.ingest_token {
        if !bearer_ok(&headers, token) {
            return Err(tonic::Status::unauthenticated("missing or wrong bearer token"));
        }
    }
    let tenant = match state.ingest_tenant(&headers) {
        Ok(t) => t,
        Err(TenantError::Missing) => return Err(tonic::Status::unavailable("no org id")),
        Err(e) => return Err(tonic::Status::invalid_argument(e.to_string())),
    };
    let data = wire::TracesData {
        resource_spans: request.into_inner().resource_spans,
    };
    let worker = state.clone();
    let outcome = tokio::task::spawn_blocking(move || store_batch(&worker, &tenant, data))
        .await
        .map_err(|e| tonic::Status::internal(format!("ingest worker failed: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "grpc ingest: store failed");
            tonic::Status::unavailable(e.to_string())
        })?;
    let partial_success = Some(wire::ExportTracePartialSuccess {
        rejected_spans: i64::try_from(outcome.spans_rejected).unwrap_or(i64::MAX),
        error_message: outcome.message.unwrap_or_default(),
    });
    Ok(tonic::Response::new(wire::ExportTraceServiceResponse {
        partial_success,
    }))
}
