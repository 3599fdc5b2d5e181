#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, and every test (GPU tests on lavapipe when
# there is no GPU; they never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
bash scripts/test_tools.sh
# A one-off build: incremental state would only add gigabytes to target/ and time to the build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# the fuzz crate has its own lock: a dependency added to the main crate must be in it too
# (checked here, not 30 minutes later when the fuzz targets build)
cargo metadata --format-version 1 --locked --manifest-path fuzz/Cargo.toml > /dev/null
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast
# every fuzz target, briefly (REELGPU_FUZZ_SECONDS each, default 20), so none can rot
bash scripts/fuzz.sh "${REELGPU_FUZZ_SECONDS:-20}"
