#!/usr/bin/env bash
# spanlens ingest benchmark: builds the release binary, then runs scripts/bench_ingest.py
# (OTLP/HTTP throughput at 2 and 4 connections with ../shared/tools/load_otlp.py, RSS, no span
# lost after SIGKILL, trace-by-id latency). Extra arguments go to bench_ingest.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p spanlens-server --bin spanlens --manifest-path "$root/Cargo.toml"
exec python3 "$root/scripts/bench_ingest.py" --bin "$target/release/spanlens" "$@"
