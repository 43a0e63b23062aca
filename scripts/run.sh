#!/usr/bin/env bash
# Sets up, builds and starts spanlens on this machine: the server with demo traces loaded and
# the web app, at http://127.0.0.1:3200 (OTLP ingest on :4318 HTTP and :4317 gRPC).
# Extra arguments go to `spanlens serve` (see `spanlens serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build-web.sh
cargo build --release --locked -p spanlens-server
exec ./target/release/spanlens serve --demo --dist dist --data-dir "${SPANLENS_DATA_DIR:-./spanlens-data}" "$@"
