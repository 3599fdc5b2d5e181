#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, and every test (GPU tests on lavapipe when
# there is no GPU; they never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast
