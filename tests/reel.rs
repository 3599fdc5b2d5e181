//! Contract §10 end to end: multi-clip reels from generated sources through the real binary,
//! their length, frame rate, audio and pixels checked against the reel timeline and the CPU
//! reference chain.

mod common;

use std::path::PathBuf;

use common::cli::*;
use reelgpu::engine::BlurQuality;
use reelgpu::frame::YuvFrame;
use reelgpu::job::reel::{Blend, ReelTimeline};
use reelgpu::job::timeline::{FramePlan, Mix, Rotated};
use reelgpu::job::{JobParams, JobSpec};
use reelgpu::reference;
use reelgpu::testing::clips::testsrc_args;
use reelgpu::testing::metrics::diff_u8;
use reelgpu::video::{FrameSelector, extract_frames};
use serde_json::{Value, json};

fn tmp(name: &str) -> PathBuf {
    tmp_in("reel", name)
}

/// 1920x1080, 25 fps, 6 s, with a tone.
fn source_1080() -> PathBuf {
    clip_in(
        "reel",
        "src1080.mp4",
        testsrc_args(1920, 1080, 25, 6.0, true),
    )
}

fn two_clip_job() -> Value {
    json!({"type": "framing", "params": {
    "target_width": 540, "target_height": 960, "fps": 30,
    "transition": {"type": "dissolve", "duration": 0.5},
    "clips_data": [
        {"source_start_time": 0.5, "source_end_time": 3.0,
         "keyframes": [{"time": 0.0, "x": 600, "y": 0, "width": 608, "height": 1080}],
         "segment_data": {"trim_start": 0.2, "trim_end": 2.0,
                          "segments": [{"start": 0.5, "end": 1.0, "speed": 0.5}]}},
        {"source_start_time": 3.0, "source_end_time": 5.0, "rotation": -3.0,
         "keyframes": [{"time": 0.0, "x": 300, "y": 60, "width": 540, "height": 960},
                       {"time": 2.0, "x": 1000, "y": 60, "width": 540, "height": 960}]}
    ]}})
}

/// The CPU reference of reel frame `m`: the source frame at or before its time (a
/// constant 25 fps 1920x1080 source), cropped or rotated, blended as the timeline says.
fn reference_frame(t: &ReelTimeline, source: &str, m: u64) -> YuvFrame {
    reference_frame_of(t, &[source], (1920, 1080), m)
}

/// [`reference_frame`] for clips from `sources[i]` (the last one for later clips) of size
/// `(w, h)`.
fn reference_frame_of(t: &ReelTimeline, sources: &[&str], (w, h): (u32, u32), m: u64) -> YuvFrame {
    let render = |i: usize, n: u64, other: Option<&YuvFrame>| {
        let clip = &t.clips[i];
        let st = clip.source_time(n, t.fps);
        let index = (st * 25.0 + 1e-6).floor() as u64;
        let source = sources[i.min(sources.len() - 1)];
        let f = extract_frames(source, &FrameSelector::Index(index)).unwrap();
        let frame = &f[0].frame;
        let crop = clip.crop_at(clip.clip_time(n, t.fps), w, h, t.out_size);
        let mut plan = FramePlan::default();
        if clip.rotation == 0.0 {
            plan.crop = Some(crop);
        } else {
            plan.rotated = Some(Rotated {
                crop,
                degrees: clip.rotation,
            });
        }
        plan.mix = t.blend(i, n).map(|b| match b {
            Blend::Fade { level } => Mix::Black { level },
            Blend::Dissolve { weight } => Mix::Other { weight },
        });
        reference::overlay::apply_full(frame, &plan, t.out_size, BlurQuality::Exact, &[], other)
    };
    let (i, n) = t.locate(m);
    match t.blend(i, n) {
        Some(Blend::Dissolve { .. }) => {
            let prev = &t.clips[i - 1];
            let tail = render(i - 1, prev.frames - t.transition_frames + n, None);
            render(i, n, Some(&tail))
        }
        _ => render(i, n, None),
    }
}

#[test]
fn a_two_clip_reel_with_slow_motion_rotation_and_a_dissolve() {
    let src = source_1080();
    let out = tmp("two_clips.mp4");
    let job = two_clip_job();
    let s = summary(&export(&job, &src, &out, &[]));
    let spec = JobSpec::from_json(&job, &Default::default()).unwrap();
    let JobParams::Reel(p) = &spec.params else {
        panic!("a §10 job")
    };
    let t = ReelTimeline::new(p, &[6.0, 6.0]).unwrap();
    // §10's sum: clip 1 plays 0.2..2.0 with 0.5..1.0 at half speed: 0.3 + 1.0 + 1.0 = 2.3 s;
    // clip 2 plays 2.0 s; the dissolve overlaps them by 0.5 s: 3.8 s = 114 frames at 30 fps
    assert_eq!(t.total_frames, 114);
    assert_eq!(s["frames"], 114);
    let times = frame_times(&out);
    assert_eq!(times.len(), 114);
    for (k, time) in times.iter().enumerate() {
        assert!((time - k as f64 / 30.0).abs() < 1e-3, "frame {k} at {time}");
    }
    let video = stream_duration(&out, "v:0").unwrap();
    assert!((video - 3.8).abs() <= 1.0 / 30.0 + 1e-3, "video {video} s");
    let audio = stream_duration(&out, "a:0").unwrap();
    assert!(
        (audio - video).abs() < 0.1,
        "audio {audio} s, video {video} s"
    );
    assert_eq!(stream_value(&out, "v:0", "width"), Some(540.0));
    assert_eq!(stream_value(&out, "v:0", "height"), Some(960.0));
    no_leftovers(&out);

    // frames against the CPU chain: clip 1 at normal speed, in its slow part, the dissolve,
    // clip 2 rotated with its crop moving
    let picks = [3u64, 20, 62, 75, 110];
    let output = extract_frames(
        out.to_str().unwrap(),
        &FrameSelector::Indices(picks.to_vec()),
    )
    .unwrap();
    for (o, &m) in output.iter().zip(&picks) {
        let expected = reference_frame(&t, src.to_str().unwrap(), m);
        let d = diff_u8(&o.frame.data, &expected.data);
        eprintln!("reel frame {m} {:?}: vs CPU chain {d}", t.locate(m));
        // x264 at crf 23 on a scaled test pattern
        assert!(d.psnr >= 33.0, "reel frame {m}: {d}");
    }
}

/// Two sources given to the CLI by key (`--source KEY=PATH`), faded into each other; a key
/// with no source is an error naming the field; `preview --time` renders the reel's frame
/// mid-fade as the CPU chain does.
#[test]
fn sources_by_key_a_fade_and_preview_at_a_time() {
    let a = clip_in("reel", "a320.mp4", testsrc_args(320, 180, 25, 3.0, true));
    let b = clip_in("reel", "b320.mp4", testsrc_args(320, 180, 25, 3.0, false));
    let job = json!({"type": "framing", "params": {
        "target_width": 90, "target_height": 160, "fps": 25,
        "source_keys": ["games/a.mp4", "games/b.mp4"],
        "transition": {"type": "fade", "duration": 0.4},
        "clips_data": [
            {"source_start_time": 0.5, "source_end_time": 2.0},
            {"source_start_time": 1.0, "source_end_time": 2.5, "rotation": 5.0,
             "keyframes": [{"time": 0, "x": 120, "y": 0, "width": 101, "height": 180}]}]}});
    let out = tmp("by_key.mp4");
    let source_a = format!("games/a.mp4={}", a.display());
    let source_b = format!("games/b.mp4={}", b.display());
    // the job names no input of its own: --input is unused, every clip has a key
    let s = summary(&export(
        &job,
        &a,
        &out,
        &["--source", &source_a, "--source", &source_b],
    ));
    // 1.5 s + 1.5 s, a fade keeps the length
    assert_eq!(s["frames"], 75);
    let audio = stream_duration(&out, "a:0").unwrap();
    assert!(
        (audio - 3.0).abs() < 0.1,
        "audio {audio} s (silence where b has none)"
    );

    let missing = export(&job, &a, &tmp("missing_key.mp4"), &["--source", &source_a]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("params.source_keys[1]") && err.contains("games/b.mp4"),
        "{err}"
    );

    // preview at 1.4 s: frame 35, clip 0 fading out (its last 10 frames)
    let job_path = tmp("by_key.preview.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let png = tmp("by_key_1.4s.png");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_reelgpu"))
        .args(["preview", "--time", "1.4", "--job"])
        .arg(&job_path)
        .args([
            "--input",
            a.to_str().unwrap(),
            "--source",
            &source_a,
            "--source",
            &source_b,
            "--output",
        ])
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let spec = JobSpec::from_json(&job, &Default::default()).unwrap();
    let JobParams::Reel(p) = &spec.params else {
        panic!("a §10 job")
    };
    let t = ReelTimeline::new(p, &[3.0, 3.0]).unwrap();
    assert_eq!(t.locate(35), (0, 35));
    let expected = reference_frame_of(
        &t,
        &[a.to_str().unwrap(), b.to_str().unwrap()],
        (320, 180),
        35,
    );
    let expected_rgb = reference::convert::yuv420_to_rgb(&expected);
    let got = image::open(&png).unwrap().to_rgb8();
    assert_eq!(got.dimensions(), (90, 160));
    let d = diff_u8(got.as_raw(), &expected_rgb);
    assert!(d.psnr >= 40.0, "preview vs CPU chain: {d}");
}

/// §10 `"upscale": "ai"` end to end through the CLI: two clips (one rotated, its crop moving)
/// each resampled to its largest crop, through the AI x4 network and Lanczos to the output;
/// the summary names the model, the kernel and the network's time; frames match the CPU chain
/// (`crop_resize`/`rotate_crop` to the network's input, `upscale_yuv`, `crop_resize`) and not
/// the plain Lanczos resize. A model that cannot be loaded fails before any output, naming the
/// field and the file.
#[test]
fn an_ai_upscaled_reel_exports_and_matches_the_cpu_chain() {
    use reelgpu::job::timeline::CropRect;
    let src = clip_in("reel", "a320.mp4", testsrc_args(320, 180, 25, 3.0, true));
    let job = json!({"type": "framing", "params": {
        "target_width": 72, "target_height": 128, "fps": 25, "upscale": "ai",
        "clips_data": [
            {"source_start_time": 0.0, "source_end_time": 1.0,
             "keyframes": [{"time": 0.0, "x": 100, "y": 40, "width": 27, "height": 48},
                           {"time": 1.0, "x": 140, "y": 60, "width": 27, "height": 48}]},
            {"source_start_time": 1.0, "source_end_time": 1.8, "rotation": -3.0,
             "keyframes": [{"time": 0.0, "x": 200, "y": 50, "width": 23, "height": 41}]}]}});
    let out = tmp("ai.mp4");
    let s = summary(&export(&job, &src, &out, &[]));
    let spec = JobSpec::from_json(&job, &Default::default()).unwrap();
    let JobParams::Reel(p) = &spec.params else {
        panic!("a §10 job")
    };
    let t = ReelTimeline::new(p, &[3.0, 3.0]).unwrap();
    assert_eq!(t.total_frames, 45);
    assert_eq!(s["frames"], 45);
    assert_eq!(frame_times(&out).len(), 45);
    let audio = stream_duration(&out, "a:0").unwrap();
    assert!((audio - 1.8).abs() < 0.1, "audio {audio} s");
    let u = &s["upscaler"];
    assert_eq!(u["model"], "realesr-animevideov3-x4", "{s}");
    // f16 storage on a GPU with shader-f16, f32 on lavapipe (Precision::best)
    let best = reelgpu::nn::srvgg::best_precision(&common::gpu());
    assert_eq!(u["kernel"], best.name());
    assert_eq!(u["frames"], 45);
    assert_eq!(u["input_sizes"], json!([[28, 48], [24, 42]]));
    assert!(u["network_s"].as_f64().unwrap() > 0.0);
    assert!(u["network_ms_per_frame"].as_f64().unwrap() > 0.0);

    let model =
        reelgpu::models::load(&reelgpu::models::model_path()).expect("the set-up fetched it");
    let picks = [5u64, 38];
    let output = extract_frames(
        out.to_str().unwrap(),
        &FrameSelector::Indices(picks.to_vec()),
    )
    .unwrap();
    for (o, &m) in output.iter().zip(&picks) {
        let (i, n) = t.locate(m);
        let clip = &t.clips[i];
        let st = clip.source_time(n, t.fps);
        let index = (st * 25.0 + 1e-6).floor() as u64;
        let f = extract_frames(src.to_str().unwrap(), &FrameSelector::Index(index)).unwrap();
        let frame = &f[0].frame;
        let crop = clip.crop_at(clip.clip_time(n, t.fps), 320, 180, t.out_size);
        let (iw, ih) = t.network_input(i, (320, 180));
        let net_in = if clip.rotation == 0.0 {
            reference::resize::crop_resize(frame, &crop, iw, ih)
        } else {
            let r = Rotated {
                crop,
                degrees: clip.rotation,
            };
            reference::rotate::rotate_crop(frame, &r, iw, ih)
        };
        let full = |w, h| CropRect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
        let up = reference::sr::upscale_yuv(&model, &net_in);
        let (uw, uh) = (up.format.width, up.format.height);
        let ai = reference::resize::crop_resize(&up, &full(uw, uh), 72, 128);
        let lanczos = reference::resize::crop_resize(&net_in, &full(iw, ih), 72, 128);
        let d = diff_u8(&o.frame.data, &ai.data);
        let dl = diff_u8(&o.frame.data, &lanczos.data);
        eprintln!("reel frame {m}: vs CPU chain {d}; vs plain Lanczos {dl}");
        assert!(d.psnr >= 33.0, "reel frame {m}: {d}");
        assert!(
            dl.psnr < d.psnr - 3.0,
            "reel frame {m}: Lanczos {dl}, AI {d}"
        );
    }

    // a model that cannot be used: an error naming the field and the file, and no output
    let bad = tmp("missing-model.param");
    let _ = std::fs::remove_file(&bad);
    let out2 = tmp("ai-bad.mp4");
    let run = export_command(&job, &src, &out2, &[])
        .env("REELGPU_SR_MODEL", &bad)
        .output()
        .unwrap();
    let err = failure(&run);
    assert!(
        err.contains("params.upscale \"ai\"") && err.contains("missing-model.param"),
        "{err}"
    );
    assert!(!out2.exists());
    no_leftovers(&out2);
}
