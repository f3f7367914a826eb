#!/usr/bin/env bash
# Signing while retention erases a closed petition of N signatures (issue: "signing elsewhere
# never waits more than 2 s"). Retention runs petition by petition in transactions of 500
# rows, so each sign batch waits for at most one of them. Prints signing alone, then signing
# during `undersigned retention run`: req/s, p99, the slowest answer, and errors.
#
#   bench/erase_while_signing.sh [rows] [seconds] [connections]   (defaults: 42424, 20, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-42424}
secs=${2:-20}
conns=${3:-32}
port=${BENCH_PORT:-18092}
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
cargo build --release --quiet --example signer_data
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bin=$target_dir/release/undersigned
. bench/lib.sh
bench_scratch

bench_unlimited
export UNDERSIGNED_DATA_DIR=$dir UNDERSIGNED_BIND=127.0.0.1:$port
$bin petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
echo "== $rows confirmed signatures on the petition 'erase', then closed"
"$target_dir/release/examples/signer_data" "$rows" erase >/dev/null
$bin petition close erase >/dev/null
$bin serve >"$dir/serve.log" 2>&1 &
pids+=($!)
bench_wait_up "$port"

# "req/s p99 max non2xx" of one wrk output.
summary() {
  awk '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { p99 = $2 }
    /^ +Latency +[0-9]/ { max = $4 }
    /Non-2xx/ { bad = $5 }
    /Socket errors/ { bad = bad " " $0 }
    END { printf "%s req/s, p99 %s, slowest %s, non-2xx/3xx %s\n", rps, p99, max, bad + 0 }' "$1"
}

# The petition's signed log starts at the server's first sequencer round: its history is
# tagged in short transactions, then queued in one statement under the petition's lock.
BENCH_PREFIX=s wrk -t2 -c"$conns" -d"${secs}s" --latency --timeout 10s -s bench/sign.lua "http://127.0.0.1:$port/" >"$dir/start.txt"
echo "signing while its log starts: $(summary "$dir/start.txt")"
for _ in $(seq 600); do
  [ "$(sqlite3 "$dir/undersigned.db" "select log_started from petitions where slug = 'erase'")" = 1 ] && break
  sleep 0.5
done
wrk -t2 -c"$conns" -d"${secs}s" --latency --timeout 10s -s bench/sign.lua "http://127.0.0.1:$port/" >"$dir/alone.txt"
echo "signing alone:            $(summary "$dir/alone.txt")"

(
  sleep 1
  start=$(date +%s.%N)
  UNDERSIGNED_RETENTION_DAYS=0 $bin retention run >"$dir/retention.txt" 2>&1
  echo "$start $(date +%s.%N)" >"$dir/retention.time"
) &
pids+=($!)
BENCH_PREFIX=e wrk -t2 -c"$conns" -d"${secs}s" --latency --timeout 10s -s bench/sign.lua "http://127.0.0.1:$port/" >"$dir/during.txt"
echo "signing while erasing:    $(summary "$dir/during.txt")"
wait "${pids[-1]}" || true
read -r t0 t1 <"$dir/retention.time"
echo "retention: $(head -n 1 "$dir/retention.txt") in $(echo "$t1 - $t0" | bc) s (from 1 s into the run)"
