#!/usr/bin/env bash
# Exports 1,000,000 confirmed signatures and reports the time and the peak memory (RSS) of the
# process: the export runs in batches, so memory must not grow with the list.
# Every row is sealed (AES-256-GCM-SIV), so the export opens each one. Also prints the
# organizers' searches over the same rows (bench/signer_data.rs). Needs GNU time.
# Usage: bench/export_1m.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/undersigned
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export UNDERSIGNED_DATA_DIR=$dir RUST_LOG=warn
$bin petition create --slug million --title "A million signatures" --goal 1000000 >/dev/null

echo "== generating $rows confirmed signatures, sealed under the site's key as signing seals them"
cargo build --release --quiet --example signer_data
"$PWD/target/release/examples/signer_data" "$rows" million

echo "== undersigned export --petition million --output $dir/million.csv"
/usr/bin/time -f "elapsed %e s, peak RSS %M KiB" $bin export --petition million --output "$dir/million.csv"
echo "== $(($(wc -l < "$dir/million.csv") - 1)) rows, $(du -h "$dir/million.csv" | cut -f1)"

echo "== the same export streamed by a running server: GET /dashboard/petitions/million/export.csv"
port=${BENCH_PORT:-18090}
echo "a long bench passphrase" | $bin organizer add --email bench@example.org --name Bench --admin --password-stdin >/dev/null
UNDERSIGNED_BIND=127.0.0.1:$port $bin serve >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
jar=$dir/cookies
token=$(curl -s -c "$jar" -b "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | sed 's/.*value="//; s/"$//')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=bench@example.org" \
  --data-urlencode "password=a long bench passphrase" --data-urlencode "csrf_token=$token" "$base/login"
before=$(awk '/VmHWM/ { print $2 }' /proc/$server/status)
/usr/bin/time -f "elapsed %e s (curl)" curl -s -b "$jar" -o "$dir/http.csv" "$base/dashboard/petitions/million/export.csv"
after=$(awk '/VmHWM/ { print $2 }' /proc/$server/status)
echo "server peak RSS: $before KiB before the export, $after KiB after"
echo "== $(($(wc -l < "$dir/http.csv") - 1)) rows over HTTP; identical to the CLI file: $(cmp -s "$dir/http.csv" "$dir/million.csv" && echo yes || echo no)"
