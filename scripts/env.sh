# Sourced by the scripts: wgpu on Vulkan (lavapipe when there is no GPU). The reelgpu binary
# makes its own private XDG_RUNTIME_DIR when there is none; the test binaries (which create GPU
# devices directly) get one here, removed when the script exits.
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d /tmp/reelgpu-xdg.XXXXXX)"
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi
