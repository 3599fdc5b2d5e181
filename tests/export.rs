//! `reelgpu export` end to end: the real binary, real ffmpeg on generated clips (`-f lavfi`),
//! lavapipe. Timing, audio, sizes and pixels of the output are checked against the source and
//! the CPU reference.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::*;
use reelgpu::job::timeline::FrameAt;
use reelgpu::job::{JobParams, JobSpec, OverlayTimeline};
use reelgpu::reference;
use reelgpu::testing::clips::testsrc_args;
use reelgpu::testing::metrics::diff_u8;
use reelgpu::video::{FrameSelector, extract_frames};
use serde_json::{Value, json};

fn tmp(name: &str) -> PathBuf {
    tmp_in("export", name)
}

fn clip(name: &str, args: Vec<String>) -> PathBuf {
    clip_in("export", name, args)
}

/// 320x180, 30 fps, 2 s, with audio.
fn cfr_clip() -> PathBuf {
    clip("cfr.mp4", testsrc_args(320, 180, 30, 2.0, true))
}

fn video_size(path: &Path) -> (u32, u32) {
    let s = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ],
        path,
    );
    let mut it = s.trim().split(',').map(|v| v.parse().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn overlay_job() -> Value {
    json!({"type": "overlay", "params": {
        "highlight_regions": [
            {"start_frame": 10, "end_frame": 40, "x": 120, "y": 90, "radius_x": 50, "radius_y": 70, "opacity": 1.0},
            {"start_frame": 30, "end_frame": 50, "x": 170, "y": 100, "radius_x": 40, "radius_y": 40, "opacity": 0.5}
        ],
        "effect_type": "blur"}})
}

#[test]
fn overlay_keeps_every_frame_time_and_audio_and_matches_the_cpu_reference() {
    let src = cfr_clip();
    let out = tmp("overlay.mp4");
    let s = summary(&export(&overlay_job(), &src, &out, &[]));
    assert_eq!(s["frames"], 60);
    // frames 0-9 and 51-59 have no active region: they skip the GPU
    assert_eq!(s["gpu_frames"], 41);
    // and on Linux go from decoder to encoder in kernel pipes (frames 5 and 55 below check
    // that they arrive intact)
    let spliced = if cfg!(target_os = "linux") { 19 } else { 0 };
    assert_eq!(s["spliced_frames"], spliced);
    assert_same_times(&frame_times(&src), &frame_times(&out));
    let (va, aa) = (
        stream_duration(&out, "v:0").unwrap(),
        stream_duration(&out, "a:0").unwrap(),
    );
    assert!((va - 2.0).abs() < 0.04, "video {va} s");
    assert!((aa - 2.0).abs() < 0.05, "audio {aa} s");
    no_leftovers(&out);

    // chosen frames against the CPU reference: before the regions, each region's first and
    // last frame, the overlap, after them
    let job = JobSpec::from_json(&overlay_job(), &Default::default()).unwrap();
    let JobParams::Overlay(p) = &job.params else {
        unreachable!()
    };
    let timeline = OverlayTimeline::new(p);
    let picks = vec![5, 10, 30, 40, 50, 55];
    let source = extract_frames(
        src.to_str().unwrap(),
        &FrameSelector::Indices(picks.clone()),
    )
    .unwrap();
    let output = extract_frames(
        out.to_str().unwrap(),
        &FrameSelector::Indices(picks.clone()),
    )
    .unwrap();
    for (s, o) in source.iter().zip(&output) {
        assert_eq!(s.index, o.index);
        let plan = timeline.plan(FrameAt::new(s.index, s.time_s), 320, 180);
        let expected = reference::overlay::apply(&s.frame, &plan, (0, 0));
        let d = diff_u8(&o.frame.data, &expected.data);
        // x264 at crf 23 on a test pattern: the reference is within ~35 dB of the output
        assert!(d.psnr >= 32.0, "frame {}: {d}", s.index);
        if !plan.is_identity() {
            // and the effect is visible: the output is further from the untouched source
            let untouched = diff_u8(&o.frame.data, &s.frame.data);
            assert!(
                untouched.psnr < d.psnr - 3.0,
                "frame {}: effect not visible ({untouched} vs {d})",
                s.index
            );
        }
    }
}

#[test]
fn variable_frame_rate_stays_variable() {
    // 1 s at 30 fps then 1 s at 15 fps in one stream
    let src = clip(
        "vfr.mp4",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30:duration=1",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=15:duration=1",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1:a=0[v]",
            "-map",
            "[v]",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from)
        .to_vec(),
    );
    let times = frame_times(&src);
    assert_eq!(times.len(), 45, "the generated clip is 30 + 15 frames");
    let out = tmp("vfr_out.mp4");
    let s = summary(&export(&overlay_job(), &src, &out, &[]));
    assert_eq!(s["frames"], 45);
    assert_same_times(&times, &frame_times(&out));
}

#[test]
fn rotated_odd_sized_phone_clip_comes_out_upright() {
    // coded 318x178 with 90-degree rotation metadata (what phones write; ffmpeg keeps the
    // tag on a stream copy): displayed 178x318
    let plain = clip("odd.mp4", testsrc_args(318, 178, 30, 1.0, true));
    let src = clip(
        "rotated.mp4",
        [
            "-i",
            plain.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ]
        .map(String::from)
        .to_vec(),
    );
    let out = tmp("rotated_out.mp4");
    let job = json!({"type": "overlay", "params": {"highlight_regions": [
        {"start_frame": 0, "end_frame": 29, "x": 89, "y": 250, "radius_x": 30, "radius_y": 40}]}});
    let s = summary(&export(&job, &src, &out, &[]));
    assert_eq!(
        (s["width"].as_u64(), s["height"].as_u64()),
        (Some(178), Some(318))
    );
    assert_eq!(video_size(&out), (178, 318));
    assert_same_times(&frame_times(&src), &frame_times(&out));
    assert!(stream_duration(&out, "a:0").is_some(), "audio kept");
    // upright: output frames match the CPU reference run on the displayed (rotated) source
    let JobParams::Overlay(p) = JobSpec::from_json(&job, &Default::default())
        .unwrap()
        .params
    else {
        unreachable!()
    };
    let timeline = OverlayTimeline::new(&p);
    let source = extract_frames(src.to_str().unwrap(), &FrameSelector::Index(12)).unwrap();
    let output = extract_frames(out.to_str().unwrap(), &FrameSelector::Index(12)).unwrap();
    let expected = reference::overlay::apply(
        &source[0].frame,
        &timeline.plan(FrameAt::new(12, source[0].time_s), 178, 318),
        (0, 0),
    );
    let d = diff_u8(&output[0].frame.data, &expected.data);
    assert!(d.psnr >= 32.0, "rotated frame 12: {d}");
}

#[test]
fn framing_trims_and_resizes_with_audio() {
    let src = cfr_clip();
    let out = tmp("framing.mp4");
    let job = json!({"type": "framing", "params": {
        "crop_keyframes": [
            {"frame": 15, "x": 0, "y": 0, "width": 90, "height": 160},
            {"frame": 44, "x": 230, "y": 20, "width": 90, "height": 160}],
        "output_width": 180, "output_height": 320, "start_frame": 15, "end_frame": 44}});
    let s = summary(&export(&job, &src, &out, &[]));
    assert_eq!(s["frames"], 30);
    assert_eq!(video_size(&out), (180, 320));
    let times = frame_times(&out);
    let src_times = frame_times(&src);
    // the trimmed frames keep their spacing and start at 0
    let expected: Vec<f64> = src_times[15..45]
        .iter()
        .map(|t| t - src_times[15])
        .collect();
    assert_same_times(&expected, &times);
    let aa = stream_duration(&out, "a:0").unwrap();
    assert!(
        (aa - 1.0).abs() < 0.05,
        "audio trimmed with the video: {aa} s"
    );
}

#[test]
fn annotate_joins_clips_in_order_with_labels() {
    let src = cfr_clip();
    let out = tmp("annotate.mp4");
    let job = json!({"type": "annotate", "params": {"clips": [
        {"start_time": 1.0, "end_time": 1.5, "name": "Great pass", "notes": "look at the run", "rating": 5},
        {"start_time": 0.2, "end_time": 0.7, "name": "Turnover", "rating": 1}]}});
    let s = summary(&export(&job, &src, &out, &[]));
    assert_eq!(s["frames"], 30);
    let times = frame_times(&out);
    assert_eq!(times.len(), 30);
    assert!(
        (times[15] - 0.5).abs() < 1e-3,
        "second clip starts at 0.5 s: {}",
        times[15]
    );
    let aa = stream_duration(&out, "a:0").unwrap();
    assert!((aa - 1.0).abs() < 0.06, "audio follows the clips: {aa} s");
    // label pixels: the box is near-white inside, the border has the rating's colour
    let frames =
        extract_frames(out.to_str().unwrap(), &FrameSelector::Indices(vec![3, 20])).unwrap();
    for (f, border_rgb) in frames.iter().zip([[0x66, 0xBB, 0x6A], [0xC6, 0x28, 0x28]]) {
        let rgb = reelgpu::reference::convert::yuv420_to_rgb(&f.frame);
        let at = |x: u32, y: u32| {
            let i = ((y * 320 + x) * 3) as usize;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        let y0 = (180.0f32 * 0.04) as u32 & !1;
        let border = at(160, y0 + 1);
        for k in 0..3 {
            assert!(
                (border[k] as i32 - border_rgb[k]).abs() <= 40,
                "frame {}: border {border:?} vs {border_rgb:?}",
                f.index
            );
        }
        let inside = at(40, y0 + 6);
        assert!(
            inside.iter().all(|&c| c >= 200),
            "frame {}: box {inside:?}",
            f.index
        );
    }
}

/// The GPU starts beside the input probe (only for a job that draws) and is waited for only
/// when a frame needs it: with no usable adapter, a job with nothing to draw still exports
/// (and says so), and a job that draws fails with the adapter's error and leaves no output.
#[test]
fn the_gpu_is_needed_only_for_frames_that_draw() {
    let src = cfr_clip();
    let without_gpu = |job: &Value, output: &Path| {
        export_command(job, &src, output, &[])
            .env("WGPU_ADAPTER_NAME", "no-such-gpu")
            .output()
            .expect("run reelgpu")
    };
    let plain = tmp("nogpu_plain.mp4");
    let s = summary(&without_gpu(
        &json!({"type": "overlay", "params": {}}),
        &plain,
    ));
    assert_eq!(
        (s["frames"].as_u64(), s["gpu_frames"].as_u64()),
        (Some(60), Some(0))
    );
    // nothing to draw: the GPU was not even started
    assert_eq!(s["adapter"], "none (not needed)");
    assert_same_times(&frame_times(&src), &frame_times(&plain));

    let drawn = tmp("nogpu_blur.mp4");
    let err = failure(&without_gpu(&overlay_job(), &drawn));
    assert!(err.contains("WGPU_ADAPTER_NAME=\"no-such-gpu\""), "{err}");
    assert!(!drawn.exists(), "output left behind");
    no_leftovers(&drawn);
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let out = tmp("bad.mp4");
    let job = overlay_job();
    // not a video
    let text = tmp("notes.txt");
    std::fs::write(&text, "not a video").unwrap();
    let err = failure(&export(&job, &text, &out, &[]));
    assert!(err.contains("notes.txt"), "{err}");
    // audio only
    let audio = clip(
        "audio_only.m4a",
        ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]
            .map(String::from)
            .to_vec(),
    );
    let err = failure(&export(&job, &audio, &out, &[]));
    assert!(err.to_lowercase().contains("video"), "{err}");
    // truncated: the first half of a file whose index is at the end
    let src = cfr_clip();
    let bytes = std::fs::read(&src).unwrap();
    let truncated = tmp("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = failure(&export(&job, &truncated, &out, &[]));
    assert!(err.contains("truncated.mp4"), "{err}");
    // over the size limit
    let err = failure(&export(&job, &src, &out, &["--max-dimension", "256"]));
    assert!(err.contains("exceeds the size limit of 256x256"), "{err}");
    // trim outside the video names the field
    let framing = json!({"type": "framing", "params": {
        "crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 90, "height": 160}],
        "output_width": 90, "output_height": 160, "start_frame": 10, "end_frame": 100}});
    let err = failure(&export(&framing, &src, &out, &[]));
    assert!(err.contains("params.end_frame"), "{err}");
    // missing ffmpeg
    let o = Command::new(env!("CARGO_BIN_EXE_reelgpu"))
        .args(["export", "--decoder", "software", "--job"])
        .arg(out.with_extension("job.json"))
        .arg("--input")
        .arg(&src)
        .arg("--output")
        .arg(&out)
        .env("REELGPU_FFMPEG", "/nonexistent/ffmpeg")
        .env("REELGPU_FFPROBE", "/nonexistent/ffprobe")
        .output()
        .unwrap();
    let err = failure(&o);
    assert!(err.contains("/nonexistent/ff"), "{err}");
    assert!(!out.exists(), "no output after failures");
    no_leftovers(&out);
}

#[test]
fn encoder_dying_mid_export_leaves_nothing_behind() {
    // an ffmpeg whose encoder run reads a little, complains and exits
    let wrapper = ffmpeg_stand_in(
        &tmp("dying-ffmpeg.sh"),
        "case \"$*\" in *\"-i pipe:0\"*) head -c 200000 >/dev/null; echo 'simulated encoder crash' >&2; exit 3;; esac\nexec ffmpeg \"$@\"",
    );
    let src = cfr_clip();
    let out = tmp("dying.mp4");
    let job_path = out.with_extension("job.json");
    std::fs::write(&job_path, overlay_job().to_string()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_reelgpu"))
        .args(["export", "--verbose", "--decoder", "software", "--job"])
        .arg(&job_path)
        .arg("--input")
        .arg(&src)
        .arg("--output")
        .arg(&out)
        .env("REELGPU_FFMPEG", &wrapper)
        .env("REELGPU_FFPROBE", "ffprobe")
        .output()
        .unwrap();
    let err = failure(&o);
    assert!(err.contains("simulated encoder crash"), "{err}");
    assert!(!out.exists());
    no_leftovers(&out);
}

#[test]
fn an_encoder_failing_at_the_end_leaves_no_partial_file() {
    // an ffmpeg whose encoder run does all its work and then reports failure
    let wrapper = ffmpeg_stand_in(
        &tmp("failing-at-end-ffmpeg.sh"),
        "case \"$*\" in *\"-i pipe:0\"*) ffmpeg \"$@\"; echo 'simulated trailer failure' >&2; exit 1;; esac\nexec ffmpeg \"$@\"",
    );
    let src = cfr_clip();
    let out = tmp("failing_at_end.mp4");
    let o = export_command(
        &json!({"type": "overlay", "params": {}}),
        &src,
        &out,
        &["--verbose"],
    )
    .env("REELGPU_FFMPEG", &wrapper)
    .env("REELGPU_FFPROBE", "ffprobe")
    .output()
    .unwrap();
    let err = failure(&o);
    assert!(err.contains("simulated trailer failure"), "{err}");
    assert!(!out.exists());
    no_leftovers(&out);
}

#[test]
fn a_typo_in_a_field_is_an_error_and_unknown_fields_are_reported_as_ignored() {
    let src = cfr_clip();
    let out = tmp("typo.mp4");
    // one letter off: without the check this exported the source unchanged
    let job = json!({"type": "overlay", "params": {"highlight_region": [
        {"start_frame": 0, "end_frame": 9, "x": 100, "y": 90, "radius_x": 40, "radius_y": 60}]}});
    let err = failure(&export(&job, &src, &out, &[]));
    assert!(
        err.contains("params.highlight_region is not a field; did you mean highlight_regions?"),
        "{err}"
    );
    assert_eq!(
        err.matches("params.highlight_region ").count(),
        1,
        "the field is named once: {err}"
    );
    assert!(!out.exists());
    // fields the web app adds are exported around, and listed
    let job = json!({"type": "overlay", "params": {"app_build": 812, "highlight_regions": [
        {"start_frame": 0, "end_frame": 9, "x": 100, "y": 90, "radius_x": 40, "radius_y": 60,
         "player": "#7"}]}});
    let out = export(&job, &src, &tmp("extra_fields.mp4"), &[]);
    let s = summary(&out);
    assert_eq!(
        s["ignored_fields"],
        json!(["params.app_build", "params.highlight_regions[0].player"])
    );
    assert_eq!(s["gpu_frames"], 10);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("ignoring fields the job contract does not know: params.app_build"),
        "{log}"
    );
}

#[test]
fn path_mistakes_get_one_message_before_anything_starts() {
    let src = cfr_clip();
    let job = overlay_job();
    let missing = Path::new("/nonexistent/game.mp4");
    let out = export(&job, missing, &tmp("never.mp4"), &[]);
    let err = failure(&out);
    assert_eq!(
        err.trim(),
        "error: input /nonexistent/game.mp4: no such file"
    );
    let job_path = tmp("nowhere.job.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reelgpu"))
        .args(["export", "--job"])
        .arg(&job_path)
        .arg("--input")
        .arg(&src)
        .args(["--output", "/nonexistent/folder/out.mp4"])
        .output()
        .unwrap();
    let err = failure(&out);
    assert_eq!(
        err.trim(),
        "error: output folder /nonexistent/folder does not exist (create it first)"
    );
}

#[test]
fn without_xdg_runtime_dir_the_gpu_starts_quietly_and_cleans_up() {
    let src = cfr_clip();
    let out = tmp("xdg.mp4");
    let private_tmp = tmp("xdg-tmp");
    let _ = std::fs::remove_dir_all(&private_tmp);
    std::fs::create_dir_all(&private_tmp).unwrap();
    let o = export_command(&overlay_job(), &src, &out, &[])
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", &private_tmp)
        .output()
        .unwrap();
    let s = summary(&o);
    assert!(s["gpu_frames"].as_u64().unwrap() > 0, "the GPU ran");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&private_tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
