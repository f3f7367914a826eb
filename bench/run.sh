#!/usr/bin/env bash
# Load test on this machine with wrk (Debian package `wrk`): sign requests per second (each a new
# signature whose confirmation email the workers write during the run) and page views per second.
#
#   bench/run.sh [seconds] [connections]
#   BENCH_BIN=/path/to/older/undersigned bench/run.sh
#   INSTANCES=2 BENCH_DATABASE_URL=postgres://u:p@127.0.0.1/empty_db bench/run.sh
#
# Without BENCH_DATABASE_URL it runs on a fresh SQLite file. With INSTANCES=N it starts N
# instances on the same database and drives each with its own wrk; figures are the sums.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-32}
instances=${INSTANCES:-1}
port=${BENCH_PORT:-18080}
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench needs python3 (to read the emails' links)" >&2; exit 1; }

# BENCH_BIN runs another build (an older commit's, to compare) instead of this tree's.
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else cargo build --release --quiet; bin=$PWD/target/release/undersigned; fi
. bench/lib.sh
bench_scratch
export RUST_LOG=warn
export UNDERSIGNED_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$dir/undersigned.db}
# The bench is one client address: lift the per-address limits out of the way.
export UNDERSIGNED_SIGN_RATE_PER_MINUTE=100000000 UNDERSIGNED_SIGN_RATE_PER_HOUR=100000000
export UNDERSIGNED_DATA_DIR=$dir/0

$bin petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
$bin demo >/dev/null
for i in $(seq 0 $((instances - 1))); do
  UNDERSIGNED_DATA_DIR=$dir/$i UNDERSIGNED_BIND=127.0.0.1:$((port + i)) \
    $bin serve >"$dir/serve-$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 0 $((instances - 1))); do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$((port + i))/healthz" >/dev/null && break; sleep 0.1; done
done

# Runs wrk against every instance at once and prints the summed requests/s and mean latency.
drive() {
  local label=$1; shift
  local per=$(( conns / instances > 0 ? conns / instances : 1 ))
  local outs=()
  for i in $(seq 0 $((instances - 1))); do
    BENCH_PREFIX="i$i" BENCH_TOKENS="$dir/tokens-$i" wrk -t1 -c"$per" -d"${secs}s" "$@" "http://127.0.0.1:$((port + i))${path}" >"$dir/wrk-$i.txt" &
    outs+=($!)
  done
  wait "${outs[@]}"
  awk -v label="$label" '
    /Requests\/sec/ { rps += $2 }
    /requests in/ { total += $1 }
    /^    Latency/ { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; lat += v; n++ }
    /Non-2xx/ { bad += $NF }
    END { printf "%-45s %7.0f req/s  mean latency %6.1f ms  (%d requests)%s\n", label, rps, lat / n, total, (bad ? "  non-2xx: " bad : "") }
  ' "$dir"/wrk-*.txt
}

backend=${UNDERSIGNED_DATABASE_URL%%:*}
echo "== $instances instance(s) on $backend, ${secs}s per route, $conns connections in all"
path=/petitions/bench/sign drive "POST /petitions/{slug}/sign" -s bench/sign.lua
path=/petitions/un-secretary-general-free-the-prisoners drive "GET /petitions/{slug} (42,424 signatures)"
path=/api/v1/petitions/osce-moscow-mechanism drive "GET /api/v1/petitions/{slug}"
sleep 3
echo "confirmation emails written by the workers: $(find "$dir" -name '*.eml' | wc -l) (one per sign request)"

# Each instance confirms the signatures whose emails it wrote, one link per request, for a
# third of the time (there are links for about that long).
for i in $(seq 0 $((instances - 1))); do
  python3 - "$dir/$i/outbox" >"$dir/tokens-$i" <<'PY'
import email, email.policy, pathlib, re, sys
for path in pathlib.Path(sys.argv[1]).glob("*.eml"):
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    print(*re.findall(r"/confirm/([A-Za-z0-9_-]+)", text)[:1], sep="\n")
PY
done
echo "confirmation links found: $(cat "$dir"/tokens-* | wc -l)"
confirm_secs=$(( secs / 3 > 0 ? secs / 3 : 1 ))
secs=$confirm_secs path=/ drive "POST /confirm/{token} (${confirm_secs}s)" -s bench/confirm.lua
echo "signatures confirmed: $(curl -fs "http://127.0.0.1:$port/api/v1/petitions/bench" | grep -o '"signature_count":[0-9]*')"
