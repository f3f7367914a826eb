#!/usr/bin/env bash
# Exports 1,000,000 confirmed signatures and reports the time and the peak memory (RSS) of the
# process: the export runs in batches, so memory must not grow with the list.
# Needs sqlite3 (to generate the rows quickly) and GNU time. Usage: bench/export_1m.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
command -v sqlite3 >/dev/null || { echo "needs sqlite3: apt-get install sqlite3" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/undersigned
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export UNDERSIGNED_DATA_DIR=$dir RUST_LOG=warn
$bin petition create --slug million --title "A million signatures" --goal 1000000 >/dev/null

echo "== generating $rows confirmed signatures"
sqlite3 "$dir/undersigned.db" <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO signatures (petition_id, name, email, email_key, country, public, locale, status,
                        number, created_at, confirmed_at, emails_sent)
SELECT 1,
       CASE i % 3 WHEN 0 THEN 'Անի Պետրոսյան ' || i WHEN 1 THEN 'Ольга Иванова ' || i ELSE '=Camille Martin ' || i END,
       'signer' || i || '@example.org', 'signer' || i || '@example.org',
       CASE i % 4 WHEN 0 THEN 'AM' WHEN 1 THEN 'FR' WHEN 2 THEN 'RU' ELSE 'US' END,
       i % 2, 'en', 'confirmed', i,
       datetime('2026-01-01', '+' || (i / 10) || ' seconds'),
       datetime('2026-01-01', '+' || (i / 10 + 60) || ' seconds'), 1
FROM n;
UPDATE petitions SET signature_count = $rows, last_number = $rows WHERE id = 1;
SQL

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
