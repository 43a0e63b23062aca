#!/bin/sh
# Browser end-to-end tests of the SPA against the built dist/ (run `trunk build --release` first).
# Uses Debian's Chromium through playwright-core (never downloads a browser).
#   tests/run.sh            # e2e tests, screenshots in target/screenshots/
#   tests/run.sh bench      # the 100k-span benchmark (figures on stdout)
#   tests/run.sh analysis   # the analysis views' tests (service graph, grades, RED, errors, compare)
#   tests/run.sh analysis-bench  # analyze_set over 10k traces / 1M spans in the worker, view render times
#   tests/run.sh server     # against the real `spanlens serve` (cargo build -p spanlens-server first)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
[ -f dist/index.html ] || { echo "dist/ is missing: run trunk build --release first" >&2; exit 1; }
# playwright-core comes from the repository's package.json (installed by scripts/setup.sh).
if ! (cd "$here" && node -e "import('playwright-core').then(()=>process.exit(0),()=>process.exit(1))"); then
  echo "playwright-core is missing: run scripts/setup.sh (npm ci) first" >&2
  exit 1
fi
case "${1:-test}" in
  bench) exec node "$here/bench/bench.mjs" ;;
  analysis) exec node "$here/e2e/analysis.mjs" ;;
  analysis-bench) exec node "$here/bench/analysis.mjs" ;;
  server) exec node "$here/e2e/server.mjs" ;;
  *) exec node "$here/e2e/run.mjs" ;;
esac
