#!/usr/bin/env bash
# Runs every check and test of spanlens, in named steps; stops at the first failure.
# Installs missing tools first (scripts/setup.sh), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

step() { printf '\n::: step: %s\n' "$*"; }
started=$(date +%s)

step "setup"
./scripts/setup.sh

step "fmt"
cargo fmt --all --check

step "clippy (host)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown -p spanlens-core -p spanlens-web --locked -- -D warnings

step "dependency boundary: spanlens-core is pure"
./scripts/check-core-boundary.sh

step "tests (host)"
cargo test --workspace --locked

step "web build (trunk, release)"
./scripts/build-web.sh

step "browser tests: loading, waterfall, search, sharing, embed (headless Chromium)"
tests/run.sh

step "browser tests: analysis views"
tests/run.sh analysis

if [ -f tests/e2e/server.mjs ]; then
  step "browser tests: against a real spanlens serve"
  tests/run.sh server
fi

printf '\n::: all checks passed in %ss\n' "$(( $(date +%s) - started ))"
