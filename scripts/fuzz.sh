#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs) for SECONDS each (default 20) and prints one
# table row per target: executions, coverage (libFuzzer's `cov` edges and `ft` features),
# corpus size, and whether it failed. Builds the targets with libFuzzer's coverage
# instrumentation on stable Rust (the sancov pass; no sanitizer, so no nightly); libFuzzer
# itself comes from the libfuzzer-sys crate (C++, built with the system's compiler).
# Each target starts from its committed seeds (fuzz/corpus/<target>) and the inputs it once
# failed on (fuzz/regressions/<target>); new inputs go to a temporary corpus, so the
# committed one is only changed by hand. A failure leaves its input under
# ${TMPDIR:-/tmp}/reelgpu-fuzz.*/artifacts and exits 1: copy it into fuzz/regressions/<target>/
# (tests/fuzz_corpus.rs then runs it forever) and fix the bug.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
shift || true
source scripts/env.sh
host=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps these flags off build scripts and proc macros, and the outputs apart from
# the ordinary builds
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "fuzz: building the targets (release, instrumented; the first build takes minutes)..." >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/reelgpu-fuzz.XXXXXX")
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$host" --bins \
  --message-format=json > "$work/build.json"
# the executables, as cargo reports them (CARGO_TARGET_DIR and the like respected)
python3 - "$work/build.json" "$work/bins" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["bin"]:
        out.write(f"{m['target']['name']} {m['executable']}\n")
PY
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cut -d' ' -f1 "$work/bins" | sort)
mkdir -p "$work/artifacts"
failed=0
echo "| target | seconds | executions | exec/s | cov | ft | corpus | result |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for t in "${targets[@]}"; do
  bin=$(awk -v t="$t" '$1 == t {print $2}' "$work/bins")
  [ -n "$bin" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  mkdir -p "$work/corpus/$t" "fuzz/regressions/$t"
  log="$work/$t.log"
  set +e
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
    "$work/corpus/$t" "fuzz/corpus/$t" "fuzz/regressions/$t" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work/corpus/$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -type f | wc -l)
  result=ok
  if [ "$rc" -ne 0 ]; then
    failed=1
    result="FAILED (exit $rc): $(ls "$work/artifacts" | grep "^$t-" | head -1)"
    grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 >&2 || true
  fi
  echo "| $t | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $corpus | $result |"
done
if [ "$failed" = 1 ]; then
  echo "fuzz: failing inputs in $work/artifacts (copy them into fuzz/regressions/<target>/)" >&2
  exit 1
fi
rm -rf "$work"
