#!/usr/bin/env bash
# Test-only tools in .venv-test: moto's S3-compatible server for the worker tests and the soak,
# ncnn (CPU) for the upscaler's. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
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
