#!/usr/bin/env bash
# The signed log at scale: appends N events (default 1,000,000) through the sequencer's use
# case on a fresh SQLite file, then times inclusion and consistency proofs from storage.
# Usage: bench/log.sh [events]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example log_bench -- "${1:-1000000}"
