#!/usr/bin/env bash
# The figures of the README's "Performance" table, in one run on this machine: an actix-web
# hello world (bench/hello.rs) and the app side by side under wrk, each route as a share of
# what hello world serves here.
#
#   bench/compare.sh [seconds] [connections]        (defaults: 15 s, 32 connections)
#   BENCH_BIN=/path/to/undersigned bench/compare.sh
#
# Routes: hello world; the petition page (the demo's 42,424-signature petition); its JSON;
# signing (each request a new address, on a petition of its own); a mixed load (90% reads, 10%
# signing) over 1,000 connections. After the run it checks that every accepted signature is
# stored and that its confirmation email was written, and prints the app's memory (RSS) at the
# start and end of the mixed load. Writes the table to bench/results.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-32}
mixed_conns=${MIXED_CONNECTIONS:-1000}
mixed_secs=${MIXED_SECONDS:-$secs}
port=${BENCH_PORT:-18080}
hello_port=$((port + 19))
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench needs sqlite3 (to count what was stored): apt-get install sqlite3" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true

cargo build --release --quiet --example hello
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else cargo build --release --quiet; bin=$target_dir/release/undersigned; fi
hello=$target_dir/release/examples/hello
. bench/lib.sh
bench_scratch

bench_unlimited
export UNDERSIGNED_DATABASE_URL=sqlite://$dir/undersigned.db
export UNDERSIGNED_DATA_DIR=$dir/data
export UNDERSIGNED_BIND=127.0.0.1:$port
$bin demo >/dev/null
$bin petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
$bin serve >"$dir/serve.log" 2>&1 &
app_pid=$!
pids+=($app_pid)
$hello 127.0.0.1:$hello_port &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$hello_port/" >/dev/null && break; sleep 0.1; done
# Steady state: the demo's signed logs built, and a warm-up before measuring.
bench_wait_demo "$port"
wrk -t2 -c"$conns" -d3s "http://127.0.0.1:$port/petitions/un-secretary-general-free-the-prisoners" >/dev/null

# One wrk run: prints "req/s p99_ms non2xx".
run() {
  local c=$1 s=$2; shift 2
  wrk -t2 -c"$c" -d"${s}s" --latency "$@" >"$dir/wrk.txt" 2>&1 || true
  awk '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; p99 = v }
    /Non-2xx/ { bad = $NF }
    /Socket errors/ { err = $0 }
    END { printf "%.0f %.1f %d\n", rps, p99, bad + 0 }
  ' "$dir/wrk.txt"
}
rss() { awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$app_pid/status"; }

base=http://127.0.0.1:$port
read -r hello_rps hello_p99 _ < <(run "$conns" "$secs" "http://127.0.0.1:$hello_port/")
read -r page_rps page_p99 page_bad < <(run "$conns" "$secs" -H "Accept-Encoding: gzip, br" "$base/petitions/un-secretary-general-free-the-prisoners")
read -r json_rps json_p99 json_bad < <(run "$conns" "$secs" -H "Accept-Encoding: gzip, br" "$base/api/v1/petitions/un-secretary-general-free-the-prisoners")
export BENCH_PREFIX=s
read -r sign_rps sign_p99 sign_bad < <(run "$conns" "$secs" -s bench/sign.lua "$base/")
rss_before=$(rss)
export BENCH_PREFIX=m
read -r mixed_rps mixed_p99 mixed_bad < <(run "$mixed_conns" "$mixed_secs" -s bench/mixed.lua "$base/")
rss_after=$(rss)
mixed_errors=$(grep -o "Socket errors.*" "$dir/wrk.txt" || echo "none")

# Every accepted signature stored, and its confirmation email written, within a minute.
stored=0; written=0
for _ in $(seq 60); do
  stored=$(sqlite3 "$dir/undersigned.db" "SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = 'bench'" 2>/dev/null || echo 0)
  written=$(find "$dir/data/outbox" -name '*.eml' 2>/dev/null | wc -l)
  [ "$written" -ge "$stored" ] && [ "$stored" -gt 0 ] && break
  sleep 1
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", (b > 0 ? 100 * a / b : 0) }'; }
{
  echo "Measured $(date -u +%Y-%m-%d) by \`bench/compare.sh $secs $conns\` on this machine ($(nproc) cores), wrk on the same machine, SQLite, demo data."
  echo
  echo "| route | req/s | share of hello world | p99 | non-2xx |"
  echo "|---|---|---|---|---|"
  echo "| hello world (actix-web) | $hello_rps | 100% | ${hello_p99} ms | |"
  echo "| petition page (42,424 signatures) | $page_rps | $(pct "$page_rps" "$hello_rps") | ${page_p99} ms | $page_bad |"
  echo "| \`GET /api/v1/petitions/{slug}\` | $json_rps | $(pct "$json_rps" "$hello_rps") | ${json_p99} ms | $json_bad |"
  echo "| sign (a new address each) | $sign_rps | $(pct "$sign_rps" "$hello_rps") | ${sign_p99} ms | $sign_bad |"
  echo "| mixed: 90% reads, 10% signing, $mixed_conns connections | $mixed_rps | $(pct "$mixed_rps" "$hello_rps") | ${mixed_p99} ms | $mixed_bad |"
  echo
  echo "Signatures stored for the bench petition: $stored; confirmation emails written: $written."
  echo "Memory (RSS) over the mixed load: $rss_before MiB before, $rss_after MiB after. Socket errors in the mixed load: $mixed_errors."
} | tee bench/results.md
