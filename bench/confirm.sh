#!/usr/bin/env bash
# Confirmation throughput: signs for S seconds with wrk, waits for every confirmation email,
# then confirms the links with wrk for S/2 seconds and counts the confirmed signatures.
# Confirming is where a signature enters the signed log (its event is queued in the confirm
# transaction, the receipt email too, and the sequencer appends and signs every second).
#
#   bench/confirm.sh [seconds] [connections]
#   BIN=/path/to/undersigned bench/confirm.sh      # another build, e.g. one from before the log
#
# bench/log_overhead.sh runs it on this tree and on the last commit before the log.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
port=${BENCH_PORT:-18180}
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
bin=${BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=$PWD/target/release/undersigned
fi
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$dir"
}
trap cleanup EXIT
export RUST_LOG=warn
export UNDERSIGNED_DATA_DIR=$dir UNDERSIGNED_BIND=127.0.0.1:$port
export UNDERSIGNED_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$dir/undersigned.db}
export UNDERSIGNED_SIGN_RATE_PER_MINUTE=100000000 UNDERSIGNED_SIGN_RATE_PER_HOUR=100000000
"$bin" petition create --slug bench --title "Benchmark petition" --goal 1000000 >/dev/null
"$bin" serve >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

wrk -t1 -c"$conns" -d"${secs}s" -s bench/sign.lua "http://127.0.0.1:$port/petitions/bench/sign" >"$dir/sign.txt"
signed=$(awk '/requests in/ { print $1 }' "$dir/sign.txt")
# Every sign request queued one email; wait until the worker has written them all.
for _ in $(seq 600); do
  [ "$(find "$dir/outbox" -name '*.eml' | wc -l)" -ge "$signed" ] && break
  sleep 0.5
done
# The first link of each email is the plain-text part's, whole (a token is 43 characters).
find "$dir/outbox" -name '*.eml' -exec grep -m1 -oh '/confirm/[A-Za-z0-9_-]\{43\}' {} + \
  | sed 's#^/confirm/##' | sort -u >"$dir/tokens.txt"
links=$(wc -l <"$dir/tokens.txt")
# Restart with email delivery failing fast and retried only much later, so that the confirm
# phase measures confirming (and the log), not the worker writing email files on the same two
# cores. MAIL_DURING_CONFIRM=1 keeps the worker sending.
if [ "${MAIL_DURING_CONFIRM:-0}" != 1 ]; then
  kill "$pid"; wait "$pid" 2>/dev/null || true
  UNDERSIGNED_SMTP_URL=smtp://127.0.0.1:9 UNDERSIGNED_EMAIL_RETRY_BASE_MS=3600000 \
    "$bin" serve >"$dir/serve2.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
fi
before=$(curl -fs "http://127.0.0.1:$port/api/v1/petitions/bench" | grep -o '"signature_count":[0-9]*' | cut -d: -f2)
csecs=$(( secs / 2 > 0 ? secs / 2 : 1 ))
BENCH_TOKENS=$dir/tokens.txt wrk -t1 -c"$conns" -d"${csecs}s" -s bench/confirm.lua "http://127.0.0.1:$port/" >"$dir/confirm.txt"
after=$(curl -fs "http://127.0.0.1:$port/api/v1/petitions/bench" | grep -o '"signature_count":[0-9]*' | cut -d: -f2)
confirmed=$(( after - before ))
lat=$(awk '/^    Latency/ { print $2 }' "$dir/confirm.txt")
echo "$($bin --version): $signed signed in ${secs}s ($(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$dir/sign.txt") req/s); $links links"
echo "confirmed $confirmed in ${csecs}s: $(( confirmed / csecs )) confirmations/s, mean latency $lat"
[ "$confirmed" -lt "$links" ] || echo "warning: every link was confirmed before the end; use more sign seconds" >&2
