#!/usr/bin/env bash
# Export benchmark (issue 3): plain ffmpeg transcode vs reelgpu export (no effect, blur,
# spotlight, crop to 9:16) side by side on a generated 1080p30 clip with audio, plus peak RSS
# on a 60 s clip. Prints a Markdown table. Options: --rounds N --seconds S --long-seconds L.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --locked --quiet
python3 scripts/bench_export.py "$@"
