#!/usr/bin/env python3
"""Exports traces with the real OpenTelemetry Python SDK to a running `spanlens serve`.

Used by crates/server/tests/otel_client.rs. Sends the same small workload once through the
OTLP/HTTP protobuf exporter and once through the OTLP/gRPC exporter (each with its own
service name), and prints one JSON object on stdout:

  {"http": {"trace_ids": [...], "spans": N, "ok": true}, "grpc": {...}}

`ok` is false when the exporter reported a failure for any batch. Needs the PyPI packages
opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http, opentelemetry-exporter-otlp-proto-grpc.
"""
from __future__ import annotations

import argparse
import json
import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

TRACES = 5
SPANS_PER_TRACE = 4


class Recording(SpanExporter):
    """Delegates to a real exporter and remembers whether every export succeeded."""

    def __init__(self, inner):
        self.inner = inner
        self.ok = True
        self.exported = 0

    def export(self, spans):
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.ok = False
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def workload(exporter, service: str, token: str | None) -> dict:
    recording = Recording(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment.name": "test"}))
    provider.add_span_processor(BatchSpanProcessor(recording, max_export_batch_size=8, schedule_delay_millis=50))
    tracer = provider.get_tracer("spanlens-otel-client-test", "1.0")
    trace_ids = []
    for i in range(TRACES):
        with tracer.start_as_current_span(
            f"GET /items/{i}", kind=SpanKind.SERVER,
            attributes={"http.request.method": "GET", "http.route": "/items/{id}",
                        "http.request.header.authorization": ["Bearer do-not-store"]},
        ) as root:
            trace_ids.append(format(root.get_span_context().trace_id, "032x"))
            with tracer.start_as_current_span("SELECT items", kind=SpanKind.CLIENT,
                                              attributes={"db.system": "postgresql", "db.password": "hunter2"}):
                pass
            with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT,
                                              attributes={"gen_ai.usage.input_tokens": 42 + i}) as llm:
                llm.add_event("retry", {"attempt": 1})
                llm.set_status(Status(StatusCode.ERROR, "rate limited"))
            with tracer.start_as_current_span("rerank"):
                pass
    provider.force_flush(30000)
    provider.shutdown()
    return {"trace_ids": trace_ids, "spans": recording.exported, "ok": recording.ok and recording.exported == TRACES * SPANS_PER_TRACE}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--http-endpoint", required=True, help="e.g. http://127.0.0.1:4318/v1/traces")
    ap.add_argument("--grpc-endpoint", required=True, help="e.g. http://127.0.0.1:4317")
    ap.add_argument("--token", help="bearer token to send")
    args = ap.parse_args()
    headers = {"authorization": f"Bearer {args.token}"} if args.token else None
    out = {
        "http": workload(HttpExporter(endpoint=args.http_endpoint, headers=headers, timeout=10), "otel-http-client", args.token),
        "grpc": workload(GrpcExporter(endpoint=args.grpc_endpoint, insecure=True, headers=headers, timeout=10), "otel-grpc-client", args.token),
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
