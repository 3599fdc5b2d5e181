//! Small generated clips for tests and benchmarks: real ffmpeg on `-f lavfi` sources, written
//! to a temporary name and renamed, so a half-written clip is never reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::video::ffmpeg_path;

/// Writes `path` with `ffmpeg -y <args> <path>` unless it already exists; panics with
/// ffmpeg's stderr on failure (test helper).
pub fn generate(path: &Path, args: &[&str]) -> PathBuf {
    try_generate(path, args).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`generate`], returning ffmpeg's error instead of panicking.
pub fn try_generate<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    path: &Path,
    args: &[S],
) -> Result<PathBuf, String> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("mp4");
    // A name of its own per call: tests running in parallel may generate the same clip.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = path.with_extension(format!("partial-{}-{n}.{ext}", std::process::id()));
    let out = Command::new(ffmpeg_path())
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .arg(&partial)
        .output()
        .map_err(|e| format!("running {}: {e}", ffmpeg_path().display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(format!(
            "ffmpeg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&partial, path).map_err(|e| e.to_string())?;
    Ok(path.to_path_buf())
}

/// Arguments for an H.264 test-pattern clip of `w x h` at `fps` for `seconds`, with a 440 Hz
/// mono 48 kHz AAC track when `audio` is set.
pub fn testsrc_args(w: u32, h: u32, fps: u32, seconds: f64, audio: bool) -> Vec<String> {
    let mut args = vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("testsrc2=size={w}x{h}:rate={fps}:duration={seconds}"),
    ];
    if audio {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!("sine=frequency=440:sample_rate=48000:duration={seconds}"),
            "-c:a".into(),
            "aac".into(),
            "-b:a".into(),
            "64k".into(),
        ]);
    }
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args
}
