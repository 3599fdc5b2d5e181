//! `reelgpu export`: a source video streamed through ffmpeg (decode) → the GPU engine →
//! ffmpeg (encode), for the contract's three export types. The job is checked against the
//! source (size limits, frame ranges, clip times) before any output is written.

pub mod compose;
pub mod paths;
pub mod pipeline;
pub mod reel;
pub mod segments;
pub mod stitch;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cancel::{CancelReason, CancelToken};
use crate::effects::label::LabelBand;
use crate::engine::label::LabelCompositor;
use crate::engine::{BlurQuality, FrameEngine};
use crate::frame::FrameFormat;
use crate::gpu::{GpuError, GpuStartup};
use crate::job::{JobFileError, JobParams, JobSpec, Limits, ParamError};
use crate::video::VideoError;
use crate::video::decode::{DecoderKind, nvdec_works};
use crate::video::encode::{AudioSource, ColorTags, EncodeQuality, EncodeSettings, EncoderKind};
use crate::video::probe::{Rational, VideoInfo, probe_with};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// (not a `source`: the message already holds it, and error chains would say it twice)
    #[error("invalid job: {0}")]
    Job(ParamError),
    #[error("job file {path}: {message}")]
    JobFile { path: PathBuf, message: String },
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("{input}: the video has no frames")]
    NoFrames { input: String },
    #[error("{input}: {width}x{height} exceeds the size limit of {limit}x{limit}")]
    TooLarge {
        input: String,
        width: u32,
        height: u32,
        limit: u32,
    },
    #[error("label: {0}")]
    Label(String),
    #[error("{0}")]
    Unsupported(String),
    /// The AI upscaler's model file (`REELGPU_SR_MODEL`) cannot be used.
    #[error("params.upscale \"ai\": the model {0}")]
    Model(#[from] crate::models::ModelError),
    #[error("export stopped: {0}")]
    Cancelled(CancelReason),
}

impl ExportError {
    /// Whether retrying the same job could succeed (transient faults) or not (bad input).
    pub fn should_retry(&self) -> bool {
        match self {
            ExportError::Job(_)
            | ExportError::JobFile { .. }
            | ExportError::NoFrames { .. }
            | ExportError::TooLarge { .. }
            | ExportError::Unsupported(_)
            | ExportError::Model(_)
            | ExportError::Label(_) => false,
            ExportError::Video(v) => !matches!(
                v,
                VideoError::Unusable { .. }
                    | VideoError::Damaged { .. }
                    | VideoError::Unsupported { .. }
                    | VideoError::OutOfRange { .. }
            ),
            // a job past its deadline would most likely run past it again
            ExportError::Cancelled(CancelReason::Deadline(_)) => false,
            ExportError::Gpu(_) | ExportError::Cancelled(_) => true,
        }
    }
}

impl From<ParamError> for ExportError {
    fn from(e: ParamError) -> Self {
        ExportError::Job(e)
    }
}

/// Which decoder to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecoderChoice {
    /// NVDEC when a trial decode works, else software.
    Auto,
    Software,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub input: PathBuf,
    /// The key `input` is known by (the job's `input_video_key`): §10 clips naming it, or
    /// naming no source, read `input`.
    pub default_key: String,
    /// Other sources by key (§10 `source_keys` / a clip's `input_video_key`): a path, or a
    /// range-bridge URL.
    pub sources: Vec<(String, String)>,
    pub job: JobSpec,
    pub output: PathBuf,
    pub limits: Limits,
    pub decoder: DecoderChoice,
    /// Encoder effort and audio bitrate.
    pub quality: EncodeQuality,
    /// The job's cancellation signal: cancelling kills its ffmpeg children and ends the
    /// export with [`ExportError::Cancelled`].
    pub cancel: CancelToken,
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub output: PathBuf,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub frames: u64,
    /// Frames that went through the GPU (the others had nothing to do).
    pub gpu_frames: u64,
    /// Frames with nothing to do that went from decoder to encoder in kernel pipes (Linux).
    pub spliced_frames: u64,
    /// Decode errors ffmpeg reported (only with `tolerate_decode_errors`: else the first one
    /// fails the export).
    pub decode_errors: u64,
    /// Job fields the contract does not know, ignored (dotted paths).
    pub ignored_fields: Vec<String>,
    pub width: u32,
    pub height: u32,
    pub duration_s: f64,
    pub decoder: &'static str,
    pub encoder: &'static str,
    pub adapter: String,
    pub decode_s: f64,
    pub gpu_s: f64,
    pub encode_s: f64,
    pub wall_s: f64,
    pub fps: f64,
    /// The AI ×4 upscaler, when the job used it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upscaler: Option<UpscaleReport>,
}

/// What the AI ×4 upscaler did in an export.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UpscaleReport {
    /// The model file's name (`realesr-animevideov3-x4`).
    pub model: String,
    /// The kernel the network ran on (`f32` portable).
    pub kernel: &'static str,
    /// The size each clip's crops were resampled to for the network, in clip order.
    pub input_sizes: Vec<(u32, u32)>,
    /// Frames through the network.
    pub frames: u64,
    /// Seconds the network took on them (its own submissions, waited for).
    pub network_s: f64,
    /// `network_s` per frame, in milliseconds.
    pub network_ms_per_frame: f64,
}

/// Loads a job file: `{"type", "params"}` or a full contract input object.
pub fn load_job(path: &Path, limits: &Limits) -> Result<JobSpec, ExportError> {
    crate::job::load_job(path, limits).map_err(|e| match e {
        JobFileError::File { path, message } => ExportError::JobFile { path, message },
        JobFileError::Invalid(p) => ExportError::Job(p),
    })
}

/// A source checked against the job and the limits: everything known before any output.
pub struct Prepared {
    pub info: VideoInfo,
    pub segments: Vec<segments::Segment>,
    /// Frames the export is expected to write, for progress (an estimate from the container:
    /// the decoded stream is what counts).
    pub expected_frames: u64,
    /// §9 text layers, decoded and converted for the source's frames.
    pub text_layers: Vec<LabelBand>,
    /// §10: the reel's sources and clips.
    pub reel: Option<reel::PreparedReel>,
}

impl Prepared {
    /// A §10 reel placed on its sources.
    pub fn reel(r: reel::PreparedReel) -> Self {
        Prepared {
            info: r.sources[r.clip_source[0]].info.clone(),
            segments: Vec::new(),
            expected_frames: r.timeline.total_frames,
            text_layers: Vec::new(),
            reel: Some(r),
        }
    }
}

/// Probes the source and plans the job on it; fails before any output is written. Trims
/// and clip times are checked against the decoded stream while the export runs.
pub fn prepare(req: &ExportRequest) -> Result<Prepared, ExportError> {
    if let Some(p) = reel::reel_params(req) {
        return Ok(Prepared::reel(reel::prepare(req, p)?));
    }
    let info =
        probe_with(&req.input, Some(&req.cancel)).map_err(|e| cancelled_or(req, e.into()))?;
    let limit = req.limits.max_dimension;
    if info.width > limit || info.height > limit {
        return Err(ExportError::TooLarge {
            input: req.input.display().to_string(),
            width: info.width,
            height: info.height,
            limit,
        });
    }
    let segments = segments::plan(&req.job);
    let fps = info.frame_rate.map(Rational::as_f64).unwrap_or(30.0);
    let frames = info.frame_count.or_else(|| {
        info.duration_s
            .map(|d| (d * fps).round() as u64)
            .filter(|&n| n > 0)
    });
    let expected_frames = segments::expected_frames(&segments, frames, fps);
    let text_layers = match &req.job.params {
        JobParams::OverlayV2(p) => crate::effects::text::load_layers(
            &p.text_layers,
            &FrameFormat::new(info.width, info.height, info.color),
        )?,
        _ => Vec::new(),
    };
    Ok(Prepared {
        info,
        segments,
        expected_frames,
        text_layers,
        reel: None,
    })
}

/// Runs an export prepared by [`prepare`]; `progress(done, total)` after every frame, which
/// stops the export with [`ExportError::Cancelled`] by returning `false`. The GPU may still be
/// starting: it is waited for when the first frame needs it (ffmpeg is already running by
/// then), and its adapter is reported at the end.
pub fn run(
    gpu: &GpuStartup,
    req: &ExportRequest,
    prepared: &Prepared,
    encoder: EncoderKind,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<ExportSummary, ExportError> {
    if let Some(r) = &prepared.reel {
        return reel::run(gpu, req, r, encoder, progress);
    }
    let info = &prepared.info;
    let source = req.input.to_string_lossy().into_owned();
    let decoder = match req.decoder {
        DecoderChoice::Auto if nvdec_works(&source, info.stream_index) => DecoderKind::Nvdec,
        _ => DecoderKind::Software,
    };
    tracing::info!(
        decoder = decoder.name(),
        encoder = encoder.name(),
        "export codecs"
    );
    if !req.job.ignored_fields.is_empty() {
        tracing::warn!(
            "ignoring fields the job contract does not know: {}",
            req.job.ignored_fields.join(", ")
        );
    }
    let output_size = req.job.output_size();
    let input = FrameFormat::new(info.width, info.height, info.color);
    let output_format = match output_size {
        Some((w, h)) => FrameFormat::new(w, h, info.color),
        None => input,
    };
    let mut engine = pipeline::LazyEngine::new(input, output_format, || {
        let mut engine = FrameEngine::new(gpu.wait()?, input, output_size, BlurQuality::Fast)?;
        engine.set_text_layers(&prepared.text_layers)?;
        Ok(engine)
    });
    let mut label_pass: Option<LabelCompositor> = None;
    let mut apply_label = |clip: usize, frame: &mut [u8]| {
        let JobParams::Annotate(p) = &req.job.params else {
            return Ok(());
        };
        if label_pass.is_none() {
            let ctx = gpu.wait()?;
            let pass = LabelCompositor::new(&ctx, output_format, &p.clips);
            label_pass = Some(pass.map_err(ExportError::Label)?);
        }
        let pass = label_pass.as_mut().expect("made above");
        pass.apply(clip, frame).map_err(ExportError::from)
    };
    let settings = EncodeSettings {
        width: output_format.width,
        height: output_format.height,
        // the decoded stream's time base and the audio's cuts are set when it starts
        time_base: info.time_base.unwrap_or(Rational { num: 1, den: 90000 }),
        frame_rate: info.frame_rate,
        color: color_tags(info),
        audio: info.audio.as_ref().map(|a| AudioSource {
            path: source.clone(),
            stream_index: a.stream_index,
            cuts: Vec::new(),
            container_start_s: info.start_time_s.unwrap_or(0.0),
        }),
        kind: encoder,
        quality: req.quality,
        audio_graph: None,
        cancel: Some(req.cancel.clone()),
        sar: None,
        pix_fmt: None,
    };
    let expected = prepared.expected_frames;
    let (path, stats) = pipeline::run(
        &mut engine,
        &mut apply_label,
        pipeline::PipelineInput {
            source: &source,
            info,
            segments: &prepared.segments,
            decoder,
            tolerate_decode_errors: req.job.tolerate_decode_errors,
            cancel: &req.cancel,
            encode: settings,
            output: &req.output,
        },
        // the expected count is an estimate: progress never runs past the end
        &mut |done| {
            let go_on = progress(done, expected.max(done + 1));
            if !go_on {
                req.cancel.cancel(CancelReason::Requested);
            }
            go_on && !req.cancel.is_cancelled()
        },
    )
    // a cancelled job's children were killed: whatever the stages saw, it was stopped
    .map_err(|e| cancelled_or(req, e))?;
    // a frame that needed the GPU and did not get it would have failed the export
    let adapter = match gpu.wait_if_started() {
        Some(Ok(ctx)) => ctx.adapter.to_string(),
        Some(Err(e)) => {
            tracing::warn!("the export needed no GPU, and the GPU did not start: {e}");
            format!("none (not needed; the GPU did not start: {e})")
        }
        None => "none (not needed)".into(),
    };
    Ok(ExportSummary {
        output: path,
        kind: req.job.type_name(),
        frames: stats.frames,
        gpu_frames: stats.gpu_frames,
        spliced_frames: stats.spliced_frames,
        decode_errors: stats.decode_errors,
        ignored_fields: req.job.ignored_fields.clone(),
        width: output_format.width,
        height: output_format.height,
        duration_s: stats.duration_s,
        decoder: decoder.name(),
        encoder: encoder.name(),
        adapter,
        decode_s: stats.decode_s,
        gpu_s: stats.gpu_s,
        encode_s: stats.encode_s,
        wall_s: stats.wall_s,
        fps: stats.frames as f64 / stats.wall_s.max(1e-9),
        upscaler: None,
    })
}

/// `e`, unless the job was cancelled: then the cancellation is the cause.
pub(crate) fn cancelled_or(req: &ExportRequest, e: ExportError) -> ExportError {
    match req.cancel.reason() {
        Some(reason) => ExportError::Cancelled(reason),
        None => e,
    }
}

/// The source's colour tags (BT.709 where it has none), for the output.
pub(crate) fn color_tags(info: &VideoInfo) -> ColorTags {
    let known = |v: &Option<String>| v.clone().filter(|s| !s.is_empty() && s != "unknown");
    ColorTags {
        matrix: known(&info.color_space).unwrap_or_else(|| info.color.matrix.ffmpeg_name().into()),
        primaries: known(&info.color_primaries).unwrap_or_else(|| "bt709".into()),
        transfer: known(&info.color_transfer).unwrap_or_else(|| "bt709".into()),
        range: info.color.range,
    }
}
