#!/usr/bin/env bash
# How fast the outbox sends, to .eml files and to a local SMTP relay (bench/smtp_sink.py):
# signs at full speed for a while (each sign request queues one confirmation email), then
# times how long the outbox takes to have sent everything, reading its depth from /metrics.
#
#   bench/outbox.sh [seconds of signing]        (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
port=${BENCH_PORT:-18080}
smtp_port=$((port + 25))
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else cargo build --release --quiet; bin=$target_dir/release/undersigned; fi
. bench/lib.sh
bench_scratch
bench_unlimited
python3 bench/smtp_sink.py "$smtp_port" "$dir/smtp-count" &
pids+=($!)

depth() { curl -fs "http://127.0.0.1:$port/metrics" | awk '/^undersigned_outbox_depth / { print $2 }'; }

for transport in ${TRANSPORTS:-files smtp}; do
  rm -rf "$dir/$transport"; mkdir -p "$dir/$transport"
  export UNDERSIGNED_DATA_DIR=$dir/$transport UNDERSIGNED_DATABASE_URL=sqlite://$dir/$transport/undersigned.db
  export UNDERSIGNED_BIND=127.0.0.1:$port
  if [ "$transport" = smtp ]; then export UNDERSIGNED_SMTP_URL=smtp://127.0.0.1:$smtp_port; else unset UNDERSIGNED_SMTP_URL; fi
  $bin petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
  $bin serve >"$dir/$transport/serve.log" 2>&1 &
  app=$!
  bench_wait_up "$port"
  start=$(date +%s.%N)
  BENCH_PREFIX=$transport wrk -t2 -c32 -d"${secs}s" -s bench/sign.lua "http://127.0.0.1:$port/" >"$dir/wrk.txt"
  signed_at=$(date +%s.%N)
  signs=$(awk '/requests in/ { print $1 }' "$dir/wrk.txt")
  left=$(depth)
  for _ in $(seq 3000); do [ "${left:-1}" = "0" ] && break; sleep 0.2; left=$(depth); done
  done_at=$(date +%s.%N)
  if [ "$transport" = smtp ]; then sleep 0.6; sent=$(cat "$dir/smtp-count"); else sent=$(find "$dir/$transport/outbox" -name '*.eml' | wc -l); fi
  awk -v t="$transport" -v n="$signs" -v s="$sent" -v a="$start" -v b="$signed_at" -v c="$done_at" 'BEGIN {
    printf "%-5s  %d sign requests in %.1f s; %d emails sent, the last %.1f s after signing stopped: %.0f emails/s overall\n", t, n, b - a, s, c - b, s / (c - a)
  }'
  kill "$app"; wait "$app" 2>/dev/null || true
done
