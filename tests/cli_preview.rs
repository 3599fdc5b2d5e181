//! `reelgpu preview` end to end: the real binary, real ffmpeg on generated clips, lavapipe.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reelgpu::testing::clips::{generate, testsrc_args};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_preview");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn reelgpu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reelgpu"))
        .args(args)
        .env("REELGPU_LOG", "warn")
        .output()
        .expect("run reelgpu")
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

fn clip() -> PathBuf {
    let args = testsrc_args(320, 180, 30, 2.0, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&tmp("clip.mp4"), &args)
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "reelgpu failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const JOB: &str = r#"{"type": "overlay", "params": {"effect_type": "spotlight", "highlight_regions": [
    {"start_frame": 10, "end_frame": 20, "x": 160, "y": 90, "radius_x": 50, "radius_y": 40}]}}"#;

#[test]
fn demo_renders_every_effect_of_a_generated_frame() {
    let out = tmp("demo.png");
    let stdout = ok(&reelgpu(&["preview", "--output", out.to_str().unwrap()]));
    assert!(
        stdout.contains("wrote") && stdout.contains(" s"),
        "{stdout}"
    );
    let (w, h) = png_size(&out);
    // the original, four effects and the AI x4 before/after panel: 3x2 tiles of 1280x720
    assert!(
        w > 3 * 1280 && h > 1440 && h < 3 * 720,
        "3x2 grid of 1280x720 tiles, got {w}x{h}"
    );
}

#[test]
fn video_frame_by_index_and_by_time_agree() {
    let clip = clip();
    let job = write("job.json", JOB);
    let (a, b) = (tmp("f15.png"), tmp("t05.png"));
    let sa = ok(&reelgpu(&[
        "preview",
        "--input",
        clip.to_str().unwrap(),
        "--job",
        job.to_str().unwrap(),
        "--frame",
        "15",
        "--output",
        a.to_str().unwrap(),
    ]));
    let sb = ok(&reelgpu(&[
        "preview",
        "--input",
        clip.to_str().unwrap(),
        "--job",
        job.to_str().unwrap(),
        "--time",
        "0.5",
        "--output",
        b.to_str().unwrap(),
    ]));
    assert!(
        sa.contains("frame [15]") && sb.contains("frame [15]"),
        "{sa}\n{sb}"
    );
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Frame 5 is before the region starts: spotlight inactive, so it differs from frame 15's look.
    let c = tmp("f5.png");
    ok(&reelgpu(&[
        "preview",
        "--input",
        clip.to_str().unwrap(),
        "--job",
        job.to_str().unwrap(),
        "--frame",
        "5",
        "--output",
        c.to_str().unwrap(),
    ]));
    let dark = |p: &Path| {
        image::open(p)
            .unwrap()
            .to_luma8()
            .into_raw()
            .iter()
            .map(|&v| v as u64)
            .sum::<u64>()
    };
    assert!(
        dark(&a) < dark(&c) * 8 / 10,
        "spotlight should darken frame 15"
    );
}

#[test]
fn contact_sheet_spreads_frames_across_the_video() {
    let clip = clip();
    let job = write("job2.json", JOB);
    let out = tmp("sheet.png");
    let s = ok(&reelgpu(&[
        "preview",
        "--input",
        clip.to_str().unwrap(),
        "--job",
        job.to_str().unwrap(),
        "--contact-sheet",
        "6",
        "--output",
        out.to_str().unwrap(),
    ]));
    assert!(s.contains("[5, 15, 25, 35, 45, 55]"), "{s}");
    let (w, h) = png_size(&out);
    assert!(w > 3 * 320 && h > 2 * 180, "{w}x{h}");
    // every panel carries a caption: a darkened strip along its bottom with light text in it
    let img = image::open(&out).unwrap().to_rgb8();
    let (x0, y0, pw, ph) = (8u32, 8u32, 320u32, 180u32);
    let strip = 20;
    let luma = |x: u32, y: u32| {
        let p = img.get_pixel(x, y);
        (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3
    };
    let strip_rows = y0 + ph - strip..y0 + ph;
    let text = strip_rows
        .clone()
        .flat_map(|y| (x0..x0 + pw / 2).map(move |x| (x, y)))
        .filter(|&(x, y)| luma(x, y) > 200)
        .count();
    assert!(text > 30, "caption text pixels: {text}");
    let pixels: Vec<u32> = strip_rows
        .flat_map(|y| (x0..x0 + pw).map(move |x| (x, y)))
        .map(|(x, y)| luma(x, y))
        .collect();
    let dark = pixels.iter().filter(|&&l| l <= 90).count();
    assert!(
        dark * 10 > pixels.len() * 7,
        "caption strip not darkened: {dark} of {} dark",
        pixels.len()
    );
}

#[test]
fn image_input_and_framing_job() {
    let img = tmp("card.png");
    let rgb = reelgpu::testing::pattern::test_card(320, 180);
    reelgpu::testing::golden::write_png(&img, &rgb, 320, 180).unwrap();
    let job = write(
        "framing.json",
        r#"{"job_id": "x", "type": "framing", "input_video_key": "k", "params": {"output_width": 90, "output_height": 160,
        "crop_keyframes": [{"frame": 0, "x": 100, "y": 0, "width": 101, "height": 180}]}}"#,
    );
    let out = tmp("framed.png");
    ok(&reelgpu(&[
        "preview",
        "--input",
        img.to_str().unwrap(),
        "--job",
        job.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]));
    assert_eq!(png_size(&out), (90, 160));
}

#[test]
fn errors_are_clear_and_fail() {
    let bad = write(
        "bad.json",
        r#"{"type": "overlay", "params": {"highlight_regions": [
        {"start_frame": 0, "end_frame": 5, "x": 1, "y": 1, "radius_x": 3, "radius_y": 3},
        {"start_frame": 0, "end_frame": 5, "x": 1, "y": 1, "radius_x": 0, "radius_y": 3}]}}"#,
    );
    let out = reelgpu(&[
        "preview",
        "--job",
        bad.to_str().unwrap(),
        "--output",
        tmp("x.png").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("params.highlight_regions[1].radius_x must be > 0"),
        "{err}"
    );

    let notjson = write("notjson.json", "{nope");
    let out = reelgpu(&[
        "preview",
        "--job",
        notjson.to_str().unwrap(),
        "--output",
        tmp("x.png").to_str().unwrap(),
    ]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not valid JSON")
    );

    let fake = write("fake.mp4", "hello");
    let out = reelgpu(&[
        "preview",
        "--input",
        fake.to_str().unwrap(),
        "--output",
        tmp("x.png").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("fake.mp4: not a readable video"),
        "{err}"
    );
    // ffmpeg's own words only on request
    assert!(!err.contains("Invalid data found"), "{err}");
    assert!(err.contains("--verbose"), "{err}");
    let out = reelgpu(&[
        "preview",
        "--verbose",
        "--input",
        fake.to_str().unwrap(),
        "--output",
        tmp("x.png").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Invalid data found"), "{err}");

    let clip = clip();
    let out = reelgpu(&[
        "preview",
        "--input",
        clip.to_str().unwrap(),
        "--frame",
        "999",
        "--output",
        tmp("x.png").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("has no frame 999: it has 60 frames (0-59)"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(
        !err.contains("Stream #") && !err.contains("ffmpeg") && !err.contains('\u{1b}'),
        "no ffmpeg dump and no colour codes off a terminal: {err}"
    );
    assert!(!tmp("x.png").exists(), "no output on failure");

    // paths are checked before the GPU starts: one line each
    for (args, says) in [
        (
            vec!["--input", "/nonexistent/game.mp4"],
            "input /nonexistent/game.mp4: no such file",
        ),
        (vec![], "output folder /nonexistent does not exist"),
    ] {
        let output = if args.is_empty() {
            "/nonexistent/x.png".to_string()
        } else {
            tmp("x.png").display().to_string()
        };
        let mut all = vec!["preview"];
        all.extend(args);
        all.extend(["--output", &output]);
        let out = reelgpu(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
