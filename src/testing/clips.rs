//! Small generated clips for tests and benchmarks: real ffmpeg on `-f lavfi` sources, written
//! to a temporary name and renamed, so a half-written clip is never reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::video::ffmpeg_path;

/// Writes `path` with `ffmpeg -y <args> <path>` unless it already exists; panics with
/// ffmpeg's stderr on failure (test helper).
pub fn generate(path: &Path, args: &[&str]) -> PathBuf {
    if path.exists() {
        return path.to_path_buf();
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("mp4");
    let partial = path.with_extension(format!("partial.{ext}"));
    let out = Command::new(ffmpeg_path())
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .arg(&partial)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&partial, path).unwrap();
    path.to_path_buf()
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
