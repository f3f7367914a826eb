#!/usr/bin/env bash
# The signed log's cost on confirmations: bench/confirm.sh on this tree and on the last commit
# before the log (20712f4, which has the Merkle code but queues no events), built in a git
# worktree under target/.
#   bench/log_overhead.sh [seconds] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE_REV:-20712f4}
rounds=${3:-3}
tree=target/bench-before-log
[ -d "$tree" ] || git worktree add --detach "$tree" "$base" >/dev/null
(cd "$tree" && CARGO_TARGET_DIR=$PWD/../bench-before-log-target cargo build --release --quiet)
cargo build --release --quiet
before=$PWD/target/bench-before-log-target/release/undersigned
for r in $(seq "$rounds"); do
  echo "== round $r: without the log ($base)"
  BIN=$before bench/confirm.sh "${1:-10}" "${2:-16}"
  echo "== round $r: with the log (this tree)"
  BIN=$PWD/target/release/undersigned bench/confirm.sh "${1:-10}" "${2:-16}"
done
