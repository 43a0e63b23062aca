#!/usr/bin/env python3
"""spanlens search benchmark: load ~N spans with ../shared/tools/load_otlp.py (fresh trace ids
per request, 10 spans per trace) plus a few thousand one-span traces with a high-cardinality
`user.id` (one value per trace, past the tag index's per-key limit), then time /api/search
(TraceQL and tag queries; TraceQL includes absent attribute values and a rare `user.id`) and
the tag endpoints: p50/p99 per query. Our own script.

Usage: python3 scripts/bench_search.py --bin target/release/spanlens [--spans 1000000] [--requests 50]
       [--data-dir DIR --keep]   (reuse a loaded store: loading is skipped when DIR already holds
                                  the spans; the query window covers the last 6 hours)
Needs: python3 with opentelemetry-proto and psutil (for load_otlp.py).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ingest import get, metric, start  # noqa: E402

QUERIES = [
    ("traceql_service", {"q": '{ resource.service.name = "postgres" }', "limit": "20"}),
    ("traceql_name_error", {"q": '{ name = "qdrant.search" && status = error }', "limit": "20"}),
    ("traceql_duration", {"q": "{ duration > 400ms }", "limit": "20"}),
    ("traceql_attr_absent", {"q": '{ .http.route = "/nope" }', "limit": "20"}),
    ("traceql_array_absent", {"q": '{ span.app.tags = "zz" }', "limit": "20"}),
    ("traceql_user_absent", {"q": '{ .user.id = "u-none" }', "limit": "20"}),
    ("traceql_user_rare", {"q": '{ .user.id = "u-2500" }', "limit": "20"}),
    ("tags_service", {"tags": "service.name=llm-proxy", "limit": "20"}),
    ("tags_attr", {"tags": "http.route=/v1/chat db.system=postgresql", "limit": "20"}),
    ("min_duration", {"minDuration": "450ms", "limit": "20"}),
]


def stored_spans(port: int) -> int:
    """Spans in the store: this process's ingest counter, or the store gauge for a reused
    directory (the gauge may lag a little)."""
    return int(max(metric(port, "spanlens_spans_stored_total"), metric(port, "spanlens_store_spans")))


USERS = 3000


def post_users(otlp_port: int) -> None:
    """Posts USERS one-span traces (OTLP JSON), each with its own `user.id` value `u-<i>`."""
    now = time.time_ns()
    for first in range(0, USERS, 1000):
        spans = []
        for i in range(first, min(USERS, first + 1000)):
            start = now - (i % 3600) * 10**9
            spans.append({"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": "GET /user",
                          "kind": 2, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 2_000_000),
                          "attributes": [{"key": "user.id", "value": {"stringValue": f"u-{i}"}}]})
        body = json.dumps({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "users"}}]},
            "scopeSpans": [{"spans": spans}]}]}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", otlp_port, timeout=60)
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        conn.close()
        if r.status != 200:
            raise SystemExit(f"posting user traces: HTTP {r.status}")


def pct(vals, p):
    vals = sorted(vals)
    return round(vals[min(len(vals) - 1, int(p / 100 * len(vals)))], 2)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "spanlens"))
    ap.add_argument("--load", default=os.path.join(here, "..", "..", "shared", "tools", "load_otlp.py"))
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=50, help="timed requests per query")
    ap.add_argument("--data-dir", help="store directory to use (default: a fresh temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the store directory afterwards")
    args = ap.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="spanlens-search-")
    proc, hp, op = start(args.bin, data_dir)
    try:
        # Load until the store holds the wanted number of spans (load_otlp runs by duration).
        t0 = time.time()
        if stored_spans(hp) < args.spans:
            post_users(op)
        while stored_spans(hp) < args.spans:
            subprocess.run([sys.executable, args.load, "--url", f"http://127.0.0.1:{op}/v1/traces",
                            "--spans-per-request", "1000", "--concurrency", "2", "--duration", "3",
                            "--warmup", "0", "--seed", str(int(time.time()))],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stored = stored_spans(hp)
        report = {"spans_stored": stored, "load_seconds": round(time.time() - t0, 1),
                  "loadavg_before": [round(x, 2) for x in os.getloadavg()], "queries": {}}
        now = int(time.time())
        for label, params in QUERIES + [("tag_names", None), ("tag_values_service", None)]:
            if params is None:
                path = "/api/v2/search/tags" if label == "tag_names" else "/api/v2/search/tag/resource.service.name/values"
            else:
                q = dict(params, start=str(now - 6 * 3600), end=str(now + 60))
                path = "/api/search?" + urllib.parse.urlencode(q)
            lat, status, size = [], None, 0
            for i in range(args.requests + 3):
                t1 = time.perf_counter()
                status, body = get(hp, path)
                if i >= 3:
                    lat.append((time.perf_counter() - t1) * 1000)
                size = len(body)
            traces = None
            if params is not None and status == 200:
                traces = len(json.loads(body).get("traces", []))
            report["queries"][label] = {"status": status, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                                        "max_ms": round(max(lat), 2), "traces": traces, "bytes": size}
            print(label, report["queries"][label], file=sys.stderr)
        report["p99_max_ms"] = max(q["p99_ms"] for q in report["queries"].values())
        report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(report, indent=2))
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        if not args.keep:
            subprocess.run(["rm", "-rf", data_dir], check=False)


if __name__ == "__main__":
    sys.exit(main())
