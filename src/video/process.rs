//! Running ffmpeg: locating the binary, draining stderr on a thread (keeping the last lines
//! for error messages), and always reaping the child.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::thread::JoinHandle;

use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;

use crate::cancel::{CancelGuard, CancelToken};

/// Lines of ffmpeg's stderr kept for error messages.
pub(super) const TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("ffmpeg not found at {path:?} (install ffmpeg or set REELGPU_FFMPEG): {source}")]
    FfmpegMissing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ffmpeg failed ({status}) on {input}:\n{stderr_tail}")]
    FfmpegFailed {
        input: String,
        status: String,
        stderr_tail: String,
    },
    #[error("{input}: {message}")]
    Unusable { input: String, message: String },
    /// The video decodes with errors (damaged or truncated): retrying cannot help.
    #[error("{input}: {message}")]
    Damaged { input: String, message: String },
    /// A frame or time the video does not have (the message names the range it has).
    #[error("{input} {message}")]
    OutOfRange { input: String, message: String },
    /// Not a container or codec reelgpu takes (a playlist, an image, an unknown codec).
    #[error("{input}: {message}")]
    Unsupported { input: String, message: String },
    #[error("reading ffmpeg output: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for VideoError {
    fn from(e: std::io::Error) -> Self {
        VideoError::Io(e)
    }
}

/// The ffmpeg binary: `REELGPU_FFMPEG`, else `ffmpeg` on `PATH`.
pub fn ffmpeg_path() -> PathBuf {
    std::env::var_os("REELGPU_FFMPEG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ffmpeg"))
}

/// Whether `ffmpeg -loglevel error <args>` exits successfully: the trial runs that decide
/// whether NVDEC/NVENC work on this machine (ffmpeg lists them even where they cannot run).
pub fn trial_succeeds(what: &str, args: &[&str]) -> bool {
    let args: Vec<String> = ["-loglevel", "error"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
    Ffmpeg::spawn(what, &args, |_| false)
        .and_then(|ff| ff.finish())
        .is_ok()
}

/// Pipe capacity asked for on the frame pipes: Linux's default for unprivileged processes
/// maximum (`/proc/sys/fs/pipe-max-size`). The default 64 KiB moves a 1080p frame (3 MB) in
/// about 50 wake-ups of each side; 1 MiB in 3.
#[cfg(target_os = "linux")]
const FRAME_PIPE_BYTES: libc::c_int = 1 << 20;

/// Widens a frame pipe (best effort: a smaller system limit keeps the default size).
#[cfg(target_os = "linux")]
fn widen_pipe(pipe: &impl std::os::fd::AsRawFd) {
    // SAFETY: F_SETPIPE_SZ on a pipe descriptor we own; failure only leaves the size as is.
    let got = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, FRAME_PIPE_BYTES) };
    if got < 0 {
        tracing::debug!("F_SETPIPE_SZ: {}", std::io::Error::last_os_error());
    }
}

#[cfg(not(target_os = "linux"))]
fn widen_pipe<T>(_pipe: &T) {}

/// Called with every stderr line of a running ffmpeg, on its stderr thread, with the line's
/// level when ffmpeg was asked to print levels (`-loglevel level+...`).
pub type LineHook = Box<dyn FnMut(Option<&str>, &str) + Send>;

/// Demuxers reelgpu reads sources with: real video containers and raw H.264/HEVC streams.
/// Playlists (HLS, DASH), concat scripts, image sequences and anything that opens other
/// files or the network are not among them.
pub const SOURCE_FORMATS: &[&str] = &[
    "mov",
    "mp4",
    "m4a",
    "3gp",
    "3g2",
    "mj2",
    "matroska",
    "webm",
    "mpegts",
    "mpeg",
    "avi",
    "h264",
    "hevc",
    "flv",
    "asf",
    "mxf",
    "ogg",
    "m4v",
    "mpegvideo",
    "ivf",
    "dv",
    "nut",
];

/// Input options for every ffmpeg/ffprobe run on a source: local files and pipes only, and
/// only the demuxers in [`SOURCE_FORMATS`].
pub fn input_guard_args() -> Vec<String> {
    vec![
        "-protocol_whitelist".into(),
        "file,pipe".into(),
        "-format_whitelist".into(),
        SOURCE_FORMATS.join(","),
    ]
}

/// The major version of the ffmpeg in use (`ffmpeg -version`), read once; `None` when it
/// does not say (a git build) or does not run.
pub fn ffmpeg_major_version() -> Option<u32> {
    static VERSION: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = std::process::Command::new(ffmpeg_path())
            .args(["-hide_banner", "-version"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        parse_major_version(&String::from_utf8_lossy(&out.stdout))
    })
}

/// `ffmpeg version 5.1.6-0+deb12u1 ...` → 5; `ffmpeg version n9.0.2-17-g...` → 9.
pub fn parse_major_version(text: &str) -> Option<u32> {
    let rest = text.lines().next()?.split("version ").nth(1)?;
    let digits: String = rest
        .trim_start_matches('n')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// `-enc_time_base`'s value for "the demuxer's time base": `-1` up to ffmpeg 6, `demux`
/// since (7 and later refuse -1).
pub fn demux_time_base() -> &'static str {
    match ffmpeg_major_version() {
        Some(v) if v >= 7 => "demux",
        _ => "-1",
    }
}

/// Where a source lives when it is read through the worker's range bridge (see
/// `storage::bridge`): plain HTTP on the loopback interface only.
pub const BRIDGE_PREFIX: &str = "http://127.0.0.1:";

/// [`input_guard_args`] for `source`: a source read through the range bridge may use
/// exactly `http` and `tcp` (ffmpeg's HTTP runs over its TCP protocol), nothing else; any
/// other source only local files and pipes.
pub fn input_guard_args_for(source: &str) -> Vec<String> {
    let mut args = input_guard_args();
    if source.starts_with(BRIDGE_PREFIX) {
        args[1] = "http,tcp".into();
        // a fixed receive buffer (no autotuning): bytes in flight that a seek throws away
        // stay few
        args.extend(["-recv_buffer_size".into(), "65536".into()]);
    }
    args
}

/// A way to kill a child from another thread that can never hit another process: a pidfd
/// on Linux (a signal to a reaped child is refused), else the pid.
pub struct ChildKiller {
    #[cfg(target_os = "linux")]
    pidfd: Option<std::os::fd::OwnedFd>,
    pid: u32,
}

impl ChildKiller {
    pub fn new(pid: u32) -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::FromRawFd;
            // SAFETY: pidfd_open takes a pid and flags; a non-negative result is a new fd we own.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            let pidfd = (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) });
            Self { pidfd, pid }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Self { pid }
        }
    }

    /// Sends SIGKILL (nothing happens once the child is gone).
    pub fn kill(&self) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            }
            return;
        }
        // SAFETY: kill(2) with a pid of our own child; at worst it is already gone (ESRCH).
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// A running ffmpeg whose stderr is drained in the background.
pub struct Ffmpeg {
    child: FfmpegChild,
    stderr: Option<JoinHandle<Vec<String>>>,
    input: String,
    /// Kills the child when the job's token is cancelled (see [`Self::watch`]).
    cancel: Option<CancelGuard>,
}

impl Ffmpeg {
    /// Spawns `ffmpeg -hide_banner -nostdin <args>`; `keep` selects stderr lines to keep in full
    /// (besides the last few, which are always kept).
    pub fn spawn(input: &str, args: &[String], keep: fn(&str) -> bool) -> Result<Self, VideoError> {
        Self::spawn_with(input, args, keep, None)
    }

    /// Like [`Self::spawn`], and every stderr line also goes to `on_line` as it arrives.
    pub fn spawn_with(
        input: &str,
        args: &[String],
        keep: fn(&str) -> bool,
        mut on_line: Option<LineHook>,
    ) -> Result<Self, VideoError> {
        let path = ffmpeg_path();
        let mut cmd = FfmpegCommand::new_with_path(&path);
        cmd.as_inner_mut()
            .args(["-hide_banner", "-nostdin"])
            .args(args);
        let mut child = cmd.spawn().map_err(|source| VideoError::FfmpegMissing {
            path: path.clone(),
            source,
        })?;
        let stderr = child.take_stderr().map(|err| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut tail = std::collections::VecDeque::with_capacity(TAIL_LINES);
                let mut reader = BufReader::new(err);
                let mut buf = Vec::new();
                while reader.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
                    for part in String::from_utf8_lossy(&buf).split('\r') {
                        let (level, line) = split_level(part.trim_end());
                        if line.is_empty() {
                            continue;
                        }
                        if let Some(hook) = on_line.as_mut() {
                            hook(level, &line);
                        }
                        if keep(&line) {
                            kept.push(line.clone());
                        }
                        if tail.len() == TAIL_LINES {
                            tail.pop_front();
                        }
                        tail.push_back(line);
                    }
                    buf.clear();
                }
                kept.push(String::from("--- tail ---"));
                kept.extend(tail);
                kept
            })
        });
        Ok(Self {
            child,
            stderr,
            input: input.to_string(),
            cancel: None,
        })
    }

    /// Kills the child when `token` is cancelled: whatever it is blocked on, the stage
    /// waiting for it sees it end.
    pub fn watch(&mut self, token: Option<&CancelToken>) {
        if let Some(token) = token {
            let killer = ChildKiller::new(self.child.as_inner().id());
            self.cancel = Some(token.on_cancel(move || killer.kill()));
        }
    }

    /// The child's stdin (piped), once, with the pipe widened for whole frames.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        let stdin = self.child.take_stdin();
        stdin.as_ref().map(widen_pipe);
        stdin
    }

    /// The child's stdout (piped), once, with the pipe widened for whole frames.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        let stdout = self.child.take_stdout();
        stdout.as_ref().map(widen_pipe);
        stdout
    }

    pub fn pid(&mut self) -> u32 {
        self.child.as_inner().id()
    }

    /// Stops the child now (it is reaped on drop or by [`Self::finish`]).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Reads all of stdout.
    pub fn read_stdout(&mut self) -> Result<Vec<u8>, VideoError> {
        let mut out = Vec::new();
        if let Some(mut stdout) = self.child.take_stdout() {
            stdout.read_to_end(&mut out)?;
        }
        Ok(out)
    }

    /// Stops the child if it still runs, reaps it and returns its last stderr lines (for an
    /// error found while reading its output).
    pub fn stop_and_tail(&mut self) -> String {
        if let Ok(None) = self.child.as_inner_mut().try_wait() {
            // give a child that is already on its way out a moment to write its last words
            std::thread::sleep(std::time::Duration::from_millis(100));
            if let Ok(None) = self.child.as_inner_mut().try_wait() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        let lines = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        stderr_tail(&lines)
    }

    /// Waits for exit; returns the kept stderr lines, or an error with the last lines.
    pub fn finish(mut self) -> Result<Vec<String>, VideoError> {
        let status = self.child.wait()?;
        let lines = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        check_status(status, &self.input, &lines)?;
        Ok(lines)
    }
}

impl Drop for Ffmpeg {
    fn drop(&mut self) {
        // Reap on every path: kill if still running, then wait.
        if let Ok(None) = self.child.as_inner_mut().try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn check_status(status: ExitStatus, input: &str, lines: &[String]) -> Result<(), VideoError> {
    if status.success() {
        return Ok(());
    }
    Err(VideoError::FfmpegFailed {
        input: input.to_string(),
        status: status.to_string(),
        stderr_tail: stderr_tail(lines),
    })
}

/// ffmpeg's level names and the tags `-loglevel level+...` prints for them.
const LEVELS: [(&str, &str); 8] = [
    ("trace", "[trace] "),
    ("debug", "[debug] "),
    ("verbose", "[verbose] "),
    ("info", "[info] "),
    ("warning", "[warning] "),
    ("error", "[error] "),
    ("fatal", "[fatal] "),
    ("panic", "[panic] "),
];

/// Takes out the `[error] ` level tag that ffmpeg's `-loglevel level+...` adds (after the
/// `[h264 @ 0x...] ` context, when there is one): the level and the line without it.
fn split_level(line: &str) -> (Option<&'static str>, String) {
    for (level, tag) in LEVELS {
        if let Some(i) = line.find(tag) {
            // only at the start or right after a `[context] ` prefix
            let before = &line[..i];
            if before.is_empty() || (before.starts_with('[') && before.ends_with("] ")) {
                return (Some(level), format!("{before}{}", &line[i + tag.len()..]));
            }
        }
    }
    (None, line.to_string())
}

/// The last stderr lines, for error messages.
pub fn stderr_tail(lines: &[String]) -> String {
    let start = lines
        .iter()
        .position(|l| l == "--- tail ---")
        .map(|i| i + 1)
        .unwrap_or(0);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {

    #[test]
    fn ffmpeg_versions_parse() {
        assert_eq!(
            parse_major_version("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024"),
            Some(5)
        );
        assert_eq!(
            parse_major_version("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright"),
            Some(9)
        );
        assert_eq!(
            parse_major_version("ffmpeg version 7.0.2-static https://"),
            Some(7)
        );
        assert_eq!(
            parse_major_version("ffmpeg version N-118000-gabcdef Copyright"),
            None
        );
        assert_eq!(parse_major_version(""), None);
    }
    use super::*;

    #[test]
    fn levels_are_taken_out_wherever_ffmpeg_puts_them() {
        assert_eq!(
            split_level("[h264 @ 0x55c5] [error] Invalid NAL unit size (5 > 2)."),
            (
                Some("error"),
                "[h264 @ 0x55c5] Invalid NAL unit size (5 > 2).".to_string()
            )
        );
        assert_eq!(
            split_level("[error] Error while decoding stream #0:0"),
            (
                Some("error"),
                "Error while decoding stream #0:0".to_string()
            )
        );
        assert_eq!(
            split_level("[info] Stream #0:0: Video"),
            (Some("info"), "Stream #0:0: Video".to_string())
        );
        assert_eq!(
            split_level("title says [error] here"),
            (None, "title says [error] here".to_string())
        );
        assert_eq!(split_level("plain"), (None, "plain".to_string()));
    }
}
