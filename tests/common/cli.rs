//! Running the real `reelgpu` binary in tests and reading what it wrote with ffprobe.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reelgpu::testing::clips::generate;
use serde_json::Value;

/// A path under the test binary's temporary folder (`<tmpdir>/<folder>/<name>`).
pub fn tmp_in(folder: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A generated clip: `ffmpeg <args> <path>` once.
pub fn clip_in(folder: &str, name: &str, args: Vec<String>) -> PathBuf {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&tmp_in(folder, name), &args)
}

/// `reelgpu export --json` of `job` (written next to the output), ready to run.
pub fn export_command(job: &Value, input: &Path, output: &Path, extra: &[&str]) -> Command {
    let job_path = output.with_extension("job.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let _ = std::fs::remove_file(output);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelgpu"));
    cmd.args(["export", "--json", "--decoder", "software", "--job"])
        .arg(&job_path)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(extra)
        .env("REELGPU_LOG", "warn");
    cmd
}

pub fn export(job: &Value, input: &Path, output: &Path, extra: &[&str]) -> Output {
    export_command(job, input, output, extra)
        .output()
        .expect("run reelgpu")
}

pub fn summary(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "export failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

pub fn ffprobe(args: &[&str], path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every video frame's presentation time (seconds), in order.
pub fn frame_times(path: &Path) -> Vec<f64> {
    let text = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ],
        path,
    );
    let mut t: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    t.sort_by(f64::total_cmp);
    t
}

/// A numeric field of a stream (`duration`, `start_time`): the first value ffprobe prints (a
/// transport stream lists its streams once more per program).
pub fn stream_value(path: &Path, stream: &str, field: &str) -> Option<f64> {
    ffprobe(
        &[
            "-select_streams",
            stream,
            "-show_entries",
            &format!("stream={field}"),
            "-of",
            "csv=p=0",
        ],
        path,
    )
    .lines()
    .find_map(|l| l.trim().parse().ok())
}

pub fn stream_duration(path: &Path, stream: &str) -> Option<f64> {
    stream_value(path, stream, "duration")
}

pub fn assert_same_times(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "frame counts differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 1e-5, "frame {i}: {x} vs {y}");
    }
}

pub fn no_leftovers(output: &Path) {
    let dir = output.parent().unwrap();
    let name = output.file_name().unwrap().to_string_lossy().into_owned();
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !(n.starts_with(&format!(".{name}")) && n.ends_with(".part")),
            "temporary file left behind: {n}"
        );
    }
}

pub fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An executable shell script standing in for ffmpeg (`REELGPU_FFMPEG`): `body` sees the
/// arguments as `$*` and `$@`.
pub fn ffmpeg_stand_in(path: &Path, body: &str) -> PathBuf {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

/// The `reelgpu` binary with `args`, as the worker tests run it: RunPod's variables only from
/// `env`, a software GPU allowed, info logs, stdout piped, stderr dropped.
pub fn reelgpu_command(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelgpu"));
    cmd.args(args)
        .env_remove("RUNPOD_WEBHOOK_GET_JOB")
        .env("REELGPU_ALLOW_CPU", "1")
        .env("REELGPU_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `reelgpu call FUNCTION --kwargs <kwargs> --storage ROOT` (software decode, warn logs),
/// with `env`'s variables set (`Some`) or removed (`None`): whether it exited 0, and the items
/// it printed.
pub fn reelgpu_call(
    function: &str,
    kwargs: &Value,
    root: &Path,
    env: &[(&str, Option<String>)],
) -> (bool, Vec<Value>) {
    let file = root.with_extension(format!("{function}.json"));
    std::fs::write(&file, kwargs.to_string()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelgpu"));
    cmd.args(["call", function, "--decoder", "software", "--kwargs"])
        .arg(&file)
        .arg("--storage")
        .arg(root)
        .env("REELGPU_LOG", "warn");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let items = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), items)
}
