#!/usr/bin/env bash
# Runs the browser suite (tests/browser/suite.mjs) against a fresh app with the demo loaded:
#   tests/browser/run.sh [path/to/undersigned]
# Needs Node (npm) and Debian's chromium (or CHROMIUM=/path/to/it).
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:-../../target/debug/undersigned}
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null
dir=$(mktemp -d)
port=${BROWSER_PORT:-18444}
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
export UNDERSIGNED_DATA_DIR=$dir UNDERSIGNED_BIND=127.0.0.1:$port RUST_LOG=warn
export UNDERSIGNED_ORGANIZATION_NAME="Armenian diaspora human-rights volunteers"
export UNDERSIGNED_SIGN_RATE_PER_MINUTE=1000 UNDERSIGNED_SIGN_RATE_PER_HOUR=10000
"$bin" demo >/dev/null
"$bin" serve >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
BASE_URL="http://127.0.0.1:$port" OUTBOX="$dir/outbox" node suite.mjs
