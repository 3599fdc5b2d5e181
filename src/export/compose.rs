//! `compose_serve_time_modal` (contract §15): `[intro card?][reel][outro?]` in one MP4. The
//! card is drawn by the engine ([`crate::effects::card`]) in the reel's own format (size, frame
//! rate, time base, sample aspect ratio, pixel format, silent audio in the reel's layout) so
//! the join can copy streams; the join copies only when §15's stricter rule holds, else
//! re-encodes; each part that fails degrades as the app's does, and only an unreadable reel or
//! an unwritable result is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ExportError;
use super::stitch::{self, StitchMode};
use crate::cancel::CancelToken;
use crate::effects::card::{Card, CardImage};
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::GpuContext;
use crate::job::card::CardPlan;
use crate::video::encode::{
    AudioGraph, ColorTags, EncodeQuality, EncodeSettings, Encoder, EncoderKind,
};
use crate::video::probe::{Rational, VideoInfo, probe_with};

/// The card's encoding (§15): libx264 crf 20 (NVENC where it works), AAC 128 kb/s.
pub const CARD_QUALITY: EncodeQuality = EncodeQuality {
    x264_preset: "veryfast",
    crf: 20,
    audio_kbps: 128,
};

/// The joined file must last at least this share of its parts' sum (§15).
pub const MIN_DURATION_SHARE: f64 = 0.6;

/// What every added segment copies from the reel.
#[derive(Debug, Clone, PartialEq)]
pub struct ReelFormat {
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rational,
    pub time_base: Rational,
    pub sar: Option<Rational>,
    pub pix_fmt: String,
    pub color: crate::color::ColorSpec,
    /// Sample rate, channels and layout name, when the reel has sound.
    pub audio: Option<(u32, u32, String)>,
}

impl ReelFormat {
    /// The reel's format, from its probe; `Err` says what a segment could not copy.
    pub fn of(info: &VideoInfo) -> Result<Self, String> {
        let frame_rate = info
            .frame_rate
            .ok_or("the reel has no frame rate to make a card at")?;
        let time_base = info.time_base.unwrap_or(Rational {
            num: 1,
            den: frame_rate.num.max(1) * 512,
        });
        if info.rotation != 0 {
            return Err(format!(
                "the reel is stored rotated ({} degrees); its segments cannot copy that",
                info.rotation
            ));
        }
        let audio = info.audio.as_ref().map(|a| {
            let layout = a
                .channel_layout
                .clone()
                .unwrap_or_else(|| match a.channels {
                    1 => "mono".into(),
                    2 => "stereo".into(),
                    n => format!("{n}c"),
                });
            (a.sample_rate, a.channels, layout)
        });
        Ok(Self {
            width: info.width,
            height: info.height,
            frame_rate,
            time_base,
            sar: info.sar,
            pix_fmt: info.pix_fmt.clone(),
            color: info.color,
            audio,
        })
    }

    /// The encoder's pixel format for a segment: the reel's when it is an 8-bit 4:2:0 one
    /// (the engine's frames are), else `yuv420p` (and the join re-encodes).
    fn pix_fmt(&self) -> String {
        match self.pix_fmt.as_str() {
            "yuv420p" | "yuvj420p" => self.pix_fmt.clone(),
            _ => "yuv420p".into(),
        }
    }

    /// Presentation time of frame `n`, in the time base.
    pub fn pts(&self, n: u64) -> i64 {
        let (f, t) = (self.frame_rate, self.time_base);
        let num = n as u128 * f.den as u128 * t.den as u128;
        let den = f.num as u128 * t.num as u128;
        ((num + den / 2) / den) as i64
    }

    fn settings(&self, kind: EncoderKind, cancel: &CancelToken, seconds: f64) -> EncodeSettings {
        let audio_graph = self.audio.as_ref().map(|(rate, _, layout)| AudioGraph {
            inputs: Vec::new(),
            graph: format!(
                "anullsrc=channel_layout={layout}:sample_rate={rate},atrim=duration={seconds:.6}[aout]"
            ),
        });
        EncodeSettings {
            width: self.width,
            height: self.height,
            time_base: self.time_base,
            frame_rate: Some(self.frame_rate),
            color: ColorTags {
                range: self.color.range,
                ..ColorTags::default()
            },
            audio: None,
            audio_graph,
            kind,
            quality: CARD_QUALITY,
            cancel: Some(cancel.clone()),
            sar: self.sar,
            pix_fmt: Some(self.pix_fmt()),
        }
    }
}

/// Draws `plan` with `images` as a video of the reel's format at `output`: its frame count
/// `round(duration × fps)`, frame `n` at `n / fps`.
pub fn render_card(
    gpu: &Arc<GpuContext>,
    plan: CardPlan,
    images: Vec<CardImage>,
    reel: &ReelFormat,
    output: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
) -> Result<u64, ExportError> {
    let fps = reel.frame_rate.as_f64();
    let frames = plan.frames(fps);
    let format = FrameFormat::new(reel.width, reel.height, reel.color);
    let card = Card::new(gpu.clone(), format, plan, images)
        .map_err(|e| ExportError::Unsupported(format!("intro card: {e}")))?;
    let seconds = frames as f64 / fps;
    let mut enc = Encoder::spawn(output, &reel.settings(encoder, cancel, seconds))?;
    let mut frame = YuvFrame::blank(format);
    for n in 0..frames {
        if cancel.is_cancelled() {
            drop(enc);
            return Err(ExportError::Cancelled(
                cancel
                    .reason()
                    .unwrap_or(crate::cancel::CancelReason::Requested),
            ));
        }
        if let Err(e) = card.render(n, fps, &mut frame) {
            drop(enc);
            return Err(e.into());
        }
        let (pts, next) = (reel.pts(n), reel.pts(n + 1));
        enc.write_frame(pts, next - pts, &frame.data)?;
    }
    enc.finish()?;
    Ok(frames)
}

/// What a compose made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComposeSummary {
    pub duration_s: f64,
    pub full_fidelity: bool,
    pub degraded_reason: Option<String>,
    pub intro: bool,
    pub outro: bool,
    /// How the parts were joined (`copy` when the reel is alone).
    pub join: StitchMode,
}

/// The parts of a compose, made by the caller: the reel, the card asked for (`None`: none
/// asked; `Some(Err)`: why it cannot be made) and the outro asked for, likewise.
pub struct ComposeParts {
    pub reel: PathBuf,
    pub reel_info: VideoInfo,
    pub card: Option<Result<(CardPlan, Vec<CardImage>), String>>,
    pub outro: Option<Result<PathBuf, String>>,
}

/// Composes `[intro?][reel][outro?]` into `output` (its folder holds the work files). A part
/// that cannot be made is left out and named in `degraded_reason`; a join that fails leaves
/// the reel alone.
pub fn compose(
    gpu: &Arc<GpuContext>,
    parts: ComposeParts,
    output: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
) -> Result<ComposeSummary, ExportError> {
    let dir = output.parent().unwrap_or(Path::new("."));
    let mut reasons: Vec<String> = Vec::new();
    let mut segments = Vec::new();
    let reel_format = ReelFormat::of(&parts.reel_info);
    let (mut intro, mut outro) = (false, false);
    if let Some(card) = parts.card {
        let made = card.and_then(|(plan, images)| {
            let reel = reel_format.clone()?;
            let path = dir.join("intro.mp4");
            match render_card(gpu, plan, images, &reel, &path, encoder, cancel) {
                Ok(_) => Ok(path),
                Err(ExportError::Cancelled(r)) => Err(format!("cancelled: {r:?}")),
                Err(e) => Err(e.to_string()),
            }
        });
        if cancel.is_cancelled() {
            return Err(ExportError::Cancelled(
                cancel
                    .reason()
                    .unwrap_or(crate::cancel::CancelReason::Requested),
            ));
        }
        match made {
            Ok(p) => {
                segments.push(p);
                intro = true;
            }
            Err(e) => {
                tracing::warn!("intro card left out: {e}");
                reasons.push(format!("intro_card_failed: {e}"));
            }
        }
    }
    segments.push(parts.reel.clone());
    if let Some(o) = parts.outro {
        match o {
            Ok(p) => {
                segments.push(p);
                outro = true;
            }
            Err(e) => {
                tracing::warn!("outro left out: {e}");
                reasons.push(format!("outro_failed: {e}"));
            }
        }
    }
    let reel_only = |dir: &Path| -> Result<f64, ExportError> {
        let temp = crate::video::encode::temp_path(output);
        std::fs::copy(&parts.reel, &temp)
            .and_then(|_| std::fs::rename(&temp, output))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                crate::video::process::VideoError::Io(std::io::Error::new(
                    e.kind(),
                    format!("writing {} in {}: {e}", output.display(), dir.display()),
                ))
            })?;
        Ok(parts.reel_info.duration_s.unwrap_or(0.0))
    };
    let (duration_s, join, joined) = if segments.len() == 1 {
        (reel_only(dir)?, StitchMode::Copy, true)
    } else {
        let sum: f64 = segments
            .iter()
            .map(|p| {
                probe_with(p, Some(cancel))
                    .ok()
                    .and_then(|i| i.duration_s)
                    .unwrap_or(0.0)
            })
            .sum();
        match stitch::stitch_as(
            &segments,
            output,
            encoder,
            cancel,
            stitch::compatible_strict,
        ) {
            Ok(s) if s.duration_s >= MIN_DURATION_SHARE * sum => (s.duration_s, s.mode, true),
            Ok(s) => {
                let _ = std::fs::remove_file(output);
                reasons.push(format!(
                    "join_failed: the joined file lasts {:.2} s of the parts' {sum:.2} s",
                    s.duration_s
                ));
                (reel_only(dir)?, StitchMode::Copy, false)
            }
            Err(ExportError::Cancelled(r)) => return Err(ExportError::Cancelled(r)),
            Err(e) => {
                reasons.push(format!("join_failed: {e}"));
                (reel_only(dir)?, StitchMode::Copy, false)
            }
        }
    };
    let full_fidelity = joined && reasons.is_empty();
    Ok(ComposeSummary {
        duration_s,
        full_fidelity,
        degraded_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        intro: intro && joined,
        outro: outro && joined,
        join,
    })
}

/// `REELGPU_OUTRO`: the operator's outro video, a file on the worker or a key in its bucket.
pub const OUTRO_ENV: &str = "REELGPU_OUTRO";

/// Where the outro comes from, when the operator gave one.
pub fn outro_location() -> Option<String> {
    std::env::var(OUTRO_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A name for the reel format an outro is conformed to (the cache's key).
pub fn format_key(f: &ReelFormat) -> String {
    let audio = f
        .audio
        .as_ref()
        .map(|(r, c, l)| format!("{r}-{c}-{l}"))
        .unwrap_or_else(|| "silent".into());
    let sar = f
        .sar
        .map(|r| format!("{}_{}", r.num, r.den))
        .unwrap_or("1_1".into());
    format!(
        "{}x{}-{}_{}-tb{}_{}-sar{sar}-{}-{:?}{:?}-{audio}",
        f.width,
        f.height,
        f.frame_rate.num,
        f.frame_rate.den,
        f.time_base.num,
        f.time_base.den,
        f.pix_fmt(),
        f.color.matrix,
        f.color.range
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        }
    })
    .collect()
}

/// The outro video at `source` conformed to the reel's format at `output`: every frame fitted
/// into the reel's frame on the GPU (scaled to fit, centred, padded with its first frame's
/// top-left colour), retimed to the reel's rate (frame `n` shows the source frame on screen
/// at `n / fps`), its sound resampled to the reel's layout (silence when it has none).
pub fn conform_outro(
    gpu: &Arc<GpuContext>,
    source: &Path,
    reel: &ReelFormat,
    output: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
) -> Result<u64, ExportError> {
    use crate::effects::card::{BG, CardRenderer, GpuCardLayer, IMAGE};
    use crate::effects::convert::ColorConverter;
    use crate::video::decode::{DecodeOptions, Decoder, DecoderKind};
    let info = probe_with(source, Some(cancel))?;
    let src_format = FrameFormat::new(info.width, info.height, info.color);
    let fps = reel.frame_rate.as_f64();
    let seconds = info
        .duration_s
        .filter(|d| *d > 0.0)
        .ok_or_else(|| ExportError::Unsupported("the outro has no duration".into()))?;
    let frames = ((seconds * fps).round() as u64).max(1);
    let (w, h) = (reel.width, reel.height);
    let scale = (w as f64 / info.width as f64).min(h as f64 / info.height as f64);
    let (rw, rh) = (
        ((info.width as f64 * scale).round() as u32).clamp(1, w),
        ((info.height as f64 * scale).round() as u32).clamp(1, h),
    );
    let rect = [
        ((w - rw) / 2) as f32,
        ((h - rh) / 2) as f32,
        rw as f32,
        rh as f32,
    ];
    let format = FrameFormat::new(w, h, reel.color);
    let src_words = (info.width * info.height) as u64;
    let renderer = CardRenderer::new(gpu.clone(), format, (w * h) as u64 + src_words)?;
    let converter = ColorConverter::new(gpu.clone(), src_format)?;
    let mut settings = reel.settings(encoder, cancel, frames as f64 / fps);
    if let (Some((rate, _, layout)), Some(a)) = (&reel.audio, &info.audio) {
        settings.audio_graph = Some(AudioGraph {
            inputs: vec![crate::video::encode::AudioInput {
                location: source.display().to_string(),
                seek_s: None,
                duration_s: None,
            }],
            graph: format!(
                "[1:{}]aresample={rate},aformat=channel_layouts={layout},apad,\
                 atrim=duration={:.6}[aout]",
                a.stream_index,
                frames as f64 / fps
            ),
        });
    }
    let mut decoder = Decoder::spawn(
        &source.display().to_string(),
        &info,
        DecoderKind::Software,
        DecodeOptions {
            cancel: Some(cancel.clone()),
            ..Default::default()
        },
    )?;
    let mut enc = Encoder::spawn(output, &settings)?;
    let mut frame = YuvFrame::blank(src_format);
    let mut shown: Option<f64> = None;
    let mut origin: Option<f64> = None;
    // the next decoded frame and its time, read ahead
    let mut pending: Option<f64> = None;
    let mut out = YuvFrame::blank(format);
    let mut layers = [GpuCardLayer::default(); 2];
    for n in 0..frames {
        let t = n as f64 / fps;
        // decode on while the next frame is due by t
        loop {
            if pending.is_none() {
                match decoder.next_frame()? {
                    None => break,
                    Some(pts) => {
                        let tb = decoder
                            .time_base()
                            .map(|r| r.as_f64())
                            .unwrap_or(1.0 / 90000.0);
                        let time = pts as f64 * tb;
                        let o = *origin.get_or_insert(time);
                        pending = Some(time - o);
                    }
                }
            }
            match pending {
                Some(p) if p <= t + 1e-9 || shown.is_none() => {
                    decoder.read_into(&mut frame.data)?;
                    let rgba = converter.yuv_to_rgba(&frame)?;
                    if shown.is_none() {
                        // the padding: the first frame's top-left colour
                        let c = [rgba[0], rgba[1], rgba[2], 255];
                        renderer.upload(
                            0,
                            &CardImage {
                                width: w,
                                height: h,
                                rgba: c.repeat((w * h) as usize),
                            },
                        );
                        layers = [
                            GpuCardLayer {
                                kind: BG,
                                offset: 0,
                                iw: w,
                                ih: h,
                                rect: [0.0, 0.0, w as f32, h as f32],
                                p: [1.0, 1.0, 0.0, 0.0],
                            },
                            GpuCardLayer {
                                kind: IMAGE,
                                offset: w * h,
                                iw: info.width,
                                ih: info.height,
                                rect,
                                p: [1.0, 1.0, 0.0, 0.0],
                            },
                        ];
                    }
                    renderer.upload(
                        w * h,
                        &CardImage {
                            width: info.width,
                            height: info.height,
                            rgba,
                        },
                    );
                    shown = pending.take();
                }
                _ => break,
            }
        }
        if shown.is_none() {
            return Err(ExportError::NoFrames {
                input: source.display().to_string(),
            });
        }
        renderer.render(&layers, 0.0, &mut out)?;
        let (pts, next) = (reel.pts(n), reel.pts(n + 1));
        enc.write_frame(pts, next - pts, &out.data)?;
    }
    decoder.stop();
    enc.finish()?;
    Ok(frames)
}
