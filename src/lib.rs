//! reelgpu: the GPU export engine behind a sports highlight video editor.
//!
//! Module map:
//! - [`cancel`]: one cancellation signal per job; cancelling kills its ffmpeg children.
//! - [`job`]: the job contract with the web app — parameters, validation, per-frame timeline.
//! - [`frame`], [`color`]: YUV 4:2:0 frame geometry and colour matrices.
//! - [`gpu`]: wgpu adapter/device, WGSL modules (naga-validated), pipelines, buffers.
//! - [`effects`]: the GPU passes (blur, mask, composite, crop+Lanczos, colour conversion) and
//!   the filter definitions they share with the CPU references.
//! - [`engine`]: chains the passes for one frame plan, with buffers sized once per format.
//! - [`models`]: neural network weights (the AI ×4 upscaler, the YOLOv8 player detector)
//!   loaded from the files users already have (ncnn, safetensors, ultralytics `.pt`), checked.
//! - [`nn`]: GPU tensor operations for neural networks, and the detector wired from them.
//! - [`detect`]: the detector's letterbox geometry, candidate selection, NMS and boxes.
//! - [`reference`]: straightforward CPU implementations of every pass, for tests and tools.
//! - [`video`]: ffmpeg subprocesses: probe, frame extraction, the export's decoder and encoder
//!   children, the Matroska stream that carries timestamps into the encoder, and the pipe
//!   holders that splice untouched frames from one to the other.
//! - [`export`]: `reelgpu export`: segments per job type and the streaming decode → GPU →
//!   encode pipeline.
//! - [`task`]: what a job and a call share: failure kinds, stages bound to the cancel signal.
//! - [`storage`]: where job videos live — R2/S3 (`aws-sdk-s3`) or a local folder, one trait.
//! - [`calls`]: the web app's own render calls (Part 3): kwargs in, the app's progress stream
//!   out, on top of the export commands.
//! - [`worker`]: the RunPod serverless worker: job input, handler, callbacks, RunPod protocol,
//!   local HTTP API and the start-up self-check.
//! - [`preview`]: the `reelgpu preview` command: one frame or a contact sheet to PNG.
//! - [`logging`]: log output, plain or RunPod's JSON lines with the request id.
//! - [`testing`]: test patterns, image metrics and golden-image comparison.
//! - [`fuzzing`]: the properties the fuzz targets check (at the top: it feeds every layer's
//!   parsers), also run by the test suite over the committed corpora.

pub mod calls;
pub mod cancel;
pub mod color;
pub mod detect;
pub mod effects;
pub mod engine;
pub mod export;
pub mod frame;
pub mod fuzzing;
pub mod gpu;
pub mod job;
pub mod logging;
pub mod models;
pub mod nn;
pub mod preview;
pub mod reference;
pub mod storage;
pub mod task;
pub mod testing;
pub mod video;
pub mod worker;
