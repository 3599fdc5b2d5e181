#!/usr/bin/env bash
# The main job: real exports of all three types (overlay, framing, annotate) and of the web
# app's keyframed overlay (§9) and multi-clip reel (§10), plain and AI-upscaled, into
# reelgpu-demo/, from a generated 1280x720 clip with audio unless an input is given
# (`bash scripts/demo.sh my-game.mp4`), plus a preview PNG of every effect and the app's
# player-detection call on the reel (a real YOLOv8s as the demo's detector).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
# the first build takes minutes: show cargo's progress
echo "demo: building reelgpu (release; the first build compiles every dependency)..." >&2
cargo build --release --locked
# the binary where cargo put it (CARGO_TARGET_DIR respected)
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
reelgpu="$target_dir/release/reelgpu"
out=reelgpu-demo
mkdir -p "$out"
input=()
[ $# -gt 0 ] && input=(--input "$1")
for job in overlay framing annotate; do
  "$reelgpu" export --job "examples/jobs/$job.json" "${input[@]}" \
    --output "$out/$job.mp4"
  # Without an input the first export generated a clip; the others reuse it.
  [ ${#input[@]} -gt 0 ] || input=(--input "$out/$job.mp4.source.mp4")
done
# The web app's keyframed highlight (contract §9) with a text layer drawn for 1280x720
# frames: always on the generated clip (made here if the exports above used your input).
v2_input=()
[ -f "$out/overlay.mp4.source.mp4" ] && v2_input=(--input "$out/overlay.mp4.source.mp4")
"$reelgpu" export --job examples/jobs/overlay_v2.json "${v2_input[@]}" \
  --output "$out/overlay_v2.mp4"
# A reel (contract §10): two clips of the generated clip, slow motion, a -3° straighten,
# moving crops, a dissolve.
gen="$out/overlay.mp4.source.mp4"
[ -f "$gen" ] || gen="$out/overlay_v2.mp4.source.mp4"
"$reelgpu" export --job examples/jobs/reel.json --input "$gen" \
  --output "$out/reel.mp4"
# The same with the AI x4 upscaler ("upscale": "ai"): a small zoomed-in crop, 0.6 s (the
# network costs about a second a frame on lavapipe, milliseconds on a GPU).
"$reelgpu" export --job examples/jobs/reel_ai.json --input "$gen" \
  --output "$out/reel_ai.mp4"
"$reelgpu" preview --output "$out/preview.png"
# The app's player detection on four moments of the reel (detect_players_batch_modal), with a
# real ultralytics YOLOv8s checkpoint as the demo's detector: the app's result dict.
bash scripts/fetch_models.sh detector
store="$out/storage"
mkdir -p "$store/demo/working_videos"
cp "$out/reel.mp4" "$store/demo/working_videos/reel.mp4"
echo '{"user_id": "demo", "input_key": "working_videos/reel.mp4", "timestamps": [0.2, 0.6, 1.0, 1.4]}' \
  > "$out/detect_kwargs.json"
REELGPU_DETECT_MODEL="$PWD/models/yolov8s-fall.pt" "$reelgpu" call detect_players_batch_modal \
  --kwargs "$out/detect_kwargs.json" --storage "$store" > "$out/detections.json"
echo "demo: player detection -> $out/detections.json"
