#!/usr/bin/env bash
# Fails when spanlens-core stops being pure: it must build for wasm32 and its dependency tree
# (normal dependencies, for wasm32 and for the host) must not contain UI, web, async-runtime,
# HTTP-server or database crates.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(leptos|leptos_[a-z_]+|web-sys|js-sys|wasm-bindgen|wasm-bindgen-[a-z-]+|gloo|gloo-[a-z-]+|tokio|tokio-[a-z-]+|axum|axum-[a-z-]+|hyper|hyper-[a-z-]+|tonic|rusqlite|libsqlite3-sys|sqlx|diesel|sled|redb|rocksdb|reqwest) '
cargo build --locked -p spanlens-core --target wasm32-unknown-unknown
status=0
for target in wasm32-unknown-unknown x86_64-unknown-linux-gnu; do
  tree=$(cargo tree --locked -p spanlens-core -e normal --target "$target" --prefix none --format '{p}')
  if bad=$(printf '%s\n' "$tree" | grep -E "$forbidden"); then
    echo "spanlens-core depends on forbidden crates for $target:" >&2
    printf '%s\n' "$bad" | sort -u >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "spanlens-core dependency tree is clean ($(cargo tree --locked -p spanlens-core -e normal --prefix none --format '{p}' | sort -u | wc -l) crates)"
exit "$status"
