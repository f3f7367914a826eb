#!/usr/bin/env bash
# Measures one instance on this machine: sign requests per second (each a new signature, its
# confirmation email queued and written by the worker) and petition page views per second.
# Needs wrk (Debian package `wrk`). Usage: bench/run.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-32}
port=${BENCH_PORT:-18080}
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
bin=target/release/undersigned
dir=$(mktemp -d)
server=
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi; rm -rf "$dir"; }
trap cleanup EXIT
export UNDERSIGNED_DATA_DIR=$dir UNDERSIGNED_BIND=127.0.0.1:$port RUST_LOG=warn
# The bench is one client address: lift the per-address limits out of the way.
export UNDERSIGNED_SIGN_RATE_PER_MINUTE=100000000 UNDERSIGNED_SIGN_RATE_PER_HOUR=100000000

$bin petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
$bin demo >/dev/null
$bin serve >"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "== POST /petitions/bench/sign, ${secs}s, $conns connections"
wrk -t2 -c"$conns" -d"${secs}s" -s bench/sign.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|requests in|Non-2xx"
echo "== GET /petitions/un-secretary-general-free-the-prisoners (42,424 signatures), ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/petitions/un-secretary-general-free-the-prisoners" | grep -E "Requests/sec|Latency|requests in|Non-2xx"
echo "== GET /api/v1/petitions/osce-moscow-mechanism, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/api/v1/petitions/osce-moscow-mechanism" | grep -E "Requests/sec|Latency|requests in|Non-2xx"
sleep 2
echo "== rows: $(sqlite3 "$dir/undersigned.db" 'select count(*) from signatures where petition_id = (select id from petitions where slug = "bench")' 2>/dev/null || echo '(sqlite3 not installed)') signatures, $(ls "$dir/outbox" | wc -l) emails written"
