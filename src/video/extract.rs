//! Extracting chosen frames of a video as YUV 4:2:0 (rotation applied, as ffmpeg does by
//! default), with the frame index each one has in presentation order.

use super::process::{Ffmpeg, VideoError, showinfo_field, stderr_tail};
use crate::color::{ColorMatrix, ColorRange, ColorSpec};
use crate::frame::{FrameFormat, YuvFrame};

/// Which frames to extract.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameSelector {
    /// Frame `n` (0-based, presentation order).
    Index(u64),
    /// The first frame whose timestamp is at or after `t` seconds.
    Time(f64),
    /// These frame indices (ascending).
    Indices(Vec<u64>),
}

/// A decoded frame and its index in the video.
#[derive(Debug, Clone)]
pub struct ExtractedFrame {
    pub index: u64,
    pub frame: YuvFrame,
}

fn keep_line(l: &str) -> bool {
    l.contains("Parsed_showinfo") || l.contains("Stream #") || l.starts_with("Output #")
}

/// Counts the video frames of `path` (packets of the first video stream, no decode).
pub fn count_frames(path: &str) -> Result<u64, VideoError> {
    let args: Vec<String> = ["-i", path, "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ff = Ffmpeg::spawn(path, &args, |l| l.starts_with("frame="))?;
    let lines = ff.finish()?;
    lines
        .iter()
        .rev()
        .find_map(|l| {
            l.strip_prefix("frame=")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .filter(|&n: &u64| n > 0)
        .ok_or_else(|| VideoError::Unusable {
            input: path.to_string(),
            message: format!("has no video frames\n{}", stderr_tail(&lines)),
        })
}

/// Decodes the selected frames of `path`.
pub fn extract_frames(
    path: &str,
    selector: &FrameSelector,
) -> Result<Vec<ExtractedFrame>, VideoError> {
    let select = match selector {
        FrameSelector::Index(n) => format!("eq(n\\,{n})"),
        FrameSelector::Time(t) => format!("gte(t\\,{t})"),
        FrameSelector::Indices(v) => v
            .iter()
            .map(|n| format!("eq(n\\,{n})"))
            .collect::<Vec<_>>()
            .join("+"),
    };
    let wanted = match selector {
        FrameSelector::Indices(v) => v.len(),
        _ => 1,
    };
    let args: Vec<String> = [
        "-i",
        path,
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-vf",
        &format!("showinfo,select='{select}',showinfo"),
        "-fps_mode",
        "passthrough",
        "-frames:v",
        &wanted.to_string(),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut ff = Ffmpeg::spawn(path, &args, keep_line)?;
    let data = ff.read_stdout()?;
    let lines = ff.finish()?;
    let unusable = |message: String| VideoError::Unusable {
        input: path.to_string(),
        message: format!("{message}\n{}", stderr_tail(&lines)),
    };
    let format =
        output_format(&lines).ok_or_else(|| unusable("no decodable video stream".into()))?;
    let size = format.frame_bytes();
    if data.is_empty() {
        return Err(unusable(match selector {
            FrameSelector::Index(n) => format!("has no frame {n}"),
            FrameSelector::Time(t) => format!("has no frame at or after {t} s"),
            FrameSelector::Indices(_) => "has none of the requested frames".into(),
        }));
    }
    // Frame indices: the first showinfo sees every frame (n, pts), the second the selected ones.
    let (all, picked) = showinfo_pts(&lines);
    let frames: Vec<ExtractedFrame> = data
        .chunks_exact(size)
        .enumerate()
        .map(|(k, chunk)| {
            let index = picked
                .get(k)
                .and_then(|pts| all.iter().find(|(_, p)| p == pts).map(|(n, _)| *n))
                .unwrap_or(k as u64);
            ExtractedFrame {
                index,
                frame: YuvFrame::new(format, chunk.to_vec()),
            }
        })
        .collect();
    Ok(frames)
}

/// `(n, pts)` from the first showinfo and the pts list of the second.
fn showinfo_pts(lines: &[String]) -> (Vec<(u64, i64)>, Vec<i64>) {
    let mut all = Vec::new();
    let mut picked = Vec::new();
    for l in lines
        .iter()
        .filter(|l| l.contains("Parsed_showinfo") && l.contains(" n:"))
    {
        let (Some(n), Some(pts)) = (showinfo_field(l, " n:"), showinfo_field(l, " pts:")) else {
            continue;
        };
        let (Ok(n), Ok(pts)) = (n.parse::<u64>(), pts.parse::<i64>()) else {
            continue;
        };
        if l.contains("Parsed_showinfo_0") {
            all.push((n, pts));
        } else {
            picked.push(pts);
        }
    }
    (all, picked)
}

/// Size and colour of the raw output stream, from ffmpeg's `Output #0` stream line, e.g.
/// `Video: rawvideo (I420 / 0x30323449), yuv420p(tv, bt709, progressive), 320x180`.
fn output_format(lines: &[String]) -> Option<FrameFormat> {
    let out = lines.iter().position(|l| l.starts_with("Output #"))?;
    let line = lines[out..]
        .iter()
        .find(|l| l.contains("Stream #") && l.contains("Video:"))?;
    let after = &line[line.find("yuv420p")? + "yuv420p".len()..];
    let mut tags: Vec<&str> = Vec::new();
    let mut rest = after;
    if let Some(inner) = after.strip_prefix('(') {
        let end = inner.find(')')?;
        tags = inner[..end].split(',').map(str::trim).collect();
        rest = &inner[end + 1..];
    }
    let size = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .find_map(|tok| {
            let (w, h) = tok.split_once('x')?;
            Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?))
        })?;
    let range = tags
        .iter()
        .find_map(|t| ColorRange::from_ffmpeg_name(t))
        .unwrap_or_default();
    let matrix = tags
        .iter()
        .find_map(|t| ColorMatrix::from_ffmpeg_name(t.split('/').next().unwrap_or(t)))
        .unwrap_or(if size.1 >= 720 {
            ColorMatrix::Bt709
        } else {
            ColorMatrix::Bt601
        });
    Some(FrameFormat::new(
        size.0,
        size.1,
        ColorSpec { matrix, range },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_output_stream_lines() {
        let lines: Vec<String> = [
            "Input #0, mov,mp4, from 'a.mp4':",
            "  Stream #0:0: Video: h264, yuv420p(tv, bt709), 1920x1080",
            "Output #0, rawvideo, to 'pipe:':",
            "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(pc, bt470bg/unknown/unknown, progressive), 318x178 [SAR 1:1 DAR 159:89], q=2-31",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = output_format(&lines).unwrap();
        assert_eq!((f.width, f.height), (318, 178));
        assert_eq!(
            f.color,
            ColorSpec {
                matrix: ColorMatrix::Bt601,
                range: ColorRange::Full
            }
        );
        let plain = vec![
            "Output #0, rawvideo, to 'pipe:':".to_string(),
            "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 1280x720, q=2-31"
                .to_string(),
        ];
        assert_eq!(
            output_format(&plain).unwrap().color,
            ColorSpec::BT709_LIMITED
        );
    }
}
