#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, and every test (GPU tests on lavapipe when
# there is no GPU; they never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
# Test-only tools in a venv: moto's S3-compatible server for the worker tests, ncnn for the
# upscaler's.
if [ ! -x .venv-test/bin/moto_server ]; then
  py=/usr/bin/python3; [ -x "$py" ] || py=python3
  rm -rf .venv-test
  "$py" -m venv .venv-test
  .venv-test/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
# ncnn itself (CPU), the reference the AI upscaler's tests compare against
if ! .venv-test/bin/python -c 'import ncnn, numpy' 2>/dev/null; then
  .venv-test/bin/pip install --quiet --disable-pip-version-check 'ncnn==1.0.20261020' 'numpy<2.3'
fi
# A one-off build: incremental state would only add gigabytes to target/ and time to the build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast
