#!/usr/bin/env bash
# The main job: real exports of all three types (overlay, framing, annotate) and of the web
# app's keyframed overlay (§9) and multi-clip reel (§10), plain and AI-upscaled, into
# reelgpu-demo/, from a generated 1280x720 clip with audio unless an input is given
# (`bash scripts/demo.sh my-game.mp4`), plus a preview PNG of every effect and the app's
# player-detection call on the reel (a real YOLOv8s as the demo's detector), and the app's
# download of the reel with an intro card and the branded outro.
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
# The app's download with an intro card and the branded outro (compose_serve_time_modal): card
# layers made here as the app uploads them (PNG), the annotate export standing in for the
# operator's outro (REELGPU_OUTRO), conformed to the portrait reel.
cards="$store/demo/cards"
mkdir -p "$cards" "$store/demo/downloads"
cp "$out/reel.mp4" "$store/demo/downloads/reel.mp4"
read -r W H < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
  -of csv=p=0:s=x "$out/reel.mp4" | tr x ' ')
png() { ffmpeg -v error -y -f lavfi -i "$1" -frames:v 1 -pix_fmt "$2" "$cards/$3"; }
png "color=c=0x1b2a4a:s=${W}x${H}" rgb24 bg.png
png "testsrc2=s=$((W * 5 / 8))x$((H * 3 / 8))" rgb24 photo.png
png "color=c=black@0:s=${W}x${H},format=rgba,drawbox=t=12:c=white@0.6" rgba static_overlay.png
png "color=c=0xf0c020@0.9:s=$((W / 2))x$((H / 12)),format=rgba" rgba el_0.png
python3 - "$W" "$H" > "$out/compose_kwargs.json" <<'PY'
import json, sys
w, h = int(sys.argv[1]), int(sys.argv[2])
plan = {"duration": 1.5, "fps_str": "30/1", "pix_fmt": "yuv420p", "sar": "1/1", "timescale": 15360,
        "has_audio": True, "a_layout": "stereo", "a_rate": 48000, "a_channels": 2,
        "flash_st": 1.28, "flash_d": 0.22, "layers": [
            {"kind": "bg", "file": "bg.png"},
            {"kind": "photo", "file": "photo.png", "px": w // 6, "py": h // 10, "rw": w * 5 // 8,
             "rh": h * 3 // 8, "nframes": 45, "zexpr": "1.0+0.1200*(1-pow(1-min(on/44,1),2))"},
            {"kind": "static", "file": "static_overlay.png"},
            {"kind": "text", "file": "el_0.png", "lx": w // 10, "ly": h // 2, "st": 0.3,
             "fade_d": 0.4, "rise_px": 24}]}
print(json.dumps({"user_prefix": "demo", "reel_key": "downloads/reel.mp4", "card_plan": plan,
                  "intro_layer_keys": [f"cards/{n}" for n in ("bg.png", "photo.png",
                                       "static_overlay.png", "el_0.png")],
                  "outro_enabled": True, "out_key": "downloads/reel-with-intro.mp4"}))
PY
REELGPU_OUTRO="$PWD/$out/annotate.mp4" "$reelgpu" call compose_serve_time_modal \
  --kwargs "$out/compose_kwargs.json" --storage "$store" > "$out/compose.json"
cp "$store/demo/downloads/reel-with-intro.mp4" "$out/reel_with_intro.mp4"
echo "demo: intro card + reel + outro -> $out/reel_with_intro.mp4 ($out/compose.json)"
