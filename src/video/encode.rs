//! The encoder child: ffmpeg reads processed frames from stdin (a Matroska stream carrying
//! each frame's own timestamp, see [`super::mkv`]) and the source's audio from the source
//! file, and writes an H.264 MP4 to a temporary name in the output's folder. The file is
//! renamed to the output path only when ffmpeg succeeded; on any other path the temporary
//! file is removed and the child reaped.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ChildStdin;

use super::held::HeldFrame;
use super::mkv::{MkvWriter, TIMESTAMP_SCALE_NS};
use super::probe::Rational;
use super::process::{Ffmpeg, VideoError, input_guard_args, input_guard_args_for, trial_succeeds};
use crate::cancel::CancelToken;
use crate::color::ColorRange;

/// How the encoder spends its effort, and the audio's bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeQuality {
    /// libx264's preset (NVENC always runs `p4`).
    pub x264_preset: &'static str,
    /// libx264's `-crf`, NVENC's `-cq`.
    pub crf: u8,
    /// AAC bitrate in kb/s.
    pub audio_kbps: u32,
}

impl EncodeQuality {
    /// The contract's exports (§1–10): `veryfast`, crf 23, AAC 128 kb/s.
    pub const STANDARD: Self = Self {
        x264_preset: "veryfast",
        crf: 23,
        audio_kbps: 128,
    };
    /// As the web app's own renderer encodes (§12, §13): `fast`, crf 23, AAC 192 kb/s.
    pub const APP: Self = Self {
        x264_preset: "fast",
        crf: 23,
        audio_kbps: 192,
    };

    pub fn audio_args(self) -> Vec<String> {
        vec![
            "-c:a".into(),
            "aac".into(),
            "-b:a".into(),
            format!("{}k", self.audio_kbps),
        ]
    }
}

impl Default for EncodeQuality {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// Which H.264 encoder ffmpeg runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderKind {
    /// `h264_nvenc -preset p4 -cq 23`
    Nvenc,
    /// `libx264 -preset veryfast -crf 23`
    X264,
}

impl EncoderKind {
    pub fn name(self) -> &'static str {
        match self {
            EncoderKind::Nvenc => "h264_nvenc",
            EncoderKind::X264 => "libx264",
        }
    }

    pub fn args(self, q: EncodeQuality) -> Vec<String> {
        let args: [&str; 6] = match self {
            EncoderKind::Nvenc => ["-c:v", "h264_nvenc", "-preset", "p4", "-cq", ""],
            EncoderKind::X264 => ["-c:v", "libx264", "-preset", q.x264_preset, "-crf", ""],
        };
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args[5] = q.crf.to_string();
        args
    }

    /// NVENC when a trial encode of a few frames works (ffmpeg lists it even on machines
    /// without an NVIDIA driver), else libx264.
    pub fn detect() -> Self {
        let nvenc = trial_succeeds(
            "nvenc trial",
            &[
                "-f",
                "lavfi",
                "-i",
                "color=c=gray:s=256x256:r=30:d=0.2",
                "-c:v",
                "h264_nvenc",
                "-f",
                "null",
                "-",
            ],
        );
        if nvenc {
            EncoderKind::Nvenc
        } else {
            EncoderKind::X264
        }
    }
}

/// The source's audio, and which parts of it go into the output.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSource {
    pub path: String,
    /// The audio stream's index in the file.
    pub stream_index: u32,
    /// `[start, end)` of the source in its own timestamps (seconds, as the decoder's frames
    /// are stamped: `-copyts`), joined in order. Each cut lasts exactly `end - start` in the
    /// output: audio that starts late or ends early is padded with silence, so the audio's
    /// offset from the video is kept. The last cut may be open (`None`): it then runs, padded,
    /// until the video ends.
    pub cuts: Vec<(f64, Option<f64>)>,
    /// The container's start time (seconds): where an input seek (`-ss`) counts from.
    pub container_start_s: f64,
}

/// How far before a cut its input is opened, and past its end read: audio frames around the
/// cut, so `atrim` has whole frames to cut from.
pub const AUDIO_MARGIN_S: f64 = 1.0;

/// One audio input of the encoder: opened at `seek_s` (container seconds, `-ss`) and read
/// for `duration_s` (`-t`), so a cut out of a long source reads only its neighbourhood.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInput {
    pub location: String,
    pub seek_s: Option<f64>,
    pub duration_s: Option<f64>,
}

impl AudioInput {
    /// The input for source seconds `start..end` (as ffmpeg stamps them) of a container
    /// starting at `container_start`.
    pub fn around(location: &str, container_start: f64, start: f64, end: Option<f64>) -> Self {
        let seek = (start - container_start - AUDIO_MARGIN_S).max(0.0);
        Self {
            location: location.to_string(),
            seek_s: (seek > 0.0).then_some(seek),
            duration_s: end.map(|e| e - container_start + AUDIO_MARGIN_S - seek),
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = input_guard_args_for(&self.location);
        if let Some(s) = self.seek_s {
            args.extend(["-ss".into(), format!("{s:.6}")]);
        }
        if let Some(t) = self.duration_s {
            args.extend(["-t".into(), format!("{t:.6}")]);
        }
        args.extend(["-i".into(), self.location.clone()]);
        args
    }
}

/// Audio built by a filter graph over several inputs (a reel's clips): input `k` of
/// `inputs` is the graph's `[k+1:...]`; the graph ends in `[aout]`, exactly as long as the
/// video.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioGraph {
    pub inputs: Vec<AudioInput>,
    pub graph: String,
}

/// Colour tags written into the output's H.264 stream and container.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorTags {
    pub matrix: String,
    pub primaries: String,
    pub transfer: String,
    pub range: ColorRange,
}

impl Default for ColorTags {
    fn default() -> Self {
        Self {
            matrix: "bt709".into(),
            primaries: "bt709".into(),
            transfer: "bt709".into(),
            range: ColorRange::Limited,
        }
    }
}

/// Everything the encoder needs to know before the first frame.
#[derive(Debug, Clone)]
pub struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    /// Time base of the timestamps passed to [`Encoder::write_frame`] (the source's).
    pub time_base: Rational,
    /// The nominal frame rate (the source's average), for the encoder's input header.
    pub frame_rate: Option<Rational>,
    pub color: ColorTags,
    pub audio: Option<AudioSource>,
    /// Instead of `audio`: a graph over several inputs.
    pub audio_graph: Option<AudioGraph>,
    pub kind: EncoderKind,
    pub quality: EncodeQuality,
    /// The job's cancellation signal: cancelling kills the encoder.
    pub cancel: Option<CancelToken>,
    /// The output's sample aspect ratio (none: square pixels).
    pub sar: Option<Rational>,
    /// The output's pixel format (none: `yuv420p`): another reel's 8-bit 4:2:0 format, so
    /// that a segment made to join it matches it.
    pub pix_fmt: Option<String>,
}

/// A running encoder writing to a temporary file next to the output.
pub struct Encoder {
    ff: Option<Ffmpeg>,
    writer: Option<MkvWriter<BufWriter<ChildStdin>>>,
    temp: PathBuf,
    output: PathBuf,
    time_base: Rational,
    frames: u64,
}

impl Encoder {
    pub fn spawn(output: &Path, s: &EncodeSettings) -> Result<Self, VideoError> {
        let temp = temp_path(output);
        let tb = s.time_base;
        let mut args: Vec<String> = vec![
            "-nostats".into(),
            "-loglevel".into(),
            "warning".into(),
            "-y".into(),
            "-copyts".into(),
        ];
        args.extend(input_guard_args());
        args.extend(["-f".into(), "matroska".into(), "-i".into(), "pipe:0".into()]);
        let mut map_audio = Vec::new();
        if let Some(audio) = s.audio.as_ref().filter(|a| !a.cuts.is_empty()) {
            // one input per cut, opened near it: a clip of a long source reads only its part
            for &(start, end) in &audio.cuts {
                let input = AudioInput::around(&audio.path, audio.container_start_s, start, end);
                args.extend(input.args());
            }
            map_audio.extend([
                "-filter_complex".into(),
                audio_cuts_graph(audio.stream_index, &audio.cuts),
            ]);
            map_audio.extend(["-map".into(), "[aout]".into()]);
            map_audio.extend(s.quality.audio_args());
            if audio.cuts.last().is_some_and(|c| c.1.is_none()) {
                // the padded audio never ends by itself: the video's end ends it
                map_audio.push("-shortest".into());
            }
        }
        if let Some(g) = &s.audio_graph {
            for input in &g.inputs {
                args.extend(input.args());
            }
            map_audio.extend(["-filter_complex".into(), g.graph.clone()]);
            map_audio.extend(["-map".into(), "[aout]".into()]);
            map_audio.extend(s.quality.audio_args());
        }
        args.extend(["-map".into(), "0:v:0".into()]);
        args.extend(map_audio);
        // x264 needs even sizes: an odd source loses its last column or row
        let mut filters = Vec::new();
        if s.width % 2 == 1 || s.height % 2 == 1 {
            filters.push("crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0".to_string());
        }
        if let Some(r) = s.sar {
            filters.push(format!("setsar={}/{}", r.num, r.den));
        }
        if !filters.is_empty() {
            args.extend(["-vf".into(), filters.join(",")]);
        }
        args.extend(s.kind.args(s.quality));
        args.extend([
            "-pix_fmt".to_string(),
            s.pix_fmt.clone().unwrap_or_else(|| "yuv420p".into()),
            "-fps_mode".into(),
            "passthrough".into(),
            "-enc_time_base:v".into(),
            format!("{}/{}", tb.num, tb.den),
            "-colorspace".into(),
            s.color.matrix.clone(),
            "-color_primaries".into(),
            s.color.primaries.clone(),
            "-color_trc".into(),
            s.color.transfer.clone(),
            "-color_range".into(),
            match s.color.range {
                ColorRange::Limited => "tv".into(),
                ColorRange::Full => "pc".into(),
            },
            "-movflags".into(),
            "+faststart".into(),
        ]);
        if tb.num == 1 {
            args.extend(["-video_track_timescale".into(), tb.den.to_string()]);
        }
        args.extend([
            "-f".into(),
            "mp4".into(),
            temp.to_string_lossy().into_owned(),
        ]);
        let input = output.display().to_string();
        let mut ff = Ffmpeg::spawn(&input, &args, |_| false)?;
        ff.watch(s.cancel.as_ref());
        let stdin = ff.take_stdin().expect("piped stdin");
        let mut encoder = Self {
            ff: Some(ff),
            writer: None,
            temp,
            output: output.to_path_buf(),
            time_base: tb,
            frames: 0,
        };
        let frame_ns = s
            .frame_rate
            .map(|r| (1e9 * f64::from(r.den) / f64::from(r.num)).round() as u64);
        let writer = MkvWriter::new(
            BufWriter::with_capacity(1 << 20, stdin),
            s.width,
            s.height,
            frame_ns,
        );
        match writer {
            Ok(w) => encoder.writer = Some(w),
            Err(e) => return Err(encoder.fail(e)),
        }
        Ok(encoder)
    }

    /// Appends a frame shown at `pts` for `duration` (both in the settings' time base).
    pub fn write_frame(&mut self, pts: i64, duration: i64, frame: &[u8]) -> Result<(), VideoError> {
        self.write_with(pts, duration, |mkv, ts, dur| {
            mkv.write_frame(ts, dur, frame)
        })
    }

    /// Like [`Self::write_frame`] for a frame held in pipes: it is spliced into ffmpeg's stdin
    /// behind the block header, never copied through this process.
    pub fn write_held(
        &mut self,
        pts: i64,
        duration: i64,
        frame: &mut HeldFrame,
    ) -> Result<(), VideoError> {
        self.write_with(pts, duration, |mkv, ts, dur| {
            mkv.write_frame_with(ts, dur, |w| {
                w.flush()?;
                frame.drain_into(w.get_ref())
            })
        })
    }

    fn write_with(
        &mut self,
        pts: i64,
        duration: i64,
        write: impl FnOnce(&mut MkvWriter<BufWriter<ChildStdin>>, u64, u64) -> std::io::Result<()>,
    ) -> Result<(), VideoError> {
        let ts = self.to_ns(pts.max(0));
        let dur = self.to_ns(duration.max(1));
        let writer = self.writer.as_mut().expect("encoder is open");
        match write(writer, ts, dur) {
            Ok(()) => {
                self.frames += 1;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Ends the stream, waits for ffmpeg and moves the file to the output path.
    pub fn finish(mut self) -> Result<PathBuf, VideoError> {
        if let Some(mut w) = self.writer.take()
            && let Err(e) = w.flush()
        {
            return Err(self.fail(e));
        }
        let ff = self.ff.take().expect("encoder is open");
        let done = ff
            .finish()
            .and_then(|_| std::fs::rename(&self.temp, &self.output).map_err(VideoError::from));
        if done.is_err() {
            // ffmpeg failed at the end (or the rename did): no partial file stays behind
            let _ = std::fs::remove_file(&self.temp);
        }
        done.map(|()| self.output.clone())
    }

    fn to_ns(&self, t: i64) -> u64 {
        let tb = self.time_base;
        let scale = 1_000_000_000i128 / TIMESTAMP_SCALE_NS as i128;
        let n = t as i128 * tb.num as i128 * scale;
        ((n + tb.den as i128 / 2) / tb.den as i128) as u64
    }

    /// A failed write: a closed pipe means ffmpeg stopped, so report its last words.
    fn fail(&mut self, e: std::io::Error) -> VideoError {
        self.writer = None;
        let tail = self
            .ff
            .as_mut()
            .map(|ff| ff.stop_and_tail())
            .unwrap_or_default();
        if e.kind() == ErrorKind::BrokenPipe {
            VideoError::FfmpegFailed {
                input: self.output.display().to_string(),
                status: "encoder stopped reading".into(),
                stderr_tail: tail,
            }
        } else {
            VideoError::Io(e)
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // not finished: close the pipe, stop and reap ffmpeg, and leave no partial file
        self.writer = None;
        if let Some(ff) = self.ff.take() {
            drop(ff); // kills it if still running, then reaps it
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `.name.reelgpu-<pid>.part` next to `output`.
pub fn temp_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output.mp4".into());
    output.with_file_name(format!(".{name}.reelgpu-{}.part", std::process::id()))
}

/// The filter graph that cuts `cuts` out of the source's audio stream `stream` (cut `i` from
/// input `i + 1`, opened around it) and joins them into `[aout]`. Each cut starts at 0 and lasts exactly its length: audio missing at its start
/// or end becomes silence, so sound stays where it was relative to the pictures.
fn audio_cuts_graph(stream: u32, cuts: &[(f64, Option<f64>)]) -> String {
    let mut graph = String::new();
    for (i, (start, end)) in cuts.iter().enumerate() {
        let shift = format!("asetpts=PTS-{start:.6}/TB,aresample=async=1:first_pts=0");
        let input = i + 1;
        graph += &match end {
            Some(end) => {
                let len = (end - start).max(0.0);
                format!(
                    "[{input}:{stream}]atrim=start={start:.6}:end={end:.6},{shift},\
                     apad=whole_dur={len:.6},atrim=end={len:.6}[a{i}];"
                )
            }
            None => format!("[{input}:{stream}]atrim=start={start:.6},{shift},apad[a{i}];"),
        };
    }
    if cuts.len() == 1 {
        return graph.replace("[a0];", "[aout]");
    }
    for i in 0..cuts.len() {
        graph += &format!("[a{i}]");
    }
    graph + &format!("concat=n={}:v=0:a=1[aout]", cuts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_graph_joins_cuts_in_order() {
        assert_eq!(
            audio_cuts_graph(2, &[(601.4, Some(602.9))]),
            "[1:2]atrim=start=601.400000:end=602.900000,asetpts=PTS-601.400000/TB,\
             aresample=async=1:first_pts=0,apad=whole_dur=1.500000,atrim=end=1.500000[aout]"
        );
        assert_eq!(
            audio_cuts_graph(1, &[(0.04, None)]),
            "[1:1]atrim=start=0.040000,asetpts=PTS-0.040000/TB,aresample=async=1:first_pts=0,\
             apad[aout]"
        );
        let g = audio_cuts_graph(1, &[(4.0, Some(5.0)), (1.0, Some(2.0))]);
        assert!(g.ends_with("[a0][a1]concat=n=2:v=0:a=1[aout]"), "{g}");
        assert!(
            g.starts_with("[1:1]atrim=start=4") && g.contains("[2:1]atrim=start=1"),
            "{g}"
        );
        assert!(g.find("start=4").unwrap() < g.find("start=1").unwrap());
    }

    #[test]
    fn audio_inputs_open_around_their_cut() {
        let a = AudioInput::around("s.mp4", 0.0, 150.0, Some(153.0));
        assert_eq!(a.seek_s, Some(149.0));
        // from 149 s: the 3 s cut and a second of margin each side
        assert_eq!(a.duration_s, Some(5.0));
        assert_eq!(
            a.args()[a.args().len() - 6..],
            ["-ss", "149.000000", "-t", "5.000000", "-i", "s.mp4"]
        );
        // near the start: no seek; an open cut: no limit
        let b = AudioInput::around("s.mp4", 601.0, 601.4, None);
        assert_eq!((b.seek_s, b.duration_s), (None, None));
    }

    #[test]
    fn temp_file_sits_next_to_the_output() {
        let t = temp_path(Path::new("/tmp/x/out.mp4"));
        assert_eq!(t.parent(), Some(Path::new("/tmp/x")));
        assert!(
            t.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".out.mp4.reelgpu-")
        );
    }
}
