//! The decoder child: ffmpeg writes the source's frames to stdout as raw YUV 4:2:0 in
//! presentation order with passthrough timing (nothing dropped or duplicated), rotation
//! applied. Each frame's timestamp comes from a `showinfo` filter at the end of the chain,
//! whose stderr line is logged before the frame reaches the pipe, so it is always there by
//! the time the frame has been read.

use std::io::Read;
use std::process::ChildStdout;
use std::sync::mpsc::{Receiver, Sender, channel};

use super::held::HeldFrame;
use super::probe::{Rational, VideoInfo};
use super::process::{Ffmpeg, VideoError, showinfo_field, trial_succeeds};

/// Which decoder ffmpeg runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// NVDEC (`-hwaccel cuda`).
    Nvdec,
    Software,
}

impl DecoderKind {
    pub fn name(self) -> &'static str {
        match self {
            DecoderKind::Nvdec => "nvdec",
            DecoderKind::Software => "software",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            DecoderKind::Nvdec => &["-hwaccel", "cuda"],
            DecoderKind::Software => &[],
        }
    }
}

/// Whether NVDEC decodes the first frames of `path`: a trial run, never an assumption.
pub fn nvdec_works(path: &str) -> bool {
    trial_succeeds(
        path,
        &[
            "-hwaccel",
            "cuda",
            "-i",
            path,
            "-map",
            "0:v:0",
            "-frames:v",
            "2",
            "-f",
            "null",
            "-",
        ],
    )
}

/// A frame's timestamp in the source's time base.
pub type Pts = i64;

enum Info {
    TimeBase(Rational),
    Frame(Pts),
}

/// A running decoder.
pub struct Decoder {
    ff: Ffmpeg,
    stdout: ChildStdout,
    info: Receiver<Info>,
    time_base: Option<Rational>,
    frame_bytes: usize,
    frames: u64,
    path: String,
    pub kind: DecoderKind,
}

impl Decoder {
    /// Starts decoding `path` (described by `info`). `window` limits decoding to the frames
    /// shown in `[start, end)` seconds (the source's own timestamps are kept).
    pub fn spawn(
        path: &str,
        info: &VideoInfo,
        kind: DecoderKind,
        window: Option<(f64, f64)>,
    ) -> Result<Self, VideoError> {
        let mut args: Vec<String> = ["-nostats", "-loglevel", "info"]
            .iter()
            .chain(kind.args())
            .map(|s| s.to_string())
            .collect();
        if let Some((start, end)) = window {
            // seeking before the input is frame-accurate when decoding; -copyts keeps the
            // source's timestamps so frames are placed by their own pts
            args.extend([
                "-ss".into(),
                format!("{start}"),
                "-to".into(),
                format!("{end}"),
            ]);
            args.push("-copyts".into());
        }
        args.extend(
            [
                "-i",
                path,
                "-map",
                "0:v:0",
                "-an",
                "-sn",
                "-dn",
                "-vf",
                "format=yuv420p,showinfo=checksum=0",
                "-fps_mode",
                "passthrough",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "pipe:1",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let (tx, rx) = channel();
        let mut ff = Ffmpeg::spawn_with(path, &args, |_| false, Some(showinfo_hook(tx)))?;
        let stdout = ff.take_stdout().expect("piped stdout");
        let (w, h) = (info.width as usize, info.height as usize);
        Ok(Self {
            ff,
            stdout,
            info: rx,
            time_base: None,
            frame_bytes: w * h + 2 * w.div_ceil(2) * h.div_ceil(2),
            frames: 0,
            path: path.to_string(),
            kind,
        })
    }

    /// The time base of the timestamps [`Self::next_frame`] returns (known after the first
    /// frame).
    pub fn time_base(&self) -> Option<Rational> {
        self.time_base
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Waits for the next frame's timestamp; `None` when the decoder has no more frames. The
    /// frame's bytes are then taken with [`Self::read_into`] or [`Self::hold`]. (showinfo logs a frame before ffmpeg writes it, so its timestamp
    /// comes first.)
    pub fn next_frame(&mut self) -> Result<Option<Pts>, VideoError> {
        loop {
            match self.info.recv() {
                Ok(Info::TimeBase(tb)) => self.time_base = Some(tb),
                Ok(Info::Frame(pts)) => return Ok(Some(pts)),
                Err(_) => {
                    // ffmpeg's stderr is closed: it has exited, and any bytes left in the pipe
                    // belong to a frame it never reported
                    let mut probe = [0u8; 1];
                    return match self.stdout.read(&mut probe) {
                        Ok(0) => Ok(None),
                        Ok(_) => Err(self
                            .unusable(format!("no timestamp reported for frame {}", self.frames))),
                        Err(e) => Err(e.into()),
                    };
                }
            }
        }
    }

    /// Reads the frame announced by [`Self::next_frame`] into `buf` (one frame's bytes).
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<(), VideoError> {
        assert_eq!(buf.len(), self.frame_bytes, "decoder frame buffer size");
        let mut filled = 0;
        while filled < buf.len() {
            match self.stdout.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.frame_done(filled)
    }

    /// Moves the frame announced by [`Self::next_frame`] into `held` without copying it.
    pub fn hold(&mut self, held: &mut HeldFrame) -> Result<(), VideoError> {
        assert_eq!(held.frame_bytes(), self.frame_bytes, "holder size");
        let moved = held.fill_from(&self.stdout)?;
        self.frame_done(moved)
    }

    fn frame_done(&mut self, bytes: usize) -> Result<(), VideoError> {
        if bytes < self.frame_bytes {
            return Err(self.unusable(format!(
                "decoder output ended inside frame {} ({bytes} of {} bytes)",
                self.frames, self.frame_bytes
            )));
        }
        self.frames += 1;
        Ok(())
    }

    /// Stops decoding early (the rest of the source is not needed) and reaps ffmpeg.
    pub fn stop(mut self) {
        self.ff.kill();
    }

    /// Waits for ffmpeg to exit; an error carries its last stderr lines.
    pub fn finish(self) -> Result<(), VideoError> {
        drop(self.stdout);
        self.ff.finish().map(|_| ())
    }

    fn unusable(&mut self, message: String) -> VideoError {
        let tail = self.ff.stop_and_tail();
        VideoError::Unusable {
            input: self.path.clone(),
            message: format!("{message}\n{tail}"),
        }
    }
}

/// Forwards showinfo's time base and per-frame timestamps from the stderr thread.
fn showinfo_hook(tx: Sender<Info>) -> super::process::LineHook {
    Box::new(move |line: &str| {
        if !line.contains("Parsed_showinfo") {
            return;
        }
        if let Some(tb) = showinfo_field(line, "config in time_base:") {
            if let Some(tb) = Rational::parse(tb.trim_end_matches(',')) {
                let _ = tx.send(Info::TimeBase(tb));
            }
        } else if line.contains(" n:")
            && let Some(pts) = showinfo_field(line, " pts:").and_then(|p| p.parse().ok())
        {
            let _ = tx.send(Info::Frame(pts));
        }
    })
}
