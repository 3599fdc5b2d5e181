//! No zombie processes: after exports that fail or are cancelled mid-stream, this process has
//! no child left (alive or zombie). A test binary of its own, with one test, so no other test's
//! ffmpeg children are counted.

mod common;

use std::path::PathBuf;

use reelgpu::export::{self, DecoderChoice, ExportError, ExportRequest};
use reelgpu::gpu::GpuStartup;
use reelgpu::job::{JobSpec, Limits};
use reelgpu::testing::clips::{generate, testsrc_args};
use reelgpu::video::EncoderKind;
use serde_json::json;

/// Every child of every thread of this process (zombies included: they stay children until
/// reaped).
fn children() -> Vec<String> {
    let mut all = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("children");
        if let Ok(list) = std::fs::read_to_string(path) {
            all.extend(list.split_whitespace().map(String::from));
        }
    }
    all
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("reelgpu-") || n.starts_with("out"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn failed_and_cancelled_exports_leave_no_child_process() {
    let gpu = GpuStartup::ready(common::gpu());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reaping");
    std::fs::create_dir_all(&dir).unwrap();
    let args = testsrc_args(320, 180, 30, 2.0, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let src = generate(&dir.join("src.mp4"), &args);
    let job = JobSpec::from_json(
        &json!({"type": "overlay", "params": {"highlight_regions": [
            {"start_frame": 0, "end_frame": 59, "x": 160, "y": 90, "radius_x": 50, "radius_y": 70}]}}),
        &Limits::default(),
    )
    .unwrap();
    let request = |output: PathBuf| ExportRequest {
        input: src.clone(),
        default_key: String::new(),
        sources: Vec::new(),
        job: job.clone(),
        output,
        limits: Limits::default(),
        decoder: DecoderChoice::Software,
        quality: Default::default(),
        cancel: Default::default(),
    };
    assert!(
        children().is_empty(),
        "children before the test: {:?}",
        children()
    );

    // Cancelled at frame 10: decoder and encoder are both running.
    let out_dir = dir.join("cancel");
    std::fs::create_dir_all(&out_dir).unwrap();
    let req = request(out_dir.join("out.mp4"));
    let prepared = export::prepare(&req).unwrap();
    let mut calls = 0;
    let result = export::run(&gpu, &req, &prepared, EncoderKind::X264, &mut |done, _| {
        calls += 1;
        done < 10
    });
    assert!(
        matches!(result, Err(ExportError::Cancelled(_))),
        "{:?}",
        result.map(|s| s.frames)
    );
    assert_eq!(calls, 10);
    assert_eq!(
        children(),
        Vec::<String>::new(),
        "children left after a cancelled export"
    );
    assert_eq!(leftovers(&out_dir), Vec::<String>::new());

    // The encoder cannot open its output (its folder is gone): it exits while the decoder runs.
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    let req = request(gone.join("out.mp4"));
    let prepared = export::prepare(&req).unwrap();
    std::fs::remove_dir(&gone).unwrap();
    let err = export::run(&gpu, &req, &prepared, EncoderKind::X264, &mut |_, _| true)
        .expect_err("export into a missing folder must fail");
    assert!(err.to_string().contains("gone"), "{err}");
    assert_eq!(
        children(),
        Vec::<String>::new(),
        "children left after a failed encoder"
    );

    // A finished export reaps its children too.
    let out_dir = dir.join("ok");
    std::fs::create_dir_all(&out_dir).unwrap();
    let req = request(out_dir.join("out.mp4"));
    let prepared = export::prepare(&req).unwrap();
    let summary = export::run(&gpu, &req, &prepared, EncoderKind::X264, &mut |_, _| true).unwrap();
    assert_eq!(summary.frames, 60);
    assert_eq!(
        children(),
        Vec::<String>::new(),
        "children left after a good export"
    );
}
