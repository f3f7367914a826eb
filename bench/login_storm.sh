#!/usr/bin/env bash
# 200 sign-in attempts at once, from 200 claimed addresses (behind a "proxy": X-Forwarded-For), against a
# release build: prints the answers and the server's resident memory before and at its peak.
# Password hashing (argon2id, 19 MiB each) is bounded by `password_hash_concurrency`.
# Usage: bench/login_storm.sh [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
cargo build --release --quiet
bin=$PWD/target/release/undersigned
dir=$(mktemp -d)
port=${BENCH_PORT:-18093}
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
export UNDERSIGNED_DATA_DIR=$dir UNDERSIGNED_BIND=127.0.0.1:$port RUST_LOG=warn \
  UNDERSIGNED_TRUST_PROXY_HEADERS=true
echo "a long bench passphrase" | $bin organizer add --email bench@example.org --name Bench --password-stdin >/dev/null
$bin serve >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
jar=$dir/cookies
token=$(curl -s -c "$jar" "http://127.0.0.1:$port/login" | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)
rss() { awk "/^$1:/ {print \$2}" "/proc/$pid/status"; }
echo "before: VmRSS $(rss VmRSS) KiB, peak $(rss VmHWM) KiB"
seq "$n" | xargs -P "$n" -I{} curl -s -o /dev/null -w '%{http_code}\n' -b "$jar" \
  -H "X-Forwarded-For: 198.51.100.{}" \
  --data-urlencode "email=stranger{}@example.org" --data-urlencode "password=wrong password {}" \
  --data-urlencode "csrf_token=$token" "http://127.0.0.1:$port/login" | sort | uniq -c
echo "health right after: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
echo "after:  VmRSS $(rss VmRSS) KiB, peak $(rss VmHWM) KiB"
