//! Probing a source with ffprobe: the video stream's coded and displayed size (rotation
//! metadata applied), frame rate and time base, frame count where the container knows it,
//! pixel format and colour, and the first audio stream.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::process::{ChildKiller, SOURCE_FORMATS, TAIL_LINES, VideoError, input_guard_args_for};
use crate::cancel::CancelToken;
use crate::color::{ColorMatrix, ColorRange, ColorSpec};

/// The ffprobe binary: `REELGPU_FFPROBE`; else next to `REELGPU_FFMPEG` when that is set; else
/// `ffprobe` on `PATH`.
pub fn ffprobe_path() -> PathBuf {
    if let Some(p) = std::env::var_os("REELGPU_FFPROBE") {
        return PathBuf::from(p);
    }
    if let Some(ffmpeg) = std::env::var_os("REELGPU_FFMPEG") {
        let ffmpeg = PathBuf::from(ffmpeg);
        if let Some(dir) = ffmpeg.parent().filter(|d| !d.as_os_str().is_empty()) {
            return dir.join("ffprobe");
        }
    }
    PathBuf::from("ffprobe")
}

/// A rational number as ffprobe prints it (`30000/1001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rational {
    pub num: u32,
    pub den: u32,
}

impl Rational {
    /// Parses `a/b` with both parts positive.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.split_once('/')?;
        let (num, den) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        (num > 0 && den > 0).then_some(Self { num, den })
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

/// The source's first audio stream.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Index of the stream in the file (ffmpeg's `0:<index>`).
    pub stream_index: u32,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
    /// ffmpeg's name of the channel layout (`mono`, `stereo`, `5.1`), when it says.
    pub channel_layout: Option<String>,
    pub duration_s: Option<f64>,
}

/// What the export needs to know about a source.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// The demuxer ffprobe chose (`mov,mp4,m4a,3gp,3g2,mj2`, `mpegts`, `h264`, ...).
    pub format_name: String,
    /// Index of the video stream in the file (ffmpeg's `0:<index>`): the first one that is
    /// not cover art.
    pub stream_index: u32,
    pub codec: String,
    /// The container's start time (seconds, the earliest stream's first timestamp): where
    /// ffmpeg's `-ss` counts from.
    pub start_time_s: Option<f64>,
    /// Size of the decoded pictures, before rotation.
    pub coded_width: u32,
    pub coded_height: u32,
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Size as displayed (rotation applied): the frame the job's coordinates refer to.
    pub width: u32,
    pub height: u32,
    /// Average frame rate (`avg_frame_rate`), when known.
    pub frame_rate: Option<Rational>,
    /// An HDR source (PQ or HLG transfer) and its metadata (contract §17), else none.
    pub hdr: Option<crate::color::HdrSource>,
    /// Whether the stream is known to run at a constant rate: its average rate and the
    /// lowest rate all its timestamps fit (`r_frame_rate`) agree. Only then is a frame's
    /// index its time × the rate (what seeking to a frame relies on); a phone's variable
    /// rate, or a rate not known, is counted frame by frame.
    pub constant_rate: bool,
    /// The stream's time base.
    pub time_base: Option<Rational>,
    /// The sample aspect ratio, when the stream has one (`1:1` and unknown `0:1` are none).
    pub sar: Option<Rational>,
    /// Frames as the container counts them (`nb_frames`), when it does.
    pub frame_count: Option<u64>,
    pub duration_s: Option<f64>,
    pub pix_fmt: String,
    /// How to interpret the samples: tagged matrix and range, else BT.709 and limited range
    /// (full range for `yuvj*` formats).
    pub color: ColorSpec,
    /// Colour tags as the source has them, to carry over to the output.
    pub color_primaries: Option<String>,
    pub color_transfer: Option<String>,
    pub color_space: Option<String>,
    pub audio: Option<AudioInfo>,
}

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize, Default)]
struct ProbeFormat {
    format_name: Option<String>,
    start_time: Option<String>,
    duration: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProbeStream {
    index: Option<u32>,
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    time_base: Option<String>,
    nb_frames: Option<String>,
    duration: Option<String>,
    color_range: Option<String>,
    color_space: Option<String>,
    color_primaries: Option<String>,
    color_transfer: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    channel_layout: Option<String>,
    sample_aspect_ratio: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
}

#[derive(Deserialize, Default)]
struct SideData {
    rotation: Option<f64>,
    /// Mastering display metadata: `"40000000/10000"` (cd/m² as a fraction).
    max_luminance: Option<String>,
    /// Content light level metadata: MaxCLL.
    max_content: Option<f64>,
    /// DOVI configuration record.
    dv_profile: Option<u32>,
    dv_bl_signal_compatibility_id: Option<u32>,
}

#[derive(Deserialize, Default)]
struct FramesOutput {
    #[serde(default)]
    frames: Vec<FrameSideData>,
}

#[derive(Deserialize, Default)]
struct FrameSideData {
    #[serde(default)]
    side_data_list: Vec<SideData>,
}

/// The HDR description of a stream whose transfer is `transfer` (ffmpeg's name), from its
/// side data (the stream's, then a first frame's, where HEVC carries them in SEI).
fn hdr_source(transfer: Option<&str>, side: &[&SideData]) -> Option<crate::color::HdrSource> {
    let transfer = crate::color::HdrTransfer::from_ffmpeg_name(transfer?)?;
    let fraction = |v: &str| -> Option<f64> {
        let (a, b) = v.split_once('/').unwrap_or((v, "1"));
        let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        (b > 0.0 && a.is_finite()).then_some(a / b)
    };
    Some(crate::color::HdrSource {
        transfer,
        max_cll: side.iter().find_map(|d| d.max_content).filter(|v| *v > 0.0),
        mastering_max: side
            .iter()
            .find_map(|d| d.max_luminance.as_deref().and_then(fraction))
            .filter(|v| *v > 0.0),
        dovi: side.iter().find_map(|d| {
            d.dv_profile.map(|profile| crate::color::DoviConfig {
                profile,
                compatibility: d.dv_bl_signal_compatibility_id.unwrap_or(0),
            })
        }),
    })
}

/// Runs `ffprobe -v error <args> <path>` and returns its stdout; a failure carries the last
/// stderr lines.
fn run_ffprobe(
    path: &Path,
    args: &[&str],
    cancel: Option<&CancelToken>,
) -> Result<Vec<u8>, VideoError> {
    let ffprobe = ffprobe_path();
    let child = Command::new(&ffprobe)
        .args(["-v", "error"])
        .args(input_guard_args_for(&path.to_string_lossy()))
        .args(args)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| VideoError::FfmpegMissing {
            path: ffprobe.clone(),
            source,
        })?;
    // a cancelled job kills a probe that hangs (the pidfd never reaches another process)
    let killer = ChildKiller::new(child.id());
    let _guard = cancel.map(|t| t.on_cancel(move || killer.kill()));
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        // ffprobe exiting with an error code could not read the file: that is the input's
        // fault (retrying cannot help). Killed by a signal, it is not.
        if out.status.code().is_some() {
            return Err(VideoError::Unusable {
                input: path.display().to_string(),
                message: format!("not a readable video (ffprobe {}):\n{tail}", out.status),
            });
        }
        return Err(VideoError::FfmpegFailed {
            input: path.display().to_string(),
            status: out.status.to_string(),
            stderr_tail: tail,
        });
    }
    Ok(out.stdout)
}

/// Probes `path` with ffprobe.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    probe_with(path, None)
}

/// Like [`probe`]; cancelling `cancel` kills ffprobe.
pub fn probe_with(path: &Path, cancel: Option<&CancelToken>) -> Result<VideoInfo, VideoError> {
    let input = path.display().to_string();
    // a source read through the range bridge was sniffed by whoever opened the bridge
    let bridged = input.starts_with(super::process::BRIDGE_PREFIX);
    if !bridged && !path.is_file() {
        return Err(VideoError::Unusable {
            input,
            message: "no such file".into(),
        });
    }
    if let Some(kind) = (!bridged).then(|| sniff_non_video(path)).flatten() {
        return Err(VideoError::Unsupported {
            input,
            message: format!("is {kind}, not a video file"),
        });
    }
    let probed = match run_ffprobe(
        path,
        &["-print_format", "json", "-show_streams", "-show_format"],
        cancel,
    ) {
        // no ffprobe (a bare machine with only a static ffmpeg): ffmpeg's own stream dump
        Err(VideoError::FfmpegMissing { path: missing, .. }) => {
            tracing::warn!(
                ffprobe = %missing.display(),
                "ffprobe not found: probing with ffmpeg's stream dump"
            );
            return probe_with_ffmpeg(path, cancel);
        }
        other => other,
    };
    let stdout = probed.map_err(|e| match e {
        // a demuxer outside the list is refused by ffprobe itself
        VideoError::Unusable { input, message } if message.contains("not on whitelist") => {
            VideoError::Unsupported {
            input,
            message: format!(
                "is not a video file reelgpu reads (containers: MP4/MOV, MKV/WebM, MPEG-TS/M2TS/MTS, \
                 MPEG-PS, AVI, FLV, ASF/WMV, MXF, Ogg, raw H.264/HEVC): {message}"
                ),
            }
        }
        other => other,
    })?;
    let parsed: ProbeOutput =
        serde_json::from_slice(&stdout).map_err(|e| VideoError::Unusable {
            input: input.clone(),
            message: format!("unreadable ffprobe output: {e}"),
        })?;
    let mut info = from_probe(parsed, &input)?;
    // HEVC carries PQ's mastering display and content light in SEI: a first frame's side data
    if let Some(h) = info.hdr.as_mut()
        && h.transfer == crate::color::HdrTransfer::Pq
        && h.max_cll.is_none()
        && h.mastering_max.is_none()
        && let Ok(out) = run_ffprobe(
            path,
            &[
                "-print_format",
                "json",
                "-select_streams",
                &format!("{}", info.stream_index),
                "-read_intervals",
                "%+#1",
                "-show_frames",
            ],
            cancel,
        )
        && let Ok(frames) = serde_json::from_slice::<FramesOutput>(&out)
    {
        let side: Vec<&SideData> = frames
            .frames
            .iter()
            .flat_map(|f| f.side_data_list.iter())
            .collect();
        if let Some(found) = hdr_source(Some("smpte2084"), &side) {
            h.max_cll = found.max_cll;
            h.mastering_max = found.mastering_max;
        }
    }
    Ok(info)
}

/// Probes `path` from ffmpeg's stream dump (`ffmpeg -i path`), for machines with ffmpeg and
/// no ffprobe: the same [`VideoInfo`] as ffprobe gives, except the container's frame count
/// (unknown) and per-stream durations (the container's is used).
pub fn probe_with_ffmpeg(
    path: &Path,
    cancel: Option<&CancelToken>,
) -> Result<VideoInfo, VideoError> {
    let input = path.display().to_string();
    let ffmpeg = super::process::ffmpeg_path();
    let child = Command::new(&ffmpeg)
        .args(["-hide_banner", "-nostdin"])
        .args(input_guard_args_for(&input))
        .arg("-i")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| VideoError::FfmpegMissing {
            path: ffmpeg.clone(),
            source,
        })?;
    let killer = ChildKiller::new(child.id());
    let _guard = cancel.map(|t| t.on_cancel(move || killer.kill()));
    let out = child.wait_with_output()?;
    let dump = String::from_utf8_lossy(&out.stderr);
    if out.status.code().is_none() {
        return Err(VideoError::FfmpegFailed {
            input,
            status: out.status.to_string(),
            stderr_tail: dump
                .lines()
                .rev()
                .take(TAIL_LINES)
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    let parsed = parse_ffmpeg_dump(&dump).ok_or_else(|| {
        let tail: Vec<&str> = dump.lines().rev().take(TAIL_LINES).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let message = tail.join("\n");
        if message.contains("not on whitelist") {
            VideoError::Unsupported {
                input: input.clone(),
                message: format!("is not a video file reelgpu reads: {message}"),
            }
        } else {
            VideoError::Unusable {
                input: input.clone(),
                message: format!("not a readable video (ffmpeg):\n{message}"),
            }
        }
    })?;
    from_probe(parsed, &input)
}

/// Splits `s` at top-level `", "` (commas inside parentheses or brackets stay).
fn top_level_parts(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0usize, Vec::new());
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// `29.97` as ffmpeg prints `30000/1001`; whole numbers exactly; others to 1/1000.
fn decimal_rate(v: &str) -> Option<String> {
    let f: f64 = v.trim().trim_end_matches('k').parse().ok()?;
    let f = if v.trim().ends_with('k') {
        f * 1000.0
    } else {
        f
    };
    if f <= 0.0 {
        return None;
    }
    if (f - f.round()).abs() < 1e-6 {
        return Some(format!("{}/1", f.round() as u64));
    }
    let ntsc = f * 1.001;
    if (ntsc - ntsc.round()).abs() < 0.006 {
        return Some(format!("{}/1001", ntsc.round() as u64 * 1000));
    }
    Some(format!("{}/1000", (f * 1000.0).round() as u64))
}

/// The parts of ffmpeg's `Input #0` dump that [`from_probe`] uses, as ffprobe would print
/// them; `None` when there is no input section (ffmpeg could not open the file).
fn parse_ffmpeg_dump(dump: &str) -> Option<ProbeOutput> {
    let mut format = None;
    let mut streams: Vec<ProbeStream> = Vec::new();
    for line in dump.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Input #0, ") {
            let name = rest.rsplit_once(", from '").map_or(rest, |(n, _)| n);
            format = Some(ProbeFormat {
                format_name: Some(name.to_string()),
                start_time: None,
                duration: None,
            });
        } else if let Some(rest) = t.strip_prefix("Duration: ") {
            let f = format.as_mut()?;
            for part in rest.split(", ") {
                if let Some(v) = part.strip_prefix("start: ") {
                    f.start_time = Some(v.trim().to_string());
                } else if let Some((h, m_s)) = part.split_once(':')
                    && let Some((m, sec)) = m_s.split_once(':')
                    && let (Ok(h), Ok(m), Ok(sec)) =
                        (h.parse::<f64>(), m.parse::<f64>(), sec.parse::<f64>())
                {
                    f.duration = Some(format!("{:.6}", h * 3600.0 + m * 60.0 + sec));
                }
            }
        } else if let Some(rest) = t.strip_prefix("Stream #0:") {
            let index: u32 = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let (kind, body) = if let Some((_, b)) = rest.split_once(": Video: ") {
                ("video", b)
            } else if let Some((_, b)) = rest.split_once(": Audio: ") {
                ("audio", b)
            } else {
                let kind = if rest.contains(": Subtitle: ") {
                    "subtitle"
                } else {
                    "data"
                };
                streams.push(ProbeStream {
                    index: Some(index),
                    codec_type: Some(kind.into()),
                    ..Default::default()
                });
                continue;
            };
            let mut st = ProbeStream {
                index: Some(index),
                codec_type: Some(kind.into()),
                ..Default::default()
            };
            if body.contains("(attached pic)") {
                st.disposition.insert("attached_pic".into(), 1);
            }
            let parts = top_level_parts(body);
            st.codec_name = parts
                .first()
                .and_then(|p| p.split_whitespace().next())
                .map(String::from);
            if kind == "video" {
                for p in &parts[1..] {
                    if let Some(fps) = p.strip_suffix(" fps") {
                        st.avg_frame_rate = decimal_rate(fps);
                    } else if let Some(tbr) = p.strip_suffix(" tbr") {
                        st.r_frame_rate = decimal_rate(tbr);
                    } else if let Some(tbn) = p.split(" tbn").next().filter(|_| p.contains(" tbn"))
                    {
                        st.time_base = decimal_rate(tbn)
                            .and_then(|r| r.strip_suffix("/1").map(|d| format!("1/{d}")));
                    } else if st.width.is_none()
                        && let Some((w, rest)) = p.split_once('x')
                        && let Ok(w) = w.trim().parse::<u32>()
                        && let Some(h) = rest
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                            .and_then(|h| h.parse::<u32>().ok())
                    {
                        st.width = Some(w);
                        st.height = Some(h);
                    } else if st.pix_fmt.is_none() && st.width.is_none() {
                        // `yuv420p(tv, bt709, progressive)` / `yuvj420p(pc, bt470bg/bt470bg/smpte170m)`
                        let (fmt, inner) = p.split_once('(').unwrap_or((p, ""));
                        st.pix_fmt = Some(fmt.trim().to_string());
                        for tag in inner.trim_end_matches(')').split(',').map(str::trim) {
                            match tag {
                                "tv" | "pc" => st.color_range = Some(tag.into()),
                                "progressive" | "top first" | "bottom first" | "" => {}
                                other if other.contains('/') => {
                                    let v: Vec<&str> = other.split('/').collect();
                                    st.color_space = v.first().map(|s| s.to_string());
                                    st.color_primaries = v.get(1).map(|s| s.to_string());
                                    st.color_transfer = v.get(2).map(|s| s.to_string());
                                }
                                other if other.starts_with("bt") || other.starts_with("smpte") => {
                                    st.color_space = Some(other.into());
                                    st.color_primaries = Some(other.into());
                                    st.color_transfer = Some(other.into());
                                }
                                _ => {}
                            }
                        }
                    }
                }
            } else {
                for p in &parts[1..] {
                    if let Some(hz) = p.strip_suffix(" Hz") {
                        st.sample_rate = Some(hz.trim().to_string());
                    } else if st.channels.is_none() {
                        st.channels = match *p {
                            "mono" => Some(1),
                            "stereo" => Some(2),
                            "2.1" | "3.0" => Some(3),
                            "quad" | "4.0" | "3.1" => Some(4),
                            "5.0" | "5.0(side)" | "4.1" => Some(5),
                            "5.1" | "5.1(side)" | "6.0" => Some(6),
                            "7.1" | "7.1(wide)" => Some(8),
                            other => other
                                .strip_suffix(" channels")
                                .and_then(|n| n.trim().parse().ok()),
                        };
                    }
                }
            }
            streams.push(st);
        } else if let Some(rest) = t.strip_prefix("displaymatrix: rotation of ") {
            let deg = rest.trim_end_matches(" degrees").trim().parse::<f64>().ok();
            if let Some(last) = streams.last_mut() {
                last.side_data_list.push(SideData {
                    rotation: deg,
                    ..Default::default()
                });
            }
        } else if let Some(rest) = t.strip_prefix("rotate ")
            && let Some(v) = rest.trim_start().strip_prefix(':')
            && let Some(last) = streams.last_mut()
        {
            last.tags.insert("rotate".into(), v.trim().to_string());
        }
    }
    format.map(|format| ProbeOutput {
        streams,
        format: Some(format),
    })
}

/// What a file that is plainly not a video is (a playlist, a concat script), from its first
/// bytes: named in the refusal.
fn sniff_non_video(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    sniff_bytes(&head[..n])
}

/// What a file that starts with `head` (its first 64 bytes) is, when it is a text format
/// ffmpeg would follow to other files (playlists, concat scripts, manifests).
pub fn sniff_bytes(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&head[..head.len().min(64)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("#EXTM3U") {
        Some("an HLS/M3U playlist")
    } else if text.starts_with("ffconcat") {
        Some("an ffmpeg concat script")
    } else if text.starts_with("<?xml") || text.starts_with("<MPD") {
        Some("an XML document (a DASH manifest?)")
    } else {
        None
    }
}

fn from_probe(parsed: ProbeOutput, input: &str) -> Result<VideoInfo, VideoError> {
    let unusable = |message: &str| VideoError::Unusable {
        input: input.to_string(),
        message: message.to_string(),
    };
    let format_name = parsed
        .format
        .as_ref()
        .and_then(|f| f.format_name.clone())
        .unwrap_or_default();
    if !format_name.is_empty()
        && !format_name
            .split(',')
            .next()
            .is_some_and(|f| SOURCE_FORMATS.contains(&f))
    {
        return Err(VideoError::Unsupported {
            input: input.to_string(),
            message: format!("is a {format_name} file, not a video container reelgpu reads"),
        });
    }
    // cover art in audio files shows up as a one-picture video stream: not a video
    let video = parsed
        .streams
        .iter()
        .find(|s| {
            s.codec_type.as_deref() == Some("video")
                && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
        })
        .ok_or_else(|| unusable("no video stream (audio-only or not a video)"))?;
    let codec = video.codec_name.clone().unwrap_or_default();
    if codec.is_empty() || codec == "none" {
        return Err(VideoError::Unsupported {
            input: input.to_string(),
            message: "the video stream's codec is not one ffmpeg can decode".into(),
        });
    }
    let (coded_width, coded_height) = match (video.width, video.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(unusable("the video stream has no picture size")),
    };
    let rotation = display_rotation(video);
    let (width, height) = if rotation % 180 == 90 {
        (coded_height, coded_width)
    } else {
        (coded_width, coded_height)
    };
    let pix_fmt = video.pix_fmt.clone().unwrap_or_default();
    let range = video
        .color_range
        .as_deref()
        .and_then(ColorRange::from_ffmpeg_name)
        .unwrap_or(if pix_fmt.starts_with("yuvj") {
            ColorRange::Full
        } else {
            ColorRange::Limited
        });
    let matrix = video
        .color_space
        .as_deref()
        .and_then(ColorMatrix::from_ffmpeg_name)
        .unwrap_or(ColorMatrix::Bt709);
    let seconds = |s: &Option<String>| s.as_deref().and_then(|d| d.parse::<f64>().ok());
    let tag = |s: &Option<String>| s.clone().filter(|v| !v.is_empty() && v != "unknown");
    let audio = parsed
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"))
        .map(|a| AudioInfo {
            stream_index: a.index.unwrap_or(0),
            codec: a.codec_name.clone().unwrap_or_default(),
            sample_rate: a
                .sample_rate
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            channels: a.channels.unwrap_or(0),
            channel_layout: tag(&a.channel_layout),
            duration_s: seconds(&a.duration),
        });
    Ok(VideoInfo {
        format_name,
        stream_index: video.index.unwrap_or(0),
        codec,
        start_time_s: parsed.format.as_ref().and_then(|f| seconds(&f.start_time)),
        coded_width,
        coded_height,
        rotation,
        width,
        height,
        frame_rate: video
            .avg_frame_rate
            .as_deref()
            .and_then(Rational::parse)
            .or_else(|| video.r_frame_rate.as_deref().and_then(Rational::parse)),
        hdr: hdr_source(
            video.color_transfer.as_deref(),
            &video.side_data_list.iter().collect::<Vec<_>>(),
        ),
        constant_rate: match (
            video.avg_frame_rate.as_deref().and_then(Rational::parse),
            video.r_frame_rate.as_deref().and_then(Rational::parse),
        ) {
            (Some(a), Some(r)) => {
                let (a, r) = (a.as_f64(), r.as_f64());
                a > 0.0 && (a - r).abs() <= a * 1e-3
            }
            _ => false,
        },
        time_base: video.time_base.as_deref().and_then(Rational::parse),
        sar: video
            .sample_aspect_ratio
            .as_deref()
            .and_then(|r| Rational::parse(&r.replace(':', "/")))
            .filter(|r| r.num != r.den),
        frame_count: video.nb_frames.as_deref().and_then(|n| n.parse().ok()),
        duration_s: seconds(&video.duration)
            .or_else(|| parsed.format.as_ref().and_then(|f| seconds(&f.duration))),
        pix_fmt,
        color: ColorSpec { matrix, range },
        color_primaries: tag(&video.color_primaries),
        color_transfer: tag(&video.color_transfer),
        color_space: tag(&video.color_space),
        audio,
    })
}

impl VideoInfo {
    /// For an elementary stream (raw H.264/HEVC, MPEG video), which carries no timestamps:
    /// the rate they are made at (the probed one, else 25 fps as ffmpeg assumes).
    pub fn raw_stream_rate(&self) -> Option<Rational> {
        let first = self.format_name.split(',').next().unwrap_or("");
        matches!(first, "h264" | "hevc" | "mpegvideo" | "m4v")
            .then(|| self.frame_rate.unwrap_or(Rational { num: 25, den: 1 }))
    }
}

/// Clockwise display rotation in degrees (0, 90, 180, 270) from the display matrix side data
/// (whose `rotation` is counter-clockwise) or the legacy `rotate` tag (clockwise).
fn display_rotation(stream: &ProbeStream) -> u32 {
    let clockwise = stream
        .side_data_list
        .iter()
        .find_map(|d| d.rotation)
        .map(|r| -r)
        .or_else(|| {
            stream
                .tags
                .get("rotate")
                .and_then(|r| r.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    let quarter = (clockwise / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<VideoInfo, VideoError> {
        from_probe(serde_json::from_str(json).unwrap(), "test")
    }

    /// HDR from the stream's tags and side data: Dolby Vision 8.4 is its HLG base layer, 8.1
    /// its HDR10 one with the stream's metadata, profile 5 has none and is refused naming why.
    #[test]
    fn hdr_sources_and_dolby_vision_profiles() {
        let stream = |transfer: &str, side: &str| {
            format!(
                r#"{{"streams":[{{"index":0,"codec_type":"video","codec_name":"hevc","width":64,
                "height":64,"pix_fmt":"yuv420p10le","color_transfer":"{transfer}",
                "side_data_list":[{side}]}}],"format":{{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}}}"#
            )
        };
        let hlg = parse(&stream(
            "arib-std-b67",
            r#"{"side_data_type":"DOVI configuration record","dv_profile":8,"dv_level":5,
               "dv_bl_signal_compatibility_id":4}"#,
        ))
        .unwrap()
        .hdr
        .unwrap();
        assert_eq!(hlg.transfer, crate::color::HdrTransfer::Hlg);
        assert_eq!(hlg.peak(), 1000.0);
        assert!(hlg.usable().is_ok());
        let pq = parse(&stream(
            "smpte2084",
            r#"{"side_data_type":"DOVI configuration record","dv_profile":8,
               "dv_bl_signal_compatibility_id":1},
               {"side_data_type":"Mastering display metadata","max_luminance":"10000000/10000",
               "min_luminance":"50/10000"},
               {"side_data_type":"Content light level metadata","max_content":1500,
               "max_average":400}"#,
        ))
        .unwrap()
        .hdr
        .unwrap();
        assert_eq!((pq.max_cll, pq.mastering_max), (Some(1500.0), Some(1000.0)));
        assert_eq!(pq.peak(), 1500.0);
        let p5 = parse(&stream(
            "smpte2084",
            r#"{"side_data_type":"DOVI configuration record","dv_profile":5,
               "dv_bl_signal_compatibility_id":0}"#,
        ))
        .unwrap()
        .hdr
        .unwrap();
        let e = p5.usable().unwrap_err();
        assert!(e.contains("profile 5") && e.contains("base layer"), "{e}");
        assert!(parse(&stream("bt709", "")).unwrap().hdr.is_none());
    }

    #[test]
    fn rotation_from_side_data_and_tags() {
        let side = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360,
            "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}]}"#;
        let info = parse(side).unwrap();
        assert_eq!((info.rotation, info.width, info.height), (90, 360, 640));
        let tag = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360,
            "tags":{"rotate":"270"}}]}"#;
        assert_eq!(parse(tag).unwrap().rotation, 270);
        let half = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360,
            "side_data_list":[{"rotation":180}]}]}"#;
        let info = parse(half).unwrap();
        assert_eq!((info.rotation, info.width), (180, 640));
    }

    #[test]
    fn colour_defaults_and_tags() {
        let json = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":2,"height":2,
            "pix_fmt":"yuvj420p"}]}"#;
        let info = parse(json).unwrap();
        assert_eq!(info.color.range, ColorRange::Full);
        assert_eq!(info.color.matrix, ColorMatrix::Bt709);
        let json = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":2,"height":2,
            "pix_fmt":"yuv420p","color_space":"smpte170m","color_range":"tv",
            "color_primaries":"unknown"}]}"#;
        let info = parse(json).unwrap();
        assert_eq!(info.color.matrix, ColorMatrix::Bt601);
        assert_eq!(info.color.range, ColorRange::Limited);
        assert_eq!(info.color_primaries, None);
        assert_eq!(info.color_space.as_deref(), Some("smpte170m"));
    }

    #[test]
    fn audio_only_and_cover_art_are_not_videos() {
        let audio = r#"{"streams":[{"codec_type":"audio","sample_rate":"48000","channels":2}]}"#;
        let err = parse(audio).unwrap_err().to_string();
        assert!(err.contains("no video stream"), "{err}");
        let cover = r#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","codec_name":"h264","width":300,
            "height":300,"disposition":{"attached_pic":1}}]}"#;
        assert!(parse(cover).is_err());
    }

    #[test]
    fn unknown_codecs_and_foreign_formats_are_unsupported() {
        let no_codec = r#"{"streams":[{"codec_type":"video","width":64,"height":64}]}"#;
        assert!(matches!(
            parse(no_codec),
            Err(VideoError::Unsupported { .. })
        ));
        let hls = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":64,
            "height":64}],"format":{"format_name":"hls"}}"#;
        let err = parse(hls).unwrap_err();
        assert!(matches!(err, VideoError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("hls"), "{err}");
        let ts = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":64,
            "height":64,"index":3}],"format":{"format_name":"mpegts","start_time":"601.39"}}"#;
        let info = parse(ts).unwrap();
        assert_eq!((info.stream_index, info.start_time_s), (3, Some(601.39)));
        assert_eq!(info.raw_stream_rate(), None);
        let raw = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":64,
            "height":64,"avg_frame_rate":"25/1"}],"format":{"format_name":"h264"}}"#;
        assert_eq!(
            parse(raw).unwrap().raw_stream_rate(),
            Some(Rational { num: 25, den: 1 })
        );
    }

    #[test]
    fn rationals() {
        assert_eq!(
            Rational::parse("30000/1001"),
            Some(Rational {
                num: 30000,
                den: 1001
            })
        );
        assert_eq!(Rational::parse("0/0"), None);
        assert_eq!(Rational::parse("abc"), None);
    }
}
