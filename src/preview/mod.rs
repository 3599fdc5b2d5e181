//! `reelgpu preview`: one frame (of an image, a video, or a generated test card) through the
//! engine into a PNG, or a contact sheet of frames across a video.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::color::ColorSpec;
use crate::effects::convert::ColorConverter;
use crate::effects::label::LabelBand;
use crate::engine::{BlurQuality, FrameEngine, UpscaleSpec};
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::{GpuContext, GpuError};
use crate::job::timeline::{CropRect, FrameAt, FramePlan};
use crate::job::{JobFileError, JobParams, JobSpec, Limits, OverlayTimeline, ParamError};
use crate::nn::srvgg::SrNetwork;
use crate::testing::golden::write_png;
use crate::testing::pattern::{rgb_to_rgba, rgba_to_rgb, test_card};
use crate::video::{self, FrameSelector, VideoError};

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("invalid job: {0}")]
    Job(ParamError),
    #[error("job file {path}: {message}")]
    JobFile { path: PathBuf, message: String },
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("{path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("params.upscale \"ai\": the model {0}")]
    Model(#[from] crate::models::ModelError),
}

impl From<ParamError> for PreviewError {
    fn from(e: ParamError) -> Self {
        Self::Job(e)
    }
}

/// What to preview; also the `reelgpu preview` arguments (the field docs are its help text).
#[derive(Debug, Clone, clap::Args)]
pub struct PreviewRequest {
    /// Image (PNG/JPEG) or video; omitted: a generated 1280x720 test card.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Job file: `{"type", "params"}` or a full contract input; omitted: every effect side by side.
    #[arg(long)]
    pub job: Option<PathBuf>,
    /// Frame index (drives keyframes and active regions).
    #[arg(long, conflicts_with = "time")]
    pub frame: Option<u64>,
    /// Time in seconds: for a video, the first frame at or after it; for an image, the time
    /// the job's keyframes and text layers see (else frame / 30 fps).
    #[arg(long)]
    pub time: Option<f64>,
    /// A grid of N frames spread across the video.
    #[arg(long, value_name = "N", conflicts_with_all = ["frame", "time"])]
    pub contact_sheet: Option<u32>,
    /// A §10 reel's other sources, `KEY=PATH` (as for `export`); `--input` is the job's
    /// `input_video_key`. Repeatable.
    #[arg(long = "source", value_name = "KEY=PATH", value_parser = crate::export::paths::parse_source)]
    pub sources: Vec<(String, PathBuf)>,
    /// Background blur: fast (decimated, within 45 dB of exact) or exact.
    #[arg(long, value_enum, default_value_t = BlurQuality::Fast)]
    pub quality: BlurQuality,
    /// Output PNG.
    #[arg(long)]
    pub output: PathBuf,
}

/// What was rendered.
#[derive(Debug, Clone)]
pub struct PreviewReport {
    pub adapter: String,
    pub width: u32,
    pub height: u32,
    pub frames: Vec<u64>,
    pub seconds: f64,
}

const VIDEO_EXTENSIONS: [&str; 9] = [
    "mp4", "mov", "mkv", "webm", "avi", "m4v", "ts", "mts", "mpg",
];

fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| VIDEO_EXTENSIONS.contains(&e.to_lowercase().as_str()))
        .unwrap_or(false)
}

/// Reads and validates a job file.
pub fn load_job(path: &Path) -> Result<JobSpec, PreviewError> {
    crate::job::load_job(path, &Limits::default()).map_err(|e| match e {
        JobFileError::File { path, message } => PreviewError::JobFile { path, message },
        JobFileError::Invalid(p) => PreviewError::Job(p),
    })
}

/// The built-in demo: every effect on one frame.
fn demo_jobs(w: u32, h: u32) -> Vec<(&'static str, JobSpec)> {
    let (wf, hf) = (w as f64, h as f64);
    let region = |x: f64, y: f64, rx: f64, ry: f64, o: f64| serde_json::json!({"start_frame": 0, "end_frame": 1000, "x": x, "y": y, "radius_x": rx, "radius_y": ry, "opacity": o});
    let regions = serde_json::json!([
        region(wf * 0.42, hf * 0.55, wf * 0.12, hf * 0.25, 1.0),
        region(wf * 0.6, hf * 0.5, wf * 0.1, hf * 0.22, 0.6)
    ]);
    let crop_h = hf;
    let crop_w = (crop_h * 9.0 / 16.0).round();
    let jobs = [
        (
            "blur",
            serde_json::json!({"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": regions}}),
        ),
        (
            "spotlight",
            serde_json::json!({"type": "overlay", "params": {"effect_type": "spotlight", "highlight_regions": regions}}),
        ),
        (
            "blur + 9:16 crop",
            serde_json::json!({"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": regions,
            "output_width": (h / 2 * 9 / 16) & !1, "output_height": (h / 2) & !1,
            "crop_keyframes": [{"frame": 0, "x": wf * 0.5 - crop_w / 2.0, "y": 0, "width": crop_w, "height": crop_h}]}}),
        ),
        (
            "§9 keyframed highlight",
            serde_json::json!({"type": "overlay", "params": {"effect_type": "dark_overlay",
            "overlay_settings": {"fill_enabled": true, "stroke_width": 3, "dim_strength": 0.45},
            "highlight_regions": [{"start_time": 0.0, "end_time": 1.0e6, "keyframes": [
                {"time": 0.0, "x": wf * 0.42, "y": hf * 0.55, "radiusX": wf * 0.08, "radiusY": hf * 0.25, "color": "#FFD400"},
                {"time": 1.0e6, "x": wf * 0.42, "y": hf * 0.55, "radiusX": wf * 0.08, "radiusY": hf * 0.25}]}]}}),
        ),
    ];
    jobs.into_iter()
        .map(|(name, v)| {
            (
                name,
                JobSpec::from_json(&v, &Limits::default()).expect("demo job is valid"),
            )
        })
        .collect()
}

/// Frame plan and output size of `job` on frame `at` of a `w x h` source.
fn plan_for(
    job: &JobSpec,
    at: FrameAt,
    w: u32,
    h: u32,
) -> Result<(FramePlan, Option<(u32, u32)>), PreviewError> {
    let timeline = match &job.params {
        JobParams::Overlay(p) => OverlayTimeline::new(p),
        JobParams::OverlayV2(p) => OverlayTimeline::v2(p),
        JobParams::Framing(p) => OverlayTimeline::crop_only(&p.crop_keyframes),
        JobParams::Annotate(_) => {
            return Err(PreviewError::Unsupported(
                "annotate jobs cut and label clips; preview them with `reelgpu export`".into(),
            ));
        }
        JobParams::Reel(_) => {
            return Err(PreviewError::Unsupported(
                "a §10 reel is previewed at a time of the reel: `preview --time T --job reel.json \
                 --input SOURCE`"
                    .into(),
            ));
        }
    };
    Ok((timeline.plan(at, w, h), job.output_size()))
}

/// The job's text layers for frames of `format` (none for other jobs).
fn text_layers(job: &JobSpec, format: &FrameFormat) -> Result<Vec<LabelBand>, PreviewError> {
    match &job.params {
        JobParams::OverlayV2(p) => Ok(crate::effects::text::load_layers(&p.text_layers, format)?),
        _ => Ok(Vec::new()),
    }
}

/// Runs one plan on one frame and returns RGB.
fn render_rgb(
    ctx: &Arc<GpuContext>,
    frame: &YuvFrame,
    plan: &FramePlan,
    out_size: Option<(u32, u32)>,
    quality: BlurQuality,
    layers: &[LabelBand],
) -> Result<(Vec<u8>, u32, u32), PreviewError> {
    let mut engine = FrameEngine::new(ctx.clone(), frame.format, out_size, quality)?;
    engine.set_text_layers(layers)?;
    let fmt = engine.plan_output(plan);
    let mut out = YuvFrame::blank(fmt);
    engine.process(&frame.data, plan, &mut out.data)?;
    let rgb = rgba_to_rgb(&ColorConverter::new(ctx.clone(), fmt)?.yuv_to_rgba(&out)?);
    Ok((rgb, fmt.width, fmt.height))
}

/// The demo's before/after panel: one small 9:16 crop of `frame` (a sixth of its height) taken to 4× its size by Lanczos (left) and by the AI ×4 network then Lanczos
/// (right), side by side.
fn before_after(
    ctx: &Arc<GpuContext>,
    frame: &YuvFrame,
    net: &Arc<SrNetwork>,
) -> Result<(Vec<u8>, u32, u32), PreviewError> {
    let (w, h) = (frame.format.width, frame.format.height);
    // even sizes, as every frame the engine resamples to
    let ch = (h / 6).max(2) & !1;
    let cw = (ch * 9 / 16).max(2) & !1;
    // left of and below the middle: on the test card, the circle's edge, a gradient and the
    // checkerboard
    let crop = CropRect {
        x: (w * 9 / 20)
            .saturating_sub(cw / 2)
            .min(w.saturating_sub(cw)),
        y: (h * 2 / 3).saturating_sub(ch / 2).min(h.saturating_sub(ch)),
        width: cw.min(w & !1).max(2),
        height: ch.min(h & !1).max(2),
    };
    let out = (crop.width * 4, crop.height * 4);
    let mut plan = FramePlan {
        crop: Some(crop),
        ..Default::default()
    };
    let lanczos = render_rgb(ctx, frame, &plan, Some(out), BlurQuality::Fast, &[])?;
    plan.upscale = true;
    let spec = UpscaleSpec {
        net: net.clone(),
        input: (crop.width, crop.height),
        tile: None,
    };
    let mut engine =
        FrameEngine::with_upscaler(ctx.clone(), frame.format, out, BlurQuality::Fast, spec)?;
    let fmt = engine.plan_output(&plan);
    let mut yuv = YuvFrame::blank(fmt);
    engine.process(&frame.data, &plan, &mut yuv.data)?;
    let ai = rgba_to_rgb(&ColorConverter::new(ctx.clone(), fmt)?.yuv_to_rgba(&yuv)?);
    let gap = 4;
    let (pw, ph) = (2 * out.0 + gap, out.1);
    let mut rgb = vec![24u8; (pw * ph * 3) as usize];
    for (k, src) in [&lanczos.0, &ai].into_iter().enumerate() {
        let x0 = k as u32 * (out.0 + gap);
        for y in 0..ph {
            let row = &src[(y * out.0 * 3) as usize..((y + 1) * out.0 * 3) as usize];
            let d = ((y * pw + x0) * 3) as usize;
            rgb[d..d + row.len()].copy_from_slice(row);
        }
    }
    Ok((rgb, pw, ph))
}

/// Scales an RGB image to `tw` wide on the GPU (through YUV and the Lanczos pass).
fn thumbnail(
    ctx: &Arc<GpuContext>,
    rgb: &[u8],
    w: u32,
    h: u32,
    tw: u32,
) -> Result<(Vec<u8>, u32, u32), PreviewError> {
    let th = ((tw as u64 * h as u64 / w as u64) as u32).max(2) & !1;
    let fmt = FrameFormat::new(
        w,
        h,
        ColorSpec {
            range: crate::color::ColorRange::Full,
            ..Default::default()
        },
    );
    let yuv = ColorConverter::new(ctx.clone(), fmt)?.rgba_to_yuv(&rgb_to_rgba(rgb))?;
    let plan = FramePlan {
        crop: Some(CropRect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        }),
        ..Default::default()
    };
    render_rgb(ctx, &yuv, &plan, Some((tw, th)), BlurQuality::Fast, &[])
}

/// What a job does, in a few words (`overlay blur`, `framing`).
fn job_name(job: &JobSpec) -> String {
    match &job.params {
        JobParams::OverlayV2(p) => {
            let effect = format!("{:?}", p.effect_type).to_lowercase();
            let crop = if p.crop_keyframes.is_some() {
                " + crop"
            } else {
                ""
            };
            format!("overlay v2 {effect}{crop}")
        }
        JobParams::Overlay(p) => {
            let effect = match p.effect_type {
                crate::job::EffectType::Blur => "blur",
                crate::job::EffectType::Spotlight => "spotlight",
            };
            let crop = if p.crop_keyframes.is_some() {
                " + crop"
            } else {
                ""
            };
            format!("overlay {effect}{crop}")
        }
        other => match other {
            JobParams::Framing(_) => "framing".into(),
            _ => "annotate".into(),
        },
    }
}

/// Burns `text` into the bottom of an RGB panel: white on a darkened strip, sized to the
/// panel and shrunk to fit its width.
fn caption(font: &ab_glyph::FontVec, rgb: &mut [u8], w: u32, h: u32, text: &str) {
    use ab_glyph::{Font, PxScale, ScaleFont, point};
    let mut size = (h as f32 / 12.0).clamp(11.0, 28.0);
    let width_at = |size: f32| {
        let s = font.as_scaled(PxScale::from(size));
        text.chars()
            .map(|c| s.h_advance(s.glyph_id(c)))
            .sum::<f32>()
    };
    let room = w as f32 - size;
    let width = width_at(size);
    if width > room && width > 0.0 {
        size *= room / width;
    }
    let strip = (size * 1.6).ceil() as u32;
    let y0 = h.saturating_sub(strip);
    for y in y0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            for c in &mut rgb[i..i + 3] {
                *c = (f32::from(*c) * 0.35) as u8;
            }
        }
    }
    let s = font.as_scaled(PxScale::from(size));
    let baseline = y0 as f32 + (strip as f32 + s.ascent() + s.descent()) / 2.0;
    let mut x = size / 2.0;
    for ch in text.chars() {
        let id = s.glyph_id(ch);
        let glyph = id.with_scale_and_position(PxScale::from(size), point(x, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px < 0 || py < i64::from(y0) || px >= i64::from(w) || py >= i64::from(h) {
                    return;
                }
                let i = ((py as u32 * w + px as u32) * 3) as usize;
                let cov = cov.clamp(0.0, 1.0);
                for c in &mut rgb[i..i + 3] {
                    *c = (255.0 * cov + f32::from(*c) * (1.0 - cov)).round() as u8;
                }
            });
        }
        x += s.h_advance(id);
    }
}

/// Pastes tiles into a grid (`cols` wide) on a dark background.
fn grid(tiles: &[(Vec<u8>, u32, u32)], cols: u32) -> (Vec<u8>, u32, u32) {
    let gap = 8;
    let cell_w = tiles.iter().map(|t| t.1).max().unwrap_or(1);
    let cell_h = tiles.iter().map(|t| t.2).max().unwrap_or(1);
    let rows = (tiles.len() as u32).div_ceil(cols);
    let (w, h) = (
        cols * cell_w + (cols + 1) * gap,
        rows * cell_h + (rows + 1) * gap,
    );
    let mut out = vec![24u8; (w * h * 3) as usize];
    for (i, (rgb, tw, th)) in tiles.iter().enumerate() {
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        let (x0, y0) = (gap + c * (cell_w + gap), gap + r * (cell_h + gap));
        for y in 0..*th {
            let src = &rgb[(y * tw * 3) as usize..((y + 1) * tw * 3) as usize];
            let d = (((y0 + y) * w + x0) * 3) as usize;
            out[d..d + src.len()].copy_from_slice(src);
        }
    }
    (out, w, h)
}

/// One frame of a §10 reel: the frame at `--time` (or `--frame`, a reel frame) rendered as
/// the export renders it, a dissolve's other clip included.
fn reel_preview(
    ctx: &Arc<GpuContext>,
    req: &PreviewRequest,
    job: &JobSpec,
    p: &crate::job::framing_v2::ReelParams,
    started: Instant,
) -> Result<PreviewReport, PreviewError> {
    use crate::job::reel::{Blend, ReelTimeline};
    if req.contact_sheet.is_some() {
        return Err(PreviewError::Unsupported(
            "a reel is previewed one frame at a time (--time or --frame)".into(),
        ));
    }
    let default_key = job.input_key.clone().unwrap_or_default();
    let location = |i: usize| -> Result<PathBuf, PreviewError> {
        let key = p.source_key(i, &default_key);
        if key == default_key {
            return req.input.clone().ok_or_else(|| {
                PreviewError::Unsupported("a reel needs --input (its source video)".into())
            });
        }
        req.sources
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, path)| path.clone())
            .ok_or_else(|| {
                PreviewError::Job(ParamError::new(
                    p.source_field(i),
                    format!("names source {key:?}: give it with --source {key}=PATH"),
                ))
            })
    };
    let mut lens = Vec::new();
    for i in 0..p.clips_data.len() {
        let info = video::probe(&location(i)?)?;
        lens.push(info.duration_s.unwrap_or(f64::INFINITY));
    }
    let t = ReelTimeline::new(p, &lens)?;
    let net = match t.upscale_ai {
        true => {
            let model = crate::models::load(&crate::models::model_path())?;
            Some(Arc::new(SrNetwork::new(ctx, &model)))
        }
        false => None,
    };
    let m = match (req.frame, req.time) {
        (Some(f), _) => f,
        (None, Some(s)) => (s * t.fps).round().max(0.0) as u64,
        (None, None) => 0,
    }
    .min(t.total_frames.saturating_sub(1));
    let (i, n) = t.locate(m);
    let render = |i: usize, n: u64, other: Option<&YuvFrame>| -> Result<YuvFrame, PreviewError> {
        let path = location(i)?;
        let st = t.clips[i].source_time(n, t.fps);
        let mut frames =
            video::extract_frames(&path.to_string_lossy(), &FrameSelector::AtOrBefore(st))?;
        let frame = frames.remove(0).frame;
        let mut plan = FramePlan::default();
        t.plan_into(i, n, (frame.format.width, frame.format.height), &mut plan);
        let mut engine = match &net {
            Some(net) => FrameEngine::with_upscaler(
                ctx.clone(),
                frame.format,
                t.out_size,
                req.quality,
                UpscaleSpec {
                    net: net.clone(),
                    input: t.network_input(i, (frame.format.width, frame.format.height)),
                    tile: None,
                },
            )?,
            None => FrameEngine::new(ctx.clone(), frame.format, Some(t.out_size), req.quality)?,
        };
        let mut out = YuvFrame::blank(engine.plan_output(&plan));
        match other {
            Some(o) => engine.process_with(&frame.data, &o.data, &plan, &mut out.data)?,
            None => {
                plan.mix = plan
                    .mix
                    .filter(|m| !matches!(m, crate::job::timeline::Mix::Other { .. }));
                engine.process(&frame.data, &plan, &mut out.data)?
            }
        }
        Ok(out)
    };
    let out = match t.blend(i, n) {
        Some(Blend::Dissolve { .. }) => {
            let prev = &t.clips[i - 1];
            let tail = render(i - 1, prev.frames - t.transition_frames + n, None)?;
            render(i, n, Some(&tail))?
        }
        _ => render(i, n, None)?,
    };
    let rgb = rgba_to_rgb(&ColorConverter::new(ctx.clone(), out.format)?.yuv_to_rgba(&out)?);
    let (w, h) = (out.format.width, out.format.height);
    write_preview(ctx, req, &rgb, (w, h), vec![m], started)
}

/// Writes the rendered RGB image to `req.output` and reports it.
fn write_preview(
    ctx: &Arc<GpuContext>,
    req: &PreviewRequest,
    rgb: &[u8],
    (w, h): (u32, u32),
    frames: Vec<u64>,
    started: Instant,
) -> Result<PreviewReport, PreviewError> {
    write_png(&req.output, rgb, w, h).map_err(|message| PreviewError::Image {
        path: req.output.clone(),
        message,
    })?;
    Ok(PreviewReport {
        adapter: ctx.adapter.to_string(),
        width: w,
        height: h,
        frames,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Renders the preview described by `req`.
pub fn run(ctx: &Arc<GpuContext>, req: &PreviewRequest) -> Result<PreviewReport, PreviewError> {
    let started = Instant::now();
    let job = req.job.as_deref().map(load_job).transpose()?;
    if let Some(spec) = &job
        && let JobParams::Reel(p) = &spec.params
    {
        return reel_preview(ctx, req, spec, p, started);
    }
    let input_name = req.input.as_ref().map(|p| p.display().to_string());

    // Source frames with their indices and times (seconds, when from a video).
    let frames: Vec<(u64, Option<f64>, YuvFrame)> = match &req.input {
        None => {
            let (w, h) = (1280, 720);
            let fmt = FrameFormat::new(w, h, ColorSpec::BT709_LIMITED);
            let yuv = ColorConverter::new(ctx.clone(), fmt)?
                .rgba_to_yuv(&rgb_to_rgba(&test_card(w, h)))?;
            vec![(req.frame.unwrap_or(0), req.time, yuv)]
        }
        Some(path) if is_video(path) => {
            let name = input_name.clone().unwrap_or_default();
            let selector = match (req.contact_sheet, req.frame, req.time) {
                (Some(n), _, _) => {
                    // n frames spread evenly over the video's (probed) length: the first
                    // frame at or after the middle of each n-th
                    let duration = video::probe(path)?.duration_s.unwrap_or(0.0).max(0.0);
                    let n = n.max(1);
                    FrameSelector::Times(
                        (0..n)
                            .map(|k| duration * (2 * k + 1) as f64 / (2 * n) as f64)
                            .collect(),
                    )
                }
                (None, _, Some(t)) => FrameSelector::Time(t),
                (None, f, None) => FrameSelector::Index(f.unwrap_or(0)),
            };
            video::extract_frames(&name, &selector)?
                .into_iter()
                .map(|e| (e.index, Some(e.time_s), e.frame))
                .collect()
        }
        Some(path) => {
            if req.contact_sheet.is_some() {
                return Err(PreviewError::Unsupported(
                    "--contact-sheet needs a video input".into(),
                ));
            }
            let img = image::open(path)
                .map_err(|e| PreviewError::Image {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .to_rgb8();
            let (w, h) = img.dimensions();
            let fmt = FrameFormat::new(w, h, ColorSpec::BT709_LIMITED);
            let yuv =
                ColorConverter::new(ctx.clone(), fmt)?.rgba_to_yuv(&rgb_to_rgba(img.as_raw()))?;
            vec![(req.frame.unwrap_or(0), req.time, yuv)]
        }
    };

    // the demo's AI x4 panel: the network loaded once for every frame
    let demo_net = job.is_none().then(|| {
        crate::models::load(&crate::models::model_path()).map(|m| Arc::new(SrNetwork::new(ctx, &m)))
    });
    let mut tiles = Vec::new();
    // each panel's caption: what was done to it, and which frame it is
    let mut captions = Vec::new();
    for (index, time, frame) in &frames {
        let (w, h) = (frame.format.width, frame.format.height);
        // images and the test card: the time given, else frame / 30 fps
        let at = FrameAt::new(*index, time.unwrap_or(*index as f64 / 30.0));
        let at_text = match time {
            Some(t) => format!("frame {index} · {t:.2} s"),
            None => format!("frame {index}"),
        };
        match &job {
            Some(job) => {
                let (plan, size) = plan_for(job, at, w, h)?;
                let layers = text_layers(job, &frame.format)?;
                tiles.push(render_rgb(ctx, frame, &plan, size, req.quality, &layers)?);
                captions.push(format!("{} · {at_text}", job_name(job)));
            }
            None => {
                tiles.push(render_rgb(
                    ctx,
                    frame,
                    &FramePlan::default(),
                    None,
                    req.quality,
                    &[],
                )?);
                captions.push(format!("original · {at_text}"));
                for (name, demo) in demo_jobs(w, h) {
                    let (plan, size) = plan_for(&demo, at, w, h)?;
                    tiles.push(render_rgb(ctx, frame, &plan, size, req.quality, &[])?);
                    captions.push(format!("{name} · {at_text}"));
                }
                match &demo_net {
                    Some(Ok(net)) => {
                        tiles.push(before_after(ctx, frame, net)?);
                        captions.push(format!("small crop x4: lanczos | ai · {at_text}"));
                    }
                    Some(Err(e)) => tracing::warn!("no AI upscaler panel: {e}"),
                    None => {}
                }
            }
        }
    }
    let (rgb, w, h) = if tiles.len() == 1 {
        tiles.pop().expect("one tile")
    } else {
        let thumb_w = if req.contact_sheet.is_some() { 480 } else { 0 };
        let mut tiles = if thumb_w > 0 {
            tiles
                .iter()
                .map(|(rgb, w, h)| thumbnail(ctx, rgb, *w, *h, thumb_w.min(*w & !1)))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            tiles
        };
        // panels explain themselves: a caption burned into each (when a font is there)
        match crate::effects::label::load_font(&crate::effects::label::font_path()) {
            Ok(font) => {
                for ((rgb, w, h), text) in tiles.iter_mut().zip(&captions) {
                    caption(&font, rgb, *w, *h, text);
                }
            }
            Err(e) => tracing::warn!("panels left without captions: {e}"),
        }
        let cols = (tiles.len() as f64).sqrt().ceil() as u32;
        grid(&tiles, cols)
    };
    let indices = frames.iter().map(|(i, _, _)| *i).collect();
    write_preview(ctx, req, &rgb, (w, h), indices, started)
}
