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

if [ -x tests/run.sh ]; then
  step "browser tests (headless Chromium)"
  tests/run.sh
fi

printf '\n::: all checks passed in %ss\n' "$(( $(date +%s) - started ))"
