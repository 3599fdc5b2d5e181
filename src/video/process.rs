//! Running ffmpeg: locating the binary, draining stderr on a thread (keeping the last lines
//! for error messages), and always reaping the child.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::thread::JoinHandle;

use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;

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
    #[error("reading ffmpeg output: {0}")]
    Io(#[from] std::io::Error),
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

/// Called with every stderr line of a running ffmpeg, on its stderr thread.
pub type LineHook = Box<dyn FnMut(&str) + Send>;

/// A running ffmpeg whose stderr is drained in the background.
pub struct Ffmpeg {
    child: FfmpegChild,
    stderr: Option<JoinHandle<Vec<String>>>,
    input: String,
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
                        let line = strip_level(part.trim_end()).to_string();
                        if line.is_empty() {
                            continue;
                        }
                        if let Some(hook) = on_line.as_mut() {
                            hook(&line);
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
        })
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

/// Drops the `[info] ` / `[error] ` prefix that ffmpeg's `-loglevel level+...` adds.
fn strip_level(line: &str) -> &str {
    for level in [
        "[info] ",
        "[warning] ",
        "[error] ",
        "[fatal] ",
        "[verbose] ",
        "[debug] ",
    ] {
        if let Some(rest) = line.strip_prefix(level) {
            return rest;
        }
    }
    line
}

/// The value after `key` in a showinfo line (`" pts:"` -> `"1024"`).
pub fn showinfo_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)? + key.len();
    line[i..].split_whitespace().next()
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
