#!/usr/bin/env bash
# Memory over a long campaign peak: the mixed load (bench/mixed.lua: 90% reads, 10% signing)
# over 1,000 connections for N minutes, the app's resident memory read every 30 s, with the
# database's size beside it. The confirmation emails go to .eml files as by default; a pickup
# takes them away every few seconds, as a mail agent reading the folder would, so that ten
# minutes of a peak (gigabytes of email) do not fill the disk.
#
#   bench/soak.sh [minutes]        (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
port=${BENCH_PORT:-18080}
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else cargo build --release --quiet; bin=$target_dir/release/undersigned; fi
dir=$(mktemp -d)
app=
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
. bench/lib.sh
bench_unlimited
export UNDERSIGNED_DATABASE_URL=sqlite://$dir/undersigned.db UNDERSIGNED_DATA_DIR=$dir/data
export UNDERSIGNED_BIND=127.0.0.1:$port
$bin demo >/dev/null
$bin petition create --slug bench --title "Benchmark petition" --goal 100000000 >/dev/null
$bin serve >"$dir/serve.log" 2>&1 &
app=$!
bench_wait_demo "$port"
( while kill -0 "$app" 2>/dev/null; do
    find "$dir/data/outbox" -name '*.eml' -delete 2>/dev/null || true
    sleep 5
  done ) &
rss() { awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$app/status"; }
db_mb() { du -cm "$dir"/undersigned.db* | awk 'END { print $1 }'; }
echo "minute  RSS (MiB)  req/s  p99        database (MiB)"
echo "0.0     $(rss)"
rounds=$((minutes * 2))
for i in $(seq "$rounds"); do
  BENCH_PREFIX=soak$i wrk -t2 -c1000 -d30s --latency -s bench/mixed.lua "http://127.0.0.1:$port/" >"$dir/wrk.txt" 2>&1 || true
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$dir/wrk.txt")
  p99=$(awk '/^ +99%/ { print $2 }' "$dir/wrk.txt")
  awk -v m="$i" -v r="$(rss)" -v q="$rps" -v p="$p99" -v d="$(db_mb)" \
    'BEGIN { printf "%-7.1f %-10s %-6s %-10s %s\n", m / 2, r, q, p, d }'
done
