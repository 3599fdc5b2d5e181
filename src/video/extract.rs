//! Extracting chosen frames of a video as YUV 4:2:0 (rotation applied, as ffmpeg does by
//! default), with the index and time each one has. Frames are picked from the decoder's own
//! stream ([`super::decode`]): the same frame numbers and times the export uses.

use std::path::Path;

use super::decode::{DecodeOptions, Decoder, DecoderKind};
use super::probe::probe;
use super::process::VideoError;
use crate::frame::{FrameFormat, YuvFrame};

/// Which frames to extract.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameSelector {
    /// Frame `n` (0-based, presentation order).
    Index(u64),
    /// The first frame shown at or after `t` seconds (from the first frame).
    Time(f64),
    /// These frame indices (ascending).
    Indices(Vec<u64>),
    /// For each of these times (ascending seconds), the first frame at or after it.
    Times(Vec<f64>),
    /// The frame shown at `t` seconds: the last one at or before it (the first frame for a
    /// time before it).
    AtOrBefore(f64),
}

/// A decoded frame, its index in the video and its time (seconds from the first frame).
#[derive(Debug, Clone)]
pub struct ExtractedFrame {
    pub index: u64,
    pub time_s: f64,
    pub frame: YuvFrame,
}

/// Decodes the selected frames of `path`. Asking for frames past the end names the range the
/// video has.
pub fn extract_frames(
    path: &str,
    selector: &FrameSelector,
) -> Result<Vec<ExtractedFrame>, VideoError> {
    let info = probe(Path::new(path))?;
    let format = FrameFormat::new(info.width, info.height, info.color);
    let mut decoder = Decoder::spawn(
        path,
        &info,
        DecoderKind::Software,
        DecodeOptions {
            seek_s: None,
            tolerate_errors: true,
            cancel: None,
        },
    )?;
    if let FrameSelector::AtOrBefore(t) = selector {
        return shown_at(path, decoder, format, *t);
    }
    let mut wanted: Vec<Want> = match selector {
        FrameSelector::AtOrBefore(_) => unreachable!("handled above"),
        FrameSelector::Index(n) => vec![Want::Index(*n)],
        FrameSelector::Time(t) => vec![Want::Time(*t)],
        FrameSelector::Indices(v) => v.iter().map(|n| Want::Index(*n)).collect(),
        FrameSelector::Times(v) => v.iter().map(|t| Want::Time(*t)).collect(),
    };
    wanted.reverse(); // next wanted at the end
    let mut out = Vec::new();
    let mut scratch = vec![0u8; format.frame_bytes()];
    let mut origin = None;
    let mut last_time = 0.0;
    let mut index = 0u64;
    while let Some(next) = wanted.last().copied() {
        let Some(pts) = decoder.next_frame()? else {
            break;
        };
        let tb = decoder.time_base().expect("known after a frame");
        let origin = *origin.get_or_insert(pts);
        let time_s = (pts - origin) as f64 * tb.as_f64();
        last_time = time_s;
        let i = index;
        index += 1;
        let hit = |w: Want| match w {
            Want::Index(n) => n == i,
            Want::Time(t) => time_s >= t - 1e-9,
        };
        if !hit(next) {
            decoder.read_into(&mut scratch)?;
            continue;
        }
        let mut data = vec![0u8; format.frame_bytes()];
        decoder.read_into(&mut data)?;
        while wanted.last().is_some_and(|w| hit(*w)) {
            wanted.pop();
        }
        out.push(ExtractedFrame {
            index: i,
            time_s,
            frame: YuvFrame::new(format, data),
        });
    }
    let complete = wanted.is_empty();
    if complete {
        decoder.stop();
    } else {
        decoder.finish()?;
    }
    if let Some(missing) = wanted.last() {
        let range = if index == 0 {
            "it has no frames".to_string()
        } else {
            format!(
                "it has {index} frames (0-{}), shown from 0 to {last_time:.3} s",
                index - 1
            )
        };
        let message = match missing {
            Want::Index(n) => format!("has no frame {n}: {range}"),
            Want::Time(t) => format!("has no frame at or after {t} s: {range}"),
        };
        return Err(VideoError::OutOfRange {
            input: path.to_string(),
            message,
        });
    }
    Ok(out)
}

/// The last frame at or before `t` (the first for a time before it).
fn shown_at(
    path: &str,
    mut decoder: Decoder,
    format: FrameFormat,
    t: f64,
) -> Result<Vec<ExtractedFrame>, VideoError> {
    let mut held: Option<ExtractedFrame> = None;
    let mut origin = None;
    let mut index = 0u64;
    let mut spare = vec![0u8; format.frame_bytes()];
    let mut stopped = false;
    while let Some(pts) = decoder.next_frame()? {
        let tb = decoder.time_base().expect("known after a frame");
        let origin = *origin.get_or_insert(pts);
        let time_s = (pts - origin) as f64 * tb.as_f64();
        if held.is_some() && time_s > t + 1e-9 {
            stopped = true;
            break;
        }
        decoder.read_into(&mut spare)?;
        let data = std::mem::replace(
            &mut spare,
            held.take()
                .map(|h| h.frame.data)
                .unwrap_or_else(|| vec![0u8; format.frame_bytes()]),
        );
        held = Some(ExtractedFrame {
            index,
            time_s,
            frame: YuvFrame::new(format, data),
        });
        index += 1;
    }
    if stopped {
        decoder.stop();
    } else {
        decoder.finish()?;
    }
    held.map(|h| vec![h]).ok_or_else(|| VideoError::OutOfRange {
        input: path.to_string(),
        message: "it has no frames".into(),
    })
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Index(u64),
    Time(f64),
}

/// How far ahead (seconds) a wanted frame must be for [`extract_available`] to seek to it
/// rather than decode on: past this, starting again at the keyframe before it reads less.
pub const SEEK_AHEAD_S: f64 = 4.0;

/// Decodes frames `indices` (ascending, 0-based in presentation order) of `path`, whose probe
/// is `info`: the frames the video has, each once (a frame past its end is simply absent),
/// reading no further than the last. A frame more than [`SEEK_AHEAD_S`] ahead of the decoder
/// is reached by seeking to the keyframe before it and decoding on from there, so a frame
/// near the end of a long game reads a few percent of the file; the index of a frame decoded
/// after a seek is its time from the first frame (whose timestamp the first decoder read)
/// times the frame rate, which is the frame's count only at a constant rate: the rate the
/// video cameras and the app's exports write, and what the probe must show
/// ([`super::probe::VideoInfo::constant_rate`]). A variable-rate stream (a phone's) or one
/// of no known rate is decoded from the start and every frame counted. Cancelling `cancel`
/// kills the decoder.
pub fn extract_available(
    path: &str,
    info: &super::probe::VideoInfo,
    indices: &[u64],
    cancel: Option<&crate::cancel::CancelToken>,
) -> Result<Vec<ExtractedFrame>, VideoError> {
    let format = FrameFormat::new(info.width, info.height, info.color);
    let mut out = Vec::with_capacity(indices.len());
    let Some(&last) = indices.last() else {
        return Ok(out);
    };
    let fps = info
        .frame_rate
        .map(|r| r.as_f64())
        .filter(|f| f.is_finite() && *f > 0.0);
    let spawn = |seek_s: Option<f64>| {
        Decoder::spawn(
            path,
            info,
            DecoderKind::Software,
            DecodeOptions {
                seek_s,
                tolerate_errors: true,
                cancel: cancel.cloned(),
            },
        )
    };
    let mut decoder = spawn(None)?;
    let mut scratch = vec![0u8; format.frame_bytes()];
    // the first frame's timestamp (seconds): what every time counts from
    let mut origin: Option<f64> = None;
    // frames are counted from the start until a seek, then timed
    let mut counted = true;
    // the index of the next frame the decoder gives
    let mut position = 0u64;
    let mut wanted = indices.iter().peekable();
    loop {
        let Some(&next) = wanted.peek() else {
            decoder.stop();
            return Ok(out);
        };
        // far ahead of the decoder: start again at the keyframe before it
        if let (Some(fps), Some(o), true) = (fps, origin, info.constant_rate)
            && (*next as f64 - position as f64) / fps > SEEK_AHEAD_S
        {
            decoder.stop();
            let container = info.start_time_s.unwrap_or(0.0);
            // half a frame early: the frame itself is never trimmed by the seek
            let seek = (o - container + (*next as f64 - 0.5) / fps).max(0.0);
            decoder = spawn(Some(seek))?;
            counted = false;
        }
        let Some(pts) = decoder.next_frame()? else {
            decoder.finish()?;
            return Ok(out);
        };
        let tb = decoder.time_base().expect("known after a frame").as_f64();
        let t = pts as f64 * tb;
        let o = *origin.get_or_insert(t);
        let i = match (counted, fps) {
            (false, Some(fps)) => ((t - o) * fps).round().max(0.0) as u64,
            _ => position,
        };
        position = i + 1;
        while wanted.peek().is_some_and(|w| **w < i) {
            // passed by (a frame the stream does not have at that index)
            wanted.next();
        }
        if wanted.peek().is_some_and(|w| **w == i) {
            wanted.next();
            let mut data = vec![0u8; format.frame_bytes()];
            decoder.read_into(&mut data)?;
            out.push(ExtractedFrame {
                index: i,
                time_s: t - o,
                frame: YuvFrame::new(format, data),
            });
        } else {
            decoder.read_into(&mut scratch)?;
        }
        if i >= last {
            decoder.stop();
            return Ok(out);
        }
    }
}
