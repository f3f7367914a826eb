# Shared by the bench scripts: `. bench/lib.sh` from the repository's root.

# One client address signs thousands of times: the per-address and per-domain limits are
# lifted out of the way, and the app logs only warnings.
bench_unlimited() {
  export RUST_LOG=warn
  export UNDERSIGNED_SIGN_RATE_PER_MINUTE=100000000 UNDERSIGNED_SIGN_RATE_PER_HOUR=100000000
  export UNDERSIGNED_CONFIRMATION_EMAILS_PER_HOUR=100000000 UNDERSIGNED_CONFIRMATION_EMAILS_PER_DOMAIN_PER_HOUR=100000000
}

# Waits until the app on port $1 answers.
bench_wait_up() {
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && break; sleep 0.1; done
}

# Steady state for the demo on port $1: its petitions get their signed logs built at first
# start (46,000 entries); waits for both checkpoints.
bench_wait_demo() {
  bench_wait_up "$1"
  for slug in un-secretary-general-free-the-prisoners osce-moscow-mechanism; do
    for _ in $(seq 600); do
      curl -fs "http://127.0.0.1:$1/api/v1/petitions/$slug/log" | grep -q '"size":[1-9]' && break
      sleep 0.2
    done
  done
}

# A scratch directory in $dir, and $pids: processes started into it are stopped and the
# directory removed when the script exits, however it exits.
bench_scratch() {
  dir=$(mktemp -d)
  pids=()
  trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
}
