#!/usr/bin/env bash
# Signing while an update fans out to many signers: posts an update to N confirmed signers who
# asked for news (default 50,000), signs 20 times while the fan-out runs, and prints how long
# posting took, how long until every email job was queued, and the sign latencies.
# Usage: bench/update_fanout.sh [signers]   (TEST_DATABASE_URL=postgres://… for PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
FANOUT_SIGNERS="${1:-50000}" cargo test --release --test api \
  integrity::signing_stays_responsive_while_an_update_fans_out -- --nocapture --exact 2>&1 |
  grep -E "fan-out|test result"
