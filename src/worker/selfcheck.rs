//! The worker's start-up self-check: ffmpeg and ffprobe run, an H.264 encoder works (NVENC, or
//! libx264), NVDEC is tried, the GPU adapter opens — and a software adapter is refused in
//! production unless `REELGPU_ALLOW_CPU=1` —, the AI ×4 model (`REELGPU_SR_MODEL`) loads and
//! runs on a small crop, and the storage settings are complete. A failed
//! check names itself and the reason (RunPod is told, then the worker exits).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde::Serialize;

use crate::gpu::GpuContext;
use crate::storage::{self, Storage};
use crate::video::decode::nvdec_works;
use crate::video::encode::EncoderKind;
use crate::video::ffmpeg_path;
use crate::video::probe::ffprobe_path;

/// A failed check.
#[derive(Debug, thiserror::Error)]
#[error("self-check {check} failed: {reason}")]
pub struct Unhealthy {
    pub check: &'static str,
    pub reason: String,
}

fn unhealthy(check: &'static str, reason: impl Into<String>) -> Unhealthy {
    Unhealthy {
        check,
        reason: reason.into(),
    }
}

/// What the checks found (logged at start-up).
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub ffmpeg: String,
    pub encoder: &'static str,
    pub nvdec: bool,
    pub adapter: String,
    pub software_adapter: bool,
    /// The AI ×4 model: its name, depth, scale, weight storage and kernel.
    pub upscaler: String,
    /// The player detector (`REELGPU_DETECT_MODEL`), or why the detection calls will fail.
    pub detector: String,
    pub storage: String,
}

/// Everything the worker needs once the checks pass.
pub struct Checked {
    pub gpu: Arc<GpuContext>,
    pub encoder: EncoderKind,
    pub storage: Box<dyn Storage>,
    pub health: Health,
    /// The player detector, loaded when `REELGPU_DETECT_MODEL` is set.
    pub detector: Arc<crate::calls::detect::Detector>,
}

/// Runs every check; `production` refuses a software GPU adapter unless `REELGPU_ALLOW_CPU=1`.
pub fn run(production: bool, work_dir: &Path) -> Result<Checked, Unhealthy> {
    let ffmpeg = first_line(Command::new(ffmpeg_path()).arg("-version"))
        .map_err(|e| unhealthy("ffmpeg", e))?;
    // without ffprobe (a bare machine with only a static ffmpeg, as the GPU kit's) sources
    // are probed from ffmpeg's stream dump; an ffprobe that is there must work
    match Command::new(ffprobe_path()).arg("-version").output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => tracing::warn!(
            ffprobe = %ffprobe_path().display(),
            "ffprobe not found: sources will be probed with ffmpeg's stream dump"
        ),
        _ => {
            first_line(Command::new(ffprobe_path()).arg("-version"))
                .map_err(|e| unhealthy("ffprobe", e))?;
        }
    }
    let encoder = EncoderKind::detect();
    if encoder == EncoderKind::X264 {
        let list = Command::new(ffmpeg_path())
            .args(["-hide_banner", "-encoders"])
            .output()
            .map_err(|e| unhealthy("encoder", e.to_string()))?;
        if !String::from_utf8_lossy(&list.stdout).contains(" libx264 ") {
            return Err(unhealthy(
                "encoder",
                "neither h264_nvenc nor libx264 works in this ffmpeg",
            ));
        }
    }
    let nvdec = nvdec_probe(work_dir);
    let gpu = GpuContext::new().map_err(|e| unhealthy("gpu", e.to_string()))?;
    let allow_cpu = std::env::var("REELGPU_ALLOW_CPU").is_ok_and(|v| v == "1");
    if production && gpu.adapter.software && !allow_cpu {
        return Err(unhealthy(
            "gpu",
            format!(
                "only a software adapter ({}) is available; set REELGPU_ALLOW_CPU=1 to accept it",
                gpu.adapter
            ),
        ));
    }
    let upscaler = upscaler_check(&gpu).map_err(|e| unhealthy("upscaler", e))?;
    let detector = Arc::new(crate::calls::detect::Detector::default());
    let detector_health = detector_check(&gpu, &detector).map_err(|e| unhealthy("detector", e))?;
    let storage = storage::from_env().map_err(|e| unhealthy("storage", e.to_string()))?;
    let health = Health {
        ffmpeg,
        encoder: encoder.name(),
        nvdec,
        adapter: gpu.adapter.to_string(),
        software_adapter: gpu.adapter.software,
        upscaler,
        detector: detector_health,
        storage: storage.describe(),
    };
    Ok(Checked {
        gpu,
        encoder,
        storage,
        health,
        detector,
    })
}

/// Loads the AI ×4 model and runs it on an 8x8 crop: the output must be finite and in range.
fn upscaler_check(gpu: &GpuContext) -> Result<String, String> {
    use crate::nn::srvgg::{SrIo, SrNetwork, SrUpscaler};
    let model = crate::models::load(&crate::models::model_path()).map_err(|e| e.to_string())?;
    let net = SrNetwork::new(gpu, &model);
    let mut up = SrUpscaler::new(gpu, &net, (8, 8), None, SrIo::Rgb).map_err(|e| e.to_string())?;
    let rgb: Vec<f32> = (0..3 * 64).map(|i| (i % 17) as f32 / 16.0).collect();
    let out = up.run_rgb(gpu, &rgb).map_err(|e| e.to_string())?;
    if let Some(v) = out.iter().find(|v| !v.is_finite() || v.abs() > 16.0) {
        return Err(format!(
            "{} gave {v} on a test crop: the network does not run correctly on this adapter",
            model.name
        ));
    }
    Ok(format!(
        "{} ({} convs, x{}, {:?} weights, {} kernel)",
        model.name,
        model.body_convs(),
        model.scale,
        model.storage,
        net.kernel_name()
    ))
}

/// Loads the player detector when `REELGPU_DETECT_MODEL` is set (a broken model fails the
/// check) and runs it on a grey frame: every score must be a probability.
fn detector_check(
    gpu: &GpuContext,
    detector: &crate::calls::detect::Detector,
) -> Result<String, String> {
    use crate::models::yolo::{DETECT_MODEL_ENV, model_path};
    if model_path().is_none() {
        return Ok(format!(
            "none ({DETECT_MODEL_ENV} is not set: the detection calls will fail)"
        ));
    }
    let model = detector.get(gpu)?;
    let format = crate::frame::FrameFormat::new(64, 32, crate::color::ColorSpec::BT709_LIMITED);
    let plan = crate::calls::detect::plan(gpu, model.clone(), format)?;
    let frame = crate::frame::YuvFrame::blank(format);
    let cands = plan.candidates(gpu, &frame).map_err(|e| e.to_string())?;
    if let Some(c) = cands.iter().find(|c| !(0.0..=1.0).contains(&c.score)) {
        return Err(format!(
            "{} gave a score of {} on a test frame: the network does not run correctly on \
             this adapter",
            model.model.name, c.score
        ));
    }
    Ok(format!(
        "{} ({}, {} classes, {:?} weights)",
        model.model.name, model.model.scale, model.model.nc, model.model.storage
    ))
}

fn first_line(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} exited with {}",
            cmd.get_program(),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// Whether NVDEC decodes a tiny generated H.264 clip on this machine.
fn nvdec_probe(work_dir: &Path) -> bool {
    let clip = work_dir.join(".nvdec-probe.mp4");
    let made = crate::testing::clips::try_generate(
        &clip,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=128x128:rate=10:duration=0.3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let works = made.is_ok() && nvdec_works(&clip.to_string_lossy(), 0);
    let _ = std::fs::remove_file(&clip);
    works
}
