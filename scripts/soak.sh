#!/usr/bin/env bash
# The worker's soak with N mixed jobs (default 300): the real `reelgpu worker` against the
# RunPod-protocol server and moto's S3 behind a fault-injecting proxy, two jobs at once, a
# SIGTERM at the end (tests/soak.rs). Prints the figures on its last line: jobs per minute,
# peak RSS / descriptors / threads of the first and last third, live GPU buffers, leftovers.
#   bash scripts/soak.sh [N] [JOBS_AT_ONCE (default 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"
export REELGPU_SOAK_CONCURRENCY="${2:-2}"
bash scripts/setup.sh >/dev/null
source scripts/env.sh
bash scripts/test_tools.sh
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
log="${TMPDIR:-/tmp}/reelgpu-soak-$n-$REELGPU_SOAK_CONCURRENCY.log"
REELGPU_SOAK_JOBS="$n" cargo test --locked --test soak -- --nocapture 2>&1 |
  tee "$log" | grep -E '^soak:|panicked|FAILED|test result' || true
line=$(grep '^soak:' "$log" | tail -1 || true)
grep -q 'test result: ok' "$log" || {
  echo "soak: FAILED (log: $log)" >&2
  exit 1
}
echo "$line"
