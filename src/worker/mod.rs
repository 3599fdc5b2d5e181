//! The production side: reelgpu as a RunPod serverless worker.
//!
//! - [`input`]: a job's `input` (contract §1) checked field by field.
//! - [`handler`]: one job end to end — download, export, upload — with its callbacks and the
//!   contract's result object.
//! - [`callbacks`]: progress/complete/error POSTs to the web app from a background task
//!   (throttled, signed, host-checked).
//! - [`runpod`]: RunPod's job-take / result / heartbeat protocol and the graceful stop.
//! - [`serve`]: the local HTTP API (`reelgpu serve`).
//! - [`selfcheck`]: start-up checks of ffmpeg, encoders, NVDEC, the GPU and storage.

pub mod callbacks;
pub mod handler;
pub mod input;
pub mod runpod;
pub mod selfcheck;
pub mod serve;

pub use handler::{JobFailure, JobOutcome, Worker};

use std::path::PathBuf;
use std::sync::Arc;

use crate::export::DecoderChoice;
use crate::job::Limits;

/// The folder jobs work in: `REELGPU_WORK_DIR`, else the system temp folder.
pub fn work_dir() -> PathBuf {
    std::env::var_os("REELGPU_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Builds the worker from a passed self-check and the environment (`REELGPU_MAX_DIMENSION`,
/// `CALLBACK_SECRET`, `CALLBACK_ALLOWED_HOSTS`). In `production` (RunPod) callbacks never go
/// to internal addresses unless named in `CALLBACK_ALLOWED_HOSTS`.
pub fn build(
    checked: selfcheck::Checked,
    limits: Limits,
    work_dir: PathBuf,
    production: bool,
) -> Arc<Worker> {
    let policy = Arc::new(callbacks::CallbackPolicy::from_env(production));
    Arc::new(Worker {
        storage: Arc::from(checked.storage),
        gpu: checked.gpu,
        encoder: checked.encoder,
        // NVDEC is tried per source only where the self-check found it working at all.
        decoder: if checked.health.nvdec {
            DecoderChoice::Auto
        } else {
            DecoderChoice::Software
        },
        limits,
        http: callbacks::http_client(policy.clone()),
        callback_policy: policy,
        work_dir,
        job_timeout: handler::job_timeout_from_env(),
        detector: checked.detector,
        outros: Default::default(),
    })
}
