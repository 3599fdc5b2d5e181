#!/usr/bin/env bash
# Export benchmark (issue 3): plain ffmpeg transcode vs reelgpu export (no effect, blur,
# spotlight, crop to 9:16, blur on 70% of the frames) side by side on a generated 1080p30 clip
# with audio, the original Python/OpenCV design on the same job in alternating rounds, plus
# peak RSS on a 60 s clip, then the worker's throughput with 1, 2 and 4 jobs at once
# (scripts/throughput.py). Prints Markdown tables. Options: --rounds N --seconds S
# --long-seconds L --design-rounds D --only NAME,NAME (floor always runs)
# --throughput-jobs J (0 skips) --throughput-seconds T.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --locked --quiet
# the build's folder as cargo has it (CARGO_TARGET_DIR respected)
REELGPU_TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export REELGPU_TARGET_DIR
# The original design's row (benches/original_design.py) needs OpenCV: a venv of its own.
if [ ! -x .venv-bench/bin/python3 ] || ! .venv-bench/bin/python3 -c 'import cv2' 2>/dev/null; then
  py=/usr/bin/python3; [ -x "$py" ] || py=python3
  rm -rf .venv-bench
  "$py" -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check \
    'opencv-python-headless==4.10.0.84' 'numpy<2.3'
fi
python3 scripts/bench_export.py "$@"
