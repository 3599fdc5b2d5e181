//! The decoder child, and the one owner of frame time: ffmpeg decodes the source's video
//! stream and writes every frame, in presentation order with passthrough timing (nothing
//! dropped or duplicated, rotation applied), as raw YUV 4:2:0 in a NUT stream. Each frame's
//! header carries its timestamp in the source's own time base (`-copyts`,
//! `-enc_time_base -1`), read by [`super::nut`]; the frame's bytes stay in the pipe until the
//! caller reads or splices them. Frame numbers, times, counts and trims all come from here.
//!
//! Decode errors never pass silently: ffmpeg's error-level lines are counted, and unless the
//! caller tolerates them the first one fails the decode with the time it happened near.

use std::process::ChildStdout;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::held::HeldFrame;
use super::nut::{NutError, NutReader};
use super::probe::{Rational, VideoInfo};
use super::process::{Ffmpeg, VideoError, input_guard_args_for, trial_succeeds};
use crate::cancel::CancelToken;

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

/// Whether NVDEC decodes the first frames of `path`'s video stream `stream`: a trial run,
/// never an assumption.
pub fn nvdec_works(path: &str, stream: u32) -> bool {
    let map = format!("0:{stream}");
    let mut args: Vec<&str> = vec!["-hwaccel", "cuda"];
    let guard = input_guard_args_for(path);
    args.extend(guard.iter().map(String::as_str));
    args.extend([
        "-i",
        path,
        "-map",
        &map,
        "-frames:v",
        "2",
        "-f",
        "null",
        "-",
    ]);
    trial_succeeds(path, &args)
}

/// A frame's timestamp in the decoder's time base.
pub type Pts = i64;

/// How a decoder starts.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// Start decoding near this many seconds after the file's start (`-ss` before the input:
    /// frames before it may still come, never frames after it are lost).
    pub seek_s: Option<f64>,
    /// Keep going past decode errors (counted in [`Decoder::decode_errors`]) instead of
    /// failing at the first.
    pub tolerate_errors: bool,
    /// The job's cancellation signal: cancelling kills the decoder.
    pub cancel: Option<CancelToken>,
}

/// What ffmpeg reported going wrong while decoding, shared with its stderr thread.
#[derive(Default)]
struct ErrorLog {
    /// Error-level lines seen.
    count: AtomicU64,
    /// Frames read when the first one arrived, the last one's timestamp, and the line.
    first: Mutex<Option<(u64, Option<Pts>, String)>>,
    /// Frames read so far and the last one's timestamp (the stderr thread reads them).
    frames_read: AtomicU64,
    last_pts: AtomicI64,
}

/// A running decoder.
pub struct Decoder {
    ff: Ffmpeg,
    nut: NutReader<ChildStdout>,
    errors: Arc<ErrorLog>,
    tolerate: bool,
    frame_bytes: usize,
    frames: u64,
    /// Timestamps of the first and the last frame read.
    first_pts: Option<Pts>,
    last_pts: Option<Pts>,
    /// Where time 0 is, for messages (decoder time base); the first frame's pts by default.
    origin: Option<Pts>,
    path: String,
    pub kind: DecoderKind,
}

impl Decoder {
    /// Starts decoding `info`'s video stream of `path`.
    pub fn spawn(
        path: &str,
        info: &VideoInfo,
        kind: DecoderKind,
        opts: DecodeOptions,
    ) -> Result<Self, VideoError> {
        let mut args: Vec<String> = ["-nostats", "-loglevel", "level+error"]
            .iter()
            .chain(kind.args())
            .map(|s| s.to_string())
            .collect();
        args.extend(input_guard_args_for(path));
        if let Some(rate) = info.raw_stream_rate() {
            // an elementary stream has no timestamps: they are made from the probed rate
            args.extend(["-r".into(), format!("{}/{}", rate.num, rate.den)]);
        }
        if let Some(seek) = opts.seek_s.filter(|s| *s > 0.0) {
            args.extend(["-ss".into(), format!("{seek:.6}")]);
        }
        args.extend(
            [
                "-copyts",
                "-i",
                path,
                "-map",
                &format!("0:{}", info.stream_index),
                "-an",
                "-sn",
                "-dn",
                "-vf",
                "format=yuv420p",
                "-fps_mode",
                "passthrough",
                "-enc_time_base",
                super::process::demux_time_base(),
                "-c:v",
                "rawvideo",
                "-f",
                "nut",
                "-syncpoints",
                "default",
                "pipe:1",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let errors = Arc::new(ErrorLog::default());
        let log = errors.clone();
        let hook = Box::new(move |level: Option<&str>, line: &str| {
            if matches!(level, Some("error" | "fatal"))
                && log.count.fetch_add(1, Ordering::SeqCst) == 0
            {
                let at = log.frames_read.load(Ordering::SeqCst);
                let pts = (at > 0).then(|| log.last_pts.load(Ordering::SeqCst));
                *log.first.lock().expect("error log") = Some((at, pts, line.to_string()));
            }
        });
        let mut ff = Ffmpeg::spawn_with(path, &args, |_| false, Some(hook))?;
        ff.watch(opts.cancel.as_ref());
        let stdout = ff.take_stdout().expect("piped stdout");
        let (w, h) = (info.width as usize, info.height as usize);
        Ok(Self {
            ff,
            nut: NutReader::new(stdout),
            errors,
            tolerate: opts.tolerate_errors,
            frame_bytes: w * h + 2 * w.div_ceil(2) * h.div_ceil(2),
            frames: 0,
            first_pts: None,
            last_pts: None,
            origin: None,
            path: path.to_string(),
            kind,
        })
    }

    /// The time base of the timestamps [`Self::next_frame`] returns (known after the first
    /// frame).
    pub fn time_base(&self) -> Option<Rational> {
        self.nut.time_base(0)
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Error-level lines ffmpeg printed so far (decode errors, damaged packets).
    pub fn decode_errors(&self) -> u64 {
        self.errors.count.load(Ordering::SeqCst)
    }

    /// Where time 0 is (in this decoder's time base), for the times in error messages.
    pub fn set_origin(&mut self, pts: Pts) {
        self.origin = Some(pts);
    }

    /// Waits for the next frame's timestamp; `None` when the decoder has no more frames. The
    /// frame's bytes are then taken with [`Self::read_into`] or [`Self::hold`].
    pub fn next_frame(&mut self) -> Result<Option<Pts>, VideoError> {
        self.check_errors()?;
        let header = match self.nut.next_frame() {
            Ok(h) => h,
            Err(e) => return Err(self.stream_error(e)),
        };
        let Some(header) = header else {
            return Ok(None);
        };
        if header.stream != 0 || header.size != self.frame_bytes {
            let size = self.nut.picture_size(header.stream);
            return Err(self.unusable(format!(
                "decoder wrote a frame of {} bytes (stream {}, picture {size:?}); expected {} \
                 (the picture size changes mid-stream?)",
                header.size, header.stream, self.frame_bytes
            )));
        }
        if let Some(last) = self.last_pts
            && header.pts <= last
        {
            return Err(self.unusable(format!(
                "frame {} is not after the one before it (timestamp {} after {last})",
                self.frames, header.pts
            )));
        }
        self.first_pts.get_or_insert(header.pts);
        self.last_pts = Some(header.pts);
        Ok(Some(header.pts))
    }

    /// Reads the frame announced by [`Self::next_frame`] into `buf` (one frame's bytes).
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<(), VideoError> {
        use std::io::Read;
        assert_eq!(buf.len(), self.frame_bytes, "decoder frame buffer size");
        let mut filled = 0;
        while filled < buf.len() {
            match self.nut.source().read(&mut buf[filled..]) {
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
        let moved = held.fill_from(self.nut.source_ref())?;
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
        if let Some(pts) = self.last_pts {
            self.errors.last_pts.store(pts, Ordering::SeqCst);
        }
        self.errors.frames_read.store(self.frames, Ordering::SeqCst);
        Ok(())
    }

    /// Stops decoding early (the rest of the source is not needed) and reaps ffmpeg.
    pub fn stop(mut self) {
        self.ff.kill();
    }

    /// Waits for ffmpeg to exit; an error carries its last stderr lines. Without tolerance,
    /// an error ffmpeg reported after the last frame fails here. Returns the decode errors
    /// counted (tolerated ones).
    pub fn finish(self) -> Result<u64, VideoError> {
        let Decoder {
            ff,
            nut,
            errors,
            tolerate,
            first_pts,
            origin,
            path,
            ..
        } = self;
        let tb = nut.time_base(0);
        drop(nut);
        // waits for the child and for its stderr thread, so every error line is counted
        let finished = ff.finish();
        if !tolerate && let Some(e) = damaged(&errors, &path, origin.or(first_pts), tb) {
            return Err(e);
        }
        finished?;
        Ok(errors.count.load(Ordering::SeqCst))
    }

    /// Fails (unless tolerated) once ffmpeg has reported an error.
    fn check_errors(&mut self) -> Result<(), VideoError> {
        if self.tolerate {
            return Ok(());
        }
        let origin = self.origin.or(self.first_pts);
        match damaged(&self.errors, &self.path, origin, self.time_base()) {
            None => Ok(()),
            Some(e) => {
                self.ff.kill();
                Err(e)
            }
        }
    }

    fn stream_error(&mut self, e: NutError) -> VideoError {
        match e {
            NutError::Io(e) => e.into(),
            NutError::Invalid(m) => self.unusable(m),
        }
    }

    fn unusable(&mut self, message: String) -> VideoError {
        let tail = self.ff.stop_and_tail();
        VideoError::Unusable {
            input: self.path.clone(),
            message: format!("{message}\n{tail}"),
        }
    }
}

/// The error for a decode that ffmpeg reported errors in, if it did: the time given is the
/// last frame read when the first error line arrived (the pipe holds at most a frame or two
/// of lead, so it is where the damage starts, give or take those).
fn damaged(
    errors: &ErrorLog,
    path: &str,
    origin: Option<Pts>,
    tb: Option<Rational>,
) -> Option<VideoError> {
    if errors.count.load(Ordering::SeqCst) == 0 {
        return None;
    }
    let (at, pts, line) = errors
        .first
        .lock()
        .expect("error log")
        .clone()
        .unwrap_or_default();
    let when = match (pts, origin, tb) {
        (Some(pts), Some(origin), Some(tb)) => format!(
            "near {:.3} s (after frame {})",
            (pts - origin) as f64 * tb.as_f64(),
            at - 1
        ),
        _ => "at the first frame".into(),
    };
    Some(VideoError::Damaged {
        input: path.to_string(),
        message: format!(
            "the video is damaged: decoding failed {when}: {line} (tolerate_decode_errors keeps \
             going and counts such errors)"
        ),
    })
}

/// The first frame's timestamp of `info`'s video stream in `path`, and its time base: where
/// the source's time 0 is. Decodes one frame.
pub fn first_frame_pts(
    path: &str,
    info: &VideoInfo,
    kind: DecoderKind,
    cancel: Option<&CancelToken>,
) -> Result<(Pts, Rational), VideoError> {
    let mut d = Decoder::spawn(
        path,
        info,
        kind,
        DecodeOptions {
            seek_s: None,
            tolerate_errors: true,
            cancel: cancel.cloned(),
        },
    )?;
    let pts = d.next_frame()?.ok_or_else(|| VideoError::Unusable {
        input: path.to_string(),
        message: "the video has no frames".into(),
    })?;
    let tb = d.time_base().expect("known after a frame");
    d.stop();
    Ok((pts, tb))
}
