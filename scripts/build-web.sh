#!/usr/bin/env bash
# Builds the SPA into dist/ with Trunk (release, offline, locked), using wasm-opt 132 from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo fetch --locked >/dev/null
trunk build --release --offline --locked "$@"
