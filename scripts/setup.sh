#!/usr/bin/env bash
# Installs every tool spanlens needs to build and test, skipping what is already present at
# the right version: the wasm32 target, trunk 0.21.14, wasm-bindgen-cli at the Cargo.lock
# version, binaryen 132 + playwright-core from npm, Debian's chromium + chromedriver, and the
# OpenTelemetry Python SDK used by the ingest tests. Safe to run again (a no-op when done).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '::: setup: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
  say "installing trunk 0.21.14 (0.22 needs a newer rustc)"
  cargo install trunk --version 0.21.14 --locked
fi

wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wb_version"; then
  say "installing wasm-bindgen-cli $wb_version (the Cargo.lock version; without --locked on purpose)"
  cargo install wasm-bindgen-cli --version "$wb_version" --force
fi
if ! grep -q "wasm_bindgen = \"$wb_version\"" Trunk.toml; then
  echo "Trunk.toml pins a wasm-bindgen other than Cargo.lock's $wb_version" >&2
  exit 1
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] \
  || ! node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
  say "installing npm tools (binaryen 132, playwright-core)"
  npm ci --no-audit --no-fund
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  say "installing Debian chromium and chromium-driver"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
fi

if ! python3 -c 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.proto, psutil' 2>/dev/null; then
  say "installing the OpenTelemetry Python SDK and exporters"
  python3 -m pip install --quiet --disable-pip-version-check \
    'opentelemetry-sdk>=1.20' 'opentelemetry-exporter-otlp-proto-http>=1.20' \
    'opentelemetry-exporter-otlp-proto-grpc>=1.20' 'opentelemetry-proto>=1.20' psutil
fi

say "tools ready"
