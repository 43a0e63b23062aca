#!/usr/bin/env python3
"""spanlens ingest benchmark: OTLP/HTTP protobuf throughput, RSS, durability of every
acknowledged span, and trace-by-id latency. Our own script; drives ../shared/tools/load_otlp.py.

For each concurrency (default 2 and 4): start `spanlens serve` on a fresh data directory,
run load_otlp.py (1,000 spans per request, --duration seconds after a 5 s warm-up), read the
server's own count of durably stored spans from /metrics, SIGKILL the server, and count the
spans on disk (SQLite, read-only): they must be equal, and at least what the client saw
acknowledged. Then post one 1,000-span trace and time GET /api/traces/{id} (JSON and protobuf).

With --ceiling, first measure the load generator alone: the same load against a trivial sink
(a thread per connection that reads each request and answers 200 with an empty body) for
10 s per concurrency, to know how many spans/s and how much CPU the generator itself takes on
this machine (a lower bound of its ceiling: the sink is Python too).

Usage: scripts/bench_ingest.sh  (builds the release binary, then runs this)
       python3 scripts/bench_ingest.py --bin target/release/spanlens [--duration 30] [--concurrency 2 4]
Needs: python3 with opentelemetry-proto and psutil (for load_otlp.py).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def start(bin_path: str, data_dir: str):
    hp, op = free_port(), free_port()
    proc = subprocess.Popen([bin_path, "serve", "--data-dir", data_dir, "--http-listen", f"127.0.0.1:{hp}",
                             "--otlp-http-listen", f"127.0.0.1:{op}", "--otlp-grpc-listen", "off",
                             "--log", "warn", "--retention", "0"])
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if get(hp, "/ready")[0] == 200:
                return proc, hp, op
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def metric(port: int, name: str) -> float:
    status, body = get(port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise SystemExit(f"metric {name} not found")


def spans_on_disk(data_dir: str) -> int:
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'spanlens.db')}?mode=ro", uri=True)
    (n,) = db.execute("SELECT coalesce(sum(span_count), 0) FROM traces").fetchone()
    db.close()
    return n


def start_sink():
    """A trivial OTLP/HTTP sink: keep-alive, reads Content-Length bytes, answers 200."""
    import threading
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve(conn):
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        have = 0
        reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
        try:
            while True:
                end = buf.find(b"\r\n\r\n", 0, have)
                while end < 0:
                    n = conn.recv_into(view[have:])
                    if n == 0:
                        return
                    have += n
                    end = buf.find(b"\r\n\r\n", 0, have)
                length = 0
                for line in bytes(buf[:end]).split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                total = end + 4 + length
                if total > len(buf):
                    buf.extend(bytearray(total - len(buf)))
                    view = memoryview(buf)
                while have < total:
                    n = conn.recv_into(view[have:])
                    if n == 0:
                        return
                    have += n
                buf[:have - total] = buf[total:have]
                have -= total
                conn.sendall(reply)
        except OSError:
            return
        finally:
            conn.close()

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv


def run_ceiling(args, c: int) -> dict:
    srv = start_sink()
    port = srv.getsockname()[1]
    out = os.path.join(tempfile.mkdtemp(prefix="spanlens-bench-"), "sink.json")
    subprocess.run([sys.executable, args.load, "--url", f"http://127.0.0.1:{port}/v1/traces",
                    "--spans-per-request", "1000", "--concurrency", str(c), "--duration", "10",
                    "--warmup", "2", "--json-out", out], check=True, stdout=subprocess.DEVNULL)
    srv.close()
    with open(out) as f:
        load = json.load(f)
    return {"concurrency": c, "sink_spans_per_s": load.get("spans_per_s"),
            "client_cpu_pct_avg": load.get("client_cpu_pct_avg"),
            "client_cpu_pct_per_100k_spans_s": round(100_000 * load.get("client_cpu_pct_avg", 0)
                                                     / max(load.get("spans_per_s") or 1, 1), 1)}


def run_load(args, c: int) -> dict:
    data_dir = tempfile.mkdtemp(prefix="spanlens-bench-")
    proc, hp, op = start(args.bin, data_dir)
    out = os.path.join(data_dir, f"load_c{c}.json")
    subprocess.run([sys.executable, args.load, "--url", f"http://127.0.0.1:{op}/v1/traces",
                    "--spans-per-request", "1000", "--concurrency", str(c), "--duration", str(args.duration),
                    "--warmup", "5", "--pid", str(proc.pid), "--json-out", out],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        load = json.load(f)
    stored_counter = int(metric(hp, "spanlens_spans_stored_total"))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    on_disk = spans_on_disk(data_dir)
    target = dict(load.get("target_process", {}))
    target.pop("samples_t_cpu_rssMiB_hostcpu", None)
    result = {
        "concurrency": c,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "spans_per_s": load.get("spans_per_s"),
        "latency_ms": load.get("latency_ms"),
        "status_counts": load.get("status_counts"),
        "target_process": target,
        "client_cpu_pct_avg": load.get("client_cpu_pct_avg"),
        "acknowledged_spans_in_window": load.get("accepted_spans"),
        "server_acknowledged_spans": stored_counter,
        "spans_on_disk_after_sigkill": on_disk,
        "no_span_lost": on_disk == stored_counter and on_disk >= (load.get("accepted_spans") or 0),
        "db_bytes": sum(os.path.getsize(os.path.join(data_dir, f)) for f in os.listdir(data_dir)
                        if f.startswith("spanlens.db")),
    }
    subprocess.run(["rm", "-rf", data_dir], check=False)
    return result


def one_trace_body(n: int) -> tuple[bytes, str]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
    rng = random.Random(7)
    tid = rng.randbytes(16)
    now = time.time_ns()
    root = rng.randbytes(8)
    services = ["api-gateway", "knowledge-router", "postgres", "llm-proxy", "qdrant"]
    per = {s: [] for s in services}
    for i in range(n):
        sid = root if i == 0 else rng.randbytes(8)
        per[services[i % 5]].append(Span(
            trace_id=tid, span_id=sid, parent_span_id=b"" if i == 0 else root, name=f"op-{i % 17}",
            kind=2, start_time_unix_nano=now + i * 1000, end_time_unix_nano=now + i * 1000 + 500_000,
            attributes=[KeyValue(key="http.route", value=AnyValue(string_value="/v1/chat")),
                        KeyValue(key="app.n", value=AnyValue(int_value=i))]))
    req = ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=s))]),
                      scope_spans=[ScopeSpans(spans=sp)]) for s, sp in per.items()])
    return req.SerializeToString(), tid.hex()


def trace_by_id(args) -> dict:
    data_dir = tempfile.mkdtemp(prefix="spanlens-bench-")
    proc, hp, op = start(args.bin, data_dir)
    body, tid = one_trace_body(1000)
    conn = http.client.HTTPConnection("127.0.0.1", op, timeout=30)
    conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status
    out = {}
    for label, headers in (("json", {}), ("protobuf", {"Accept": "application/protobuf"})):
        conn = http.client.HTTPConnection("127.0.0.1", hp, timeout=30)
        lat = []
        for i in range(args.requests + 20):
            t0 = time.perf_counter()
            conn.request("GET", f"/api/traces/{tid}", headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            t1 = time.perf_counter()
            assert resp.status == 200, (resp.status, data[:200])
            if i >= 20:
                lat.append((t1 - t0) * 1000)
        lat.sort()
        out[label] = {"p50_ms": round(lat[len(lat) // 2], 2), "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2),
                      "max_ms": round(lat[-1], 2), "bytes": len(data)}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    subprocess.run(["rm", "-rf", data_dir], check=False)
    return out


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "spanlens"))
    ap.add_argument("--load", default=os.path.join(here, "..", "..", "shared", "tools", "load_otlp.py"))
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--requests", type=int, default=500, help="trace-by-id requests")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--ceiling", action="store_true", help="also measure the generator against a trivial sink")
    args = ap.parse_args()
    report = {"ingest": [], "trace_by_id_1000_spans": None}
    if args.ceiling:
        report["generator_ceiling"] = []
        for c in args.concurrency:
            r = run_ceiling(args, c)
            report["generator_ceiling"].append(r)
            print(json.dumps(r), file=sys.stderr)
    if not args.skip_load:
        for c in args.concurrency:
            r = run_load(args, c)
            report["ingest"].append(r)
            print(json.dumps(r), file=sys.stderr)
    report["trace_by_id_1000_spans"] = trace_by_id(args)
    print(json.dumps(report, indent=2))
    ok = all(r["no_span_lost"] for r in report["ingest"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
