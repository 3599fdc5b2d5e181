#!/usr/bin/env bash
# The GPU kit (issue 13). Two steps:
#
#   bash scripts/gpu_check.sh prepare   # here: builds gpu-bundle/ (<= 60 MiB, git-ignored)
#   bash scripts/gpu_check.sh run       # on the lent GPU machine (carry gpu-bundle), or here
#
# `prepare` puts into gpu-bundle/ everything a bare GPU machine lacks: the release reelgpu and
# engine-benchmark binaries (stripped), a static ffmpeg with NVDEC (PyPI's imageio-ffmpeg
# 0.8.1 wheel: ffmpeg 9), and the Vulkan loader, each xz-compressed; no ffprobe (reelgpu
# probes with ffmpeg's stream dump when there is none). `run` unpacks them into a temporary
# folder and prints one report: the GPU and driver, the Vulkan ICD it found (or why none),
# the wgpu adapter, the engine's ms/frame at 1080p and 4K for every effect, and whole
# exports of a generated 1080p clip with NVDEC and with software decode (libx264: the H200
# has no NVENC), and the worker's throughput with 1, 2 and 4 jobs at once on the one device
# (scripts/throughput.py). The engine rows include the YOLOv8 player detector at every scale
# (n..x, 640x384 and 640x640, random weights made in place). `run --quick` (CI, lavapipe) uses fewer frames and a shorter clip.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=gpu-bundle
LIMIT=$((60 * 1024 * 1024))
WHEEL_VERSION=0.8.1

# pip, from the system's python when it has it, else from a venv of the kit's own
pip_download() {
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip download "$@"
  else
    [ -x .gpu-cache/venv/bin/pip ] || python3 -m venv .gpu-cache/venv
    .gpu-cache/venv/bin/pip download "$@"
  fi
}

prepare() {
  bash scripts/setup.sh
  source scripts/env.sh
  for tool in xz strip; do
    command -v "$tool" >/dev/null ||
      { echo "gpu_check: $tool is needed (apt-get install xz-utils binutils)" >&2; exit 1; }
  done
  # build outputs found through cargo (CARGO_TARGET_DIR respected), never by a fixed path
  local bin
  bin=$(cargo build --release --locked --bin reelgpu --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "reelgpu":
        print(m["executable"])' | tail -1)
  [ -x "$bin" ] || { echo "gpu_check: reelgpu did not build" >&2; exit 1; }
  local bench
  bench=$(cargo bench --bench engine --no-run --locked --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "engine":
        print(m["executable"])' | tail -1)
  [ -x "$bench" ] || { echo "gpu_check: the engine benchmark did not build" >&2; exit 1; }
  local cache=.gpu-cache
  mkdir -p "$cache"
  local wheel="$cache/imageio_ffmpeg-$WHEEL_VERSION-py3-none-manylinux_2_28_x86_64.whl"
  if [ ! -f "$wheel" ]; then
    pip_download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --platform manylinux_2_28_x86_64 --python-version 3.12 \
      "imageio-ffmpeg==$WHEEL_VERSION" -d "$cache"
  fi
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  python3 - "$wheel" "$tmp/ffmpeg" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if "/binaries/ffmpeg-linux" in n)
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
  chmod +x "$tmp/ffmpeg"
  cp "$bin" "$tmp/reelgpu"
  # the AI x4 model (fetched by setup.sh) travels with the kit
  cp models/realesr-animevideov3-x4.param models/realesr-animevideov3-x4.bin "$tmp/"
  cp "$bench" "$tmp/engine-bench"
  strip "$tmp/reelgpu" "$tmp/engine-bench"
  local loader
  # awk reads all of ldconfig's list: quitting at the first match could end ldconfig with
  # SIGPIPE mid-write, which pipefail turns into a failed prepare
  loader=$(ldconfig -p | awk '/libvulkan.so.1 .*x86-64/ && !found {print $NF; found = 1}')
  [ -n "$loader" ] || { echo "gpu_check: libvulkan.so.1 not found (apt-get install libvulkan1)" >&2; exit 1; }
  cp -L "$loader" "$tmp/libvulkan.so.1"
  for f in reelgpu engine-bench ffmpeg libvulkan.so.1 \
    realesr-animevideov3-x4.param realesr-animevideov3-x4.bin; do
    xz -6 -T0 -c "$tmp/$f" > "$BUNDLE/$f.xz"
  done
  {
    echo "reelgpu $(git rev-parse --short HEAD 2>/dev/null || echo unknown), built $(date -u +%FT%TZ)"
    echo "ffmpeg: imageio-ffmpeg $WHEEL_VERSION ($("$tmp/ffmpeg" -hide_banner -version | sed -n 1p))"
    (cd "$BUNDLE" && sha256sum ./*.xz)
  } > "$BUNDLE/MANIFEST"
  local size
  size=$(du -cb "$BUNDLE" | tail -1 | cut -f1)
  echo "gpu_check: $BUNDLE is $((size / 1024 / 1024)) MiB ($size bytes)"
  ls -l "$BUNDLE"
  if [ "$size" -gt "$LIMIT" ]; then
    echo "gpu_check: the bundle is over 60 MiB" >&2
    exit 1
  fi
}

section() { printf '\n## %s\n\n' "$1"; }

run() {
  local quick=0
  [ "${1:-}" = "--quick" ] && quick=1
  [ -f "$BUNDLE/MANIFEST" ] || { echo "gpu_check: no $BUNDLE/ (run: bash scripts/gpu_check.sh prepare)" >&2; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/reelgpu-gpu-kit.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/bin" "$work/lib" "$work/xdg"
  chmod 700 "$work/xdg"
  # wgpu's loaders look for a runtime dir; a private one, gone with the kit's folder
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work/xdg}"
  for f in "$BUNDLE"/*.xz; do
    local name
    name=$(basename "$f" .xz)
    local dest="$work/bin/$name"
    [ "$name" = libvulkan.so.1 ] && dest="$work/lib/$name"
    case "$name" in realesr-*) dest="$work/$name" ;; esac
    if command -v xz >/dev/null; then
      xz -dc "$f" > "$dest"
    else
      python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' "$f" "$dest"
    fi
    chmod +x "$dest"
  done
  export PATH="$work/bin:$PATH"
  export REELGPU_FFMPEG="$work/bin/ffmpeg"
  # no ffprobe in the bundle: reelgpu probes with ffmpeg's stream dump
  export REELGPU_FFPROBE="$work/bin/ffprobe-not-bundled"
  export REELGPU_LOG="${REELGPU_LOG:-warn}"
  export REELGPU_SR_MODEL="$work/realesr-animevideov3-x4.param"
  echo "# reelgpu GPU check — $(date -u +%FT%TZ)"
  sed -n 1,2p "$BUNDLE/MANIFEST"

  section "Machine"
  echo "- kernel: $(uname -sr), $(nproc) CPUs"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/- GPU: /'
  else
    echo "- GPU: no nvidia-smi"
  fi

  section "Vulkan"
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    echo "- loader: the system's ($(ldconfig -p | awk '/libvulkan.so.1 / && !found {print $NF; found = 1}'))"
  else
    export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "- loader: none installed; the bundle's libvulkan.so.1"
  fi
  local icd=""
  if [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    icd="${VK_DRIVER_FILES:-$VK_ICD_FILENAMES} (from the environment)"
  else
    for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
      /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json; do
      if [ -f "$f" ]; then icd="$f"; export VK_DRIVER_FILES="$f"; break; fi
    done
    if [ -z "$icd" ]; then
      # the NVIDIA driver's Vulkan entry points live in libGLX_nvidia: describe it ourselves
      local glx
      glx=$( (ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 / && !found {print $NF; found = 1}') || true)
      [ -z "$glx" ] && glx=$(ls /usr/local/nvidia/lib64/libGLX_nvidia.so.0 /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 2>/dev/null | head -1 || true)
      if [ -n "$glx" ]; then
        printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3"}}\n' "$glx" > "$work/nvidia_icd.json"
        export VK_DRIVER_FILES="$work/nvidia_icd.json"
        icd="written for $glx (no nvidia_icd.json installed)"
      fi
    fi
  fi
  if [ -n "$icd" ]; then
    echo "- NVIDIA ICD: $icd"
  else
    echo "- NVIDIA ICD: none (no nvidia_icd.json and no libGLX_nvidia.so.0): wgpu falls back to what it finds"
  fi

  section "Engine (ms per frame, upload and readback included)"
  local frames=20
  [ "$quick" = 1 ] && frames=2
  if [ "$quick" = 1 ]; then
    # one timed frame of the AI x4 rows (tens of seconds each on lavapipe) and of yolov8n's
    REELGPU_BENCH_FRAMES=$frames REELGPU_BENCH_SR_FRAMES=1 REELGPU_BENCH_DETECT_SCALES=n \
      REELGPU_BENCH_DETECT_FRAMES=1 engine-bench 2>&1 | grep -v '^$' ||
      echo "engine bench failed: $?"
  else
    # the detector's rows at every scale, random weights made in place (a yolov8x's 130 MB
    # would not fit the bundle): yolov8x is 154.7 GFLOP at 640x384, the goal under 5 ms
    REELGPU_BENCH_FRAMES=$frames REELGPU_BENCH_4K=1 REELGPU_BENCH_SR_FRAMES=10 \
      REELGPU_BENCH_DETECT_FRAMES=20 engine-bench 2>&1 |
      grep -v '^$' || echo "engine bench failed: $?"
  fi

  section "Whole exports (generated 1080p clip with audio; libx264)"
  local secs=10 size=1920x1080
  [ "$quick" = 1 ] && secs=1
  local clip="$work/src.mp4"
  ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc2=size=$size:rate=30:duration=$secs" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$secs" \
    -c:v libx264 -preset ultrafast -g 30 -pix_fmt yuv420p -c:a aac "$clip"
  cat > "$work/blur.json" <<'JOB'
{"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": [
  {"start_frame": 0, "end_frame": 100000, "x": 820, "y": 560, "radius_x": 110, "radius_y": 240},
  {"start_frame": 0, "end_frame": 100000, "x": 1100, "y": 600, "radius_x": 100, "radius_y": 220, "opacity": 0.7}]}}
JOB
  cat > "$work/reel.json" <<'JOB'
{"type": "framing", "params": {"target_width": 810, "target_height": 1440, "fps": 30,
  "transition": {"type": "dissolve", "duration": 0.3},
  "clips_data": [{"source_start_time": 0.0, "source_end_time": 0.6},
                 {"source_start_time": 0.4, "source_end_time": 1.0, "rotation": -3}]}}
JOB
  # the AI x4 reel: 9:16 crops of 203x360 (the app's usual zoom on 1080p) through the network,
  # then Lanczos to 810x1440; --quick (lavapipe): 6 frames of a 68x120 crop
  local ai_w=203 ai_h=360 ai_end=1.0
  [ "$quick" = 1 ] && { ai_w=68; ai_h=120; ai_end=0.2; }
  cat > "$work/reel-ai.json" <<JOB
{"type": "framing", "params": {"target_width": 810, "target_height": 1440, "fps": 30, "upscale": "ai",
  "clips_data": [{"source_start_time": 0.0, "source_end_time": $ai_end,
    "keyframes": [{"time": 0.0, "x": 800, "y": 300, "width": $ai_w, "height": $ai_h}]}]}}
JOB
  # the same AI reel with the last convolution writing RGB and a separate conversion to YUV
  # (REELGPU_SR_FUSE=0), beside the fused kernel a GPU gets by default
  cp "$work/reel-ai.json" "$work/reel-ai-unfused.json"
  local job decoder
  for job in blur reel reel-ai reel-ai-unfused; do
    for decoder in auto software; do
      [ "$job" != blur ] && [ "$decoder" = auto ] && continue
      echo "### $job, --decoder $decoder"
      local fuse=""
      [ "$job" = reel-ai-unfused ] && fuse=0
      if REELGPU_SR_FUSE="$fuse" reelgpu export --json --decoder "$decoder" --job "$work/$job.json" --input "$clip" \
        --output "$work/$job-$decoder.mp4" > "$work/summary.json" 2> "$work/stderr.txt"; then
        python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"- {s['frames']} frames {s['width']}x{s['height']}, {s['duration_s']:.2f} s, decoder {s['decoder']}, encoder {s['encoder']}")
print(f"- adapter: {s['adapter']}")
print(f"- {s['wall_s']:.2f} s wall = {s['fps']:.1f} fps; busy: decode {s['decode_s']:.2f} s, GPU {s['gpu_s']:.2f} s, encode {s['encode_s']:.2f} s")
u = s.get("upscaler")
if u:
    sizes = ", ".join(f"{w}x{h}" for w, h in u["input_sizes"])
    print(f"- AI x4: {u['model']} ({u['kernel']} kernel) on {sizes}: network {u['network_ms_per_frame']:.1f} ms/frame over {u['frames']} frames")
PY
      else
        echo "- FAILED:"
        tail -5 "$work/stderr.txt" | sed 's/^/    /'
        # a sandboxed kernel may not splice pipes: try once more through memory
        if REELGPU_SPLICE=0 reelgpu export --json --decoder "$decoder" --job "$work/$job.json" \
          --input "$clip" --output "$work/$job-$decoder.mp4" > "$work/summary.json" 2> "$work/stderr.txt"; then
          echo "- with REELGPU_SPLICE=0 it works: $(tail -1 "$work/summary.json" | cut -c1-200)"
        fi
      fi
    done
  done
  section "Player detection call (detect_players_batch_modal, 4 timestamps of the clip)"
  # a random checkpoint written in place (a real yolov8x would not fit the bundle): yolov8x on
  # a GPU, yolov8n with --quick; the call as the app makes it, through reelgpu call on a
  # storage folder (model load included: the first call of a worker)
  local scale=x
  [ "$quick" = 1 ] && scale=n
  if REELGPU_BENCH_WRITE_DETECTOR="$work/yolov8$scale.safetensors" REELGPU_BENCH_WRITE_SCALE=$scale \
    engine-bench > /dev/null; then
    mkdir -p "$work/store/u/working_videos"
    cp "$clip" "$work/store/u/working_videos/clip.mp4"
    echo '{"user_id": "u", "input_key": "working_videos/clip.mp4", "timestamps": [0.1, 0.4, 0.7, 0.9]}' \
      > "$work/detect.json"
    local t0 t1
    t0=$(date +%s.%N)
    if REELGPU_DETECT_MODEL="$work/yolov8$scale.safetensors" reelgpu call detect_players_batch_modal \
      --kwargs "$work/detect.json" --storage "$work/store" > "$work/detect-out.json" 2> "$work/stderr.txt"; then
      t1=$(date +%s.%N)
      python3 - "$work/detect-out.json" "$t0" "$t1" "$scale" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
t = r["timings"]
print(f"- yolov8{sys.argv[4]} (random), {len(r['detections'])} frames of {r['video_width']}x{r['video_height']}: "
      f"call {t['call_s']:.2f} s (process {float(sys.argv[3]) - float(sys.argv[2]):.2f} s with the model's load), "
      f"read {t['bytes_read']} of {t['object_bytes']} bytes")
PY
    else
      echo "- FAILED:"
      tail -5 "$work/stderr.txt" | sed 's/^/    /'
    fi
  else
    echo "- the random checkpoint could not be written"
  fi

  section "Worker throughput (REELGPU_CONCURRENCY = 1, 2, 4; NVDEC where it works)"
  # the real worker loop against a RunPod-protocol server on loopback, storage a local folder
  if [ "$quick" = 1 ]; then
    python3 scripts/throughput.py --reelgpu "$work/bin/reelgpu" --jobs 3 --concurrency 1,2 \
      --seconds 1 --size 320x180 --allow-cpu 2>&1 | grep -v '^throughput: round' ||
      echo "throughput failed: $?"
  else
    python3 scripts/throughput.py --reelgpu "$work/bin/reelgpu" --jobs 12 --seconds 3 \
      --size 1920x1080 2>&1 | grep -v '^throughput: round' || echo "throughput failed: $?"
  fi
  echo
  echo "gpu_check: done"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash scripts/gpu_check.sh prepare | run [--quick]" >&2; exit 2 ;;
esac
