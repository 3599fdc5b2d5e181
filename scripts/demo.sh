#!/usr/bin/env bash
# A real render: a generated test frame through every effect into reelgpu-preview.png.
# Extra arguments go to `reelgpu preview` (e.g. --input clip.mp4 --job job.json --frame 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
out=reelgpu-preview.png
for a in "$@"; do [ "$a" = "--output" ] && out=""; done
cargo run --release --locked --quiet -- preview ${out:+--output "$out"} "$@"
