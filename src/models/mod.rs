//! Neural network weights the engine runs, loaded from files users already have and checked
//! before any output exists: the SRVGGNetCompact super-resolution network (Real-ESRGAN's
//! `realesr-animevideov3` and `realesr-general-x4v3`) from ncnn's `.param`/`.bin` ([`ncnn`])
//! or a `.safetensors` state dict ([`safetensors`]); the YOLOv8 player detector ([`yolo`])
//! from the operator's ultralytics checkpoint, read without Python ([`torch_pt`], whose
//! pickle is replayed, never run: [`pickle`]) or a `.safetensors` state dict. Nothing is
//! downloaded at run time.

pub mod ncnn;
pub mod pickle;
pub mod safetensors;
pub mod torch_pt;
pub mod yolo;

use std::path::{Path, PathBuf};

/// A model file that cannot be used, naming the file, the layer and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ModelError {
    pub file: PathBuf,
    pub message: String,
}

impl ModelError {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// `REELGPU_SR_MODEL` names the model file: an ncnn `.param` (its `.bin` beside it) or a
/// `.safetensors`.
pub const MODEL_ENV: &str = "REELGPU_SR_MODEL";

/// The model to run: `REELGPU_SR_MODEL`, else the default the set-up fetches
/// (`models/realesr-animevideov3-x4.param` of this checkout).
pub fn model_path() -> PathBuf {
    std::env::var_os(MODEL_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.param")
        })
}

/// Loads the model at `path`, by its extension.
pub fn load(path: &Path) -> Result<SrModel, ModelError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("param") => ncnn::load(path),
        Some("safetensors") => safetensors::load(path),
        _ => Err(ModelError::new(
            path,
            "must be an ncnn .param (with its .bin beside it) or a .safetensors file",
        )),
    }
}

/// How the weights were stored in the file (they are always held as f32 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    F16,
    F32,
}

/// One 3x3 convolution (stride 1, zero padding 1) and the PReLU after it (none after the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub in_ch: usize,
    pub out_ch: usize,
    /// `[out][in][ky][kx]`, as ncnn and PyTorch store them.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// One slope per output channel.
    pub prelu: Option<Vec<f32>>,
}

impl Conv {
    /// Weight `(o, i, ky, kx)`.
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> f32 {
        self.weights[((o * self.in_ch + i) * 3 + ky) * 3 + kx]
    }
}

/// SRVGGNetCompact: RGB in (0–1), `convs` (each but the last followed by PReLU), the last
/// with `3·scale²` outputs pixel-shuffled to `scale`× the size, plus the input upsampled by
/// nearest neighbour.
#[derive(Debug, Clone, PartialEq)]
pub struct SrModel {
    /// The file's name without its extension (`realesr-animevideov3-x4`).
    pub name: String,
    pub scale: usize,
    pub convs: Vec<Conv>,
    pub storage: Storage,
}

impl SrModel {
    /// Convolutions between the first and the last (16 for animevideov3, 32 for general-x4v3).
    pub fn body_convs(&self) -> usize {
        self.convs.len().saturating_sub(2)
    }

    /// Multiply-adds ×2 per input pixel.
    pub fn flops_per_pixel(&self) -> f64 {
        self.convs
            .iter()
            .map(|c| 2.0 * 9.0 * (c.in_ch * c.out_ch) as f64)
            .sum()
    }

    /// How far (in input pixels) one output pixel sees: one per 3x3 convolution.
    pub fn receptive_radius(&self) -> usize {
        self.convs.len()
    }
}
