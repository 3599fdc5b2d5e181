//! Joining finished reels in order (contract §14): by stream copy when every input has the same
//! codec, size, pixel format and audio layout (timestamps regenerated, `+faststart`) and the
//! joined file lasts the sum of the inputs, else by re-encoding every input to the first one's
//! size (letterboxed, never stretched; H.264 crf 20, AAC 128 kb/s; silence for an input without
//! sound when others have it). One input is copied as it is. The output appears under a
//! temporary name and is renamed when complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ExportError;
use crate::cancel::CancelToken;
use crate::video::encode::{EncodeQuality, EncoderKind, temp_path};
use crate::video::probe::{VideoInfo, probe_with};
use crate::video::process::{Ffmpeg, VideoError, input_guard_args};

/// How the inputs were joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StitchMode {
    /// One input, copied byte for byte.
    Copy,
    /// Stream copy of every input.
    StreamCopy,
    /// Every input re-encoded.
    Reencode,
}

#[derive(Debug, Clone, Serialize)]
pub struct StitchSummary {
    pub mode: StitchMode,
    pub duration_s: f64,
    pub inputs: usize,
}

/// The re-encode's settings (§14).
const REENCODE: EncodeQuality = EncodeQuality {
    x264_preset: "veryfast",
    crf: 20,
    audio_kbps: 128,
};

fn duration(info: &VideoInfo) -> f64 {
    info.duration_s.unwrap_or(0.0)
}

/// Whether the inputs can be joined without re-encoding.
pub fn compatible(infos: &[VideoInfo]) -> bool {
    let first = &infos[0];
    let audio = |i: &VideoInfo| {
        i.audio
            .as_ref()
            .map(|a| (a.codec.clone(), a.sample_rate, a.channels))
    };
    infos.iter().all(|i| {
        i.codec == first.codec
            && (i.width, i.height) == (first.width, first.height)
            && i.pix_fmt == first.pix_fmt
            && i.rotation == first.rotation
            && audio(i) == audio(first)
    })
}

/// [`compatible`], and also the same frame rate, time base and sample aspect ratio: what
/// §15's join asks of its segments before it copies them.
pub fn compatible_strict(infos: &[VideoInfo]) -> bool {
    let first = &infos[0];
    let rate = |i: &VideoInfo| i.frame_rate.map(|r| r.as_f64());
    compatible(infos)
        && infos.iter().all(|i| {
            i.time_base == first.time_base
                && i.sar == first.sar
                && match (rate(i), rate(first)) {
                    (Some(a), Some(b)) => (a - b).abs() <= b * 1e-3,
                    (a, b) => a == b,
                }
        })
}

/// Joins `inputs` (local MP4 files) in order into `output`.
pub fn stitch(
    inputs: &[PathBuf],
    output: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
) -> Result<StitchSummary, ExportError> {
    stitch_as(inputs, output, encoder, cancel, compatible)
}

/// [`stitch`], copying only when `copyable` holds for the inputs' probes.
pub fn stitch_as(
    inputs: &[PathBuf],
    output: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
    copyable: fn(&[VideoInfo]) -> bool,
) -> Result<StitchSummary, ExportError> {
    let infos = inputs
        .iter()
        .map(|p| probe_with(p, Some(cancel)))
        .collect::<Result<Vec<_>, _>>()?;
    let total: f64 = infos.iter().map(duration).sum();
    let temp = temp_path(output);
    let done = |mode, temp: &Path| -> Result<StitchSummary, ExportError> {
        let d = probe_with(temp, Some(cancel)).map(|i| duration(&i))?;
        std::fs::rename(temp, output).map_err(|e| {
            VideoError::Io(std::io::Error::new(
                e.kind(),
                format!("renaming {} to {}: {e}", temp.display(), output.display()),
            ))
        })?;
        Ok(StitchSummary {
            mode,
            duration_s: d,
            inputs: inputs.len(),
        })
    };
    if inputs.len() == 1 {
        std::fs::copy(&inputs[0], &temp).map_err(|e| {
            VideoError::Io(std::io::Error::new(
                e.kind(),
                format!("copying {}: {e}", inputs[0].display()),
            ))
        })?;
        return done(StitchMode::Copy, &temp);
    }
    // the copy's duration may differ from the sum by a frame per join at most
    let fps = infos[0]
        .frame_rate
        .map(|r| r.as_f64())
        .filter(|f| *f > 0.0)
        .unwrap_or(30.0);
    let tolerance = 0.05 + inputs.len() as f64 / fps;
    if copyable(&infos) {
        match stream_copy(inputs, &temp, cancel) {
            Ok(()) => {
                let d = probe_with(&temp, Some(cancel)).map(|i| duration(&i))?;
                if (d - total).abs() <= tolerance {
                    return done(StitchMode::StreamCopy, &temp);
                }
                tracing::warn!(
                    joined = d,
                    sum = total,
                    "the stream-copied join does not last the sum of its inputs: re-encoding"
                );
            }
            Err(e) if cancel.is_cancelled() => {
                let _ = std::fs::remove_file(&temp);
                return Err(e.into());
            }
            Err(e) => tracing::warn!(error = %e, "stream copy failed: re-encoding"),
        }
        let _ = std::fs::remove_file(&temp);
    }
    let result = reencode(inputs, &infos, &temp, encoder, cancel);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e.into());
    }
    done(StitchMode::Reencode, &temp).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// ffmpeg's concat demuxer over the inputs (its list given on stdin, no file).
fn stream_copy(inputs: &[PathBuf], temp: &Path, cancel: &CancelToken) -> Result<(), VideoError> {
    let mut list = String::from("ffconcat version 1.0\n");
    for p in inputs {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
        list.push_str(&format!(
            // `file:` explicitly: relative to a list read from a pipe, a bare path is `pipe:`'s
            "file 'file:{}'\n",
            abs.display().to_string().replace('\'', "'\\''")
        ));
    }
    let args: Vec<String> = [
        "-nostats",
        "-loglevel",
        "error",
        "-y",
        "-protocol_whitelist",
        "file,pipe",
        "-fflags",
        "+genpts",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        "pipe:0",
        "-map",
        "0:v:0",
        "-map",
        "0:a?",
        "-c",
        "copy",
        "-avoid_negative_ts",
        "make_zero",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([temp.display().to_string()])
    .collect();
    let mut ff = Ffmpeg::spawn("stitch (stream copy)", &args, |_| false)?;
    ff.watch(Some(cancel));
    if let Some(mut stdin) = ff.take_stdin() {
        // a child that died early closed its end: its status says why
        let _ = stdin.write_all(list.as_bytes());
    }
    ff.finish().map(|_| ())
}

/// Every input scaled into the first one's frame (letterboxed), at its rate, joined.
fn reencode(
    inputs: &[PathBuf],
    infos: &[VideoInfo],
    temp: &Path,
    encoder: EncoderKind,
    cancel: &CancelToken,
) -> Result<(), VideoError> {
    let (w, h) = (infos[0].width & !1, infos[0].height & !1);
    let rate = infos[0]
        .frame_rate
        .map(|r| format!("{}/{}", r.num, r.den))
        .unwrap_or_else(|| "30".into());
    let audio = infos.iter().any(|i| i.audio.is_some());
    let mut args: Vec<String> = ["-nostats", "-loglevel", "error", "-y"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in inputs {
        args.extend(input_guard_args());
        args.extend(["-i".into(), p.display().to_string()]);
    }
    let mut graph = String::new();
    let mut pads = String::new();
    for (k, info) in infos.iter().enumerate() {
        graph.push_str(&format!(
            "[{k}:{}]scale={w}:{h}:force_original_aspect_ratio=decrease,\
             pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate}:eof_action=pass,format=yuv420p[v{k}];",
            info.stream_index
        ));
        pads.push_str(&format!("[v{k}]"));
        if audio {
            match &info.audio {
                Some(a) => graph.push_str(&format!(
                    "[{k}:{}]aformat=sample_rates=48000:channel_layouts=stereo,\
                     apad,atrim=0:{:.6}[a{k}];",
                    a.stream_index,
                    duration(info)
                )),
                None => graph.push_str(&format!(
                    "anullsrc=r=48000:cl=stereo,atrim=0:{:.6}[a{k}];",
                    duration(info)
                )),
            }
            pads.push_str(&format!("[a{k}]"));
        }
    }
    let n = inputs.len();
    graph.push_str(&format!(
        "{pads}concat=n={n}:v=1:a={}[v]{}",
        audio as u8,
        if audio { "[a]" } else { "" }
    ));
    args.extend(["-filter_complex".into(), graph, "-map".into(), "[v]".into()]);
    if audio {
        args.extend(["-map".into(), "[a]".into()]);
        args.extend(REENCODE.audio_args());
    }
    args.extend(encoder.args(REENCODE));
    args.extend(
        [
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args.push(temp.display().to_string());
    let mut ff = Ffmpeg::spawn("stitch (re-encode)", &args, |_| false)?;
    ff.watch(Some(cancel));
    ff.finish().map(|_| ())
}
