//! Files players and coaches actually have, generated with real ffmpeg: camcorder MPEG-TS
//! with a clock near 600 s and AC-3 audio, M2TS, Matroska with a start offset, old-camera AVI
//! (MPEG-4 Part 2 with B-frames, MP3), raw H.264, an edit-listed MP4, cover art ahead of the
//! video, a file damaged mid-stream, an HLS playlist. Each export keeps every decoded frame,
//! starts its video at 0 and keeps the sound where the pictures are: every source carries a
//! white flash and a 1 kHz beep at the same moment, found again in the output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::*;
use reelgpu::video::{FrameSelector, extract_frames};
use serde_json::{Value, json};

const FPS: f64 = 25.0;
/// When the flash and the beep happen in every generated source (seconds of its content).
const EVENT_S: f64 = 1.2;

fn tmp(name: &str) -> PathBuf {
    tmp_in("real_footage", name)
}

fn plain_job() -> Value {
    json!({"type": "overlay", "params": {}})
}

/// `ffmpeg` arguments for 3 s of black 96x64 video at 25 fps with a one-frame-long white flash
/// at [`EVENT_S`], and (with `audio`) silence with a 1 kHz beep starting at the same time.
fn flash_and_beep(audio: bool) -> Vec<String> {
    let end = EVENT_S + 0.03;
    let mut args = vec![
        "-f".to_string(),
        "lavfi".into(),
        "-i".into(),
        format!(
            "color=c=black:s=96x64:r=25:d=3,drawbox=x=0:y=0:w=96:h=64:color=white:t=fill:\
             enable='between(t,{EVENT_S},{end})'"
        ),
    ];
    if audio {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!(
                "sine=f=1000:r=48000:d=3,volume=volume=0:enable='not(between(t,{EVENT_S},{}))'",
                EVENT_S + 0.2
            ),
        ]);
    }
    args
}

fn with(mut base: Vec<String>, more: &[&str]) -> Vec<String> {
    base.extend(more.iter().map(|s| s.to_string()));
    base
}

/// Frames ffmpeg itself decodes from stream `stream` of `path` (the count to match).
fn decoded_count(path: &Path, stream: u32) -> u64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", &format!("0:{stream}"), "-fps_mode", "passthrough"])
        .args(["-f", "framecrc", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count() as u64
}

fn start_time(path: &Path, stream: &str) -> f64 {
    stream_value(path, stream, "start_time").unwrap_or(0.0)
}

/// When the flash is seen (the first bright frame's time) in an exported file.
fn flash_time(path: &Path, frames: u64) -> f64 {
    let all = extract_frames(
        path.to_str().unwrap(),
        &FrameSelector::Indices((0..frames).collect()),
    )
    .unwrap();
    let bright = all
        .iter()
        .find(|f| {
            let luma = &f.frame.data[..(f.frame.format.width * f.frame.format.height) as usize];
            luma.iter().map(|&v| u64::from(v)).sum::<u64>() / luma.len() as u64 > 128
        })
        .unwrap_or_else(|| panic!("{}: no flash", path.display()));
    bright.time_s + start_time(path, "v:0")
}

/// When the beep is heard in an exported file (first loud sample, seconds).
fn beep_time(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args([
            "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = out
        .stdout
        .chunks_exact(4)
        .position(|b| f32::from_le_bytes(b.try_into().unwrap()).abs() > 0.05)
        .unwrap_or_else(|| panic!("{}: no beep", path.display()));
    first as f64 / 48000.0 + start_time(path, "a:0")
}

/// Exports `src` untouched and checks frames, start and sync.
fn exports_in_sync(src: &Path, stream: u32, audio: bool) -> Value {
    let out = tmp(&format!(
        "{}.out.mp4",
        src.file_name().unwrap().to_string_lossy()
    ));
    let s = summary(&export(&plain_job(), src, &out, &[]));
    let decoded = decoded_count(src, stream);
    assert_eq!(
        s["frames"].as_u64(),
        Some(decoded),
        "{}: every decoded frame is exported",
        src.display()
    );
    assert_eq!(frame_times(&out).len() as u64, decoded);
    assert!(
        start_time(&out, "v:0").abs() < 1e-3,
        "{}: video starts at 0",
        src.display()
    );
    let flash = flash_time(&out, decoded);
    assert!(
        (flash - EVENT_S).abs() <= 1.0 / FPS + 1e-3,
        "{}: flash at {flash} s",
        src.display()
    );
    if audio {
        let beep = beep_time(&out);
        assert!(
            (flash - beep).abs() <= 1.0 / FPS + 0.005,
            "{}: flash at {flash} s, beep at {beep} s",
            src.display()
        );
        let (va, aa) = (
            stream_duration(&out, "v:0").unwrap(),
            stream_duration(&out, "a:0").unwrap(),
        );
        assert!((va - aa).abs() < 0.1, "video {va} s, audio {aa} s");
    }
    no_leftovers(&out);
    s
}

#[test]
fn camcorder_transport_streams_with_a_late_clock_keep_sound_on_picture() {
    let mts = clip_in(
        "real_footage",
        "camcorder.mts",
        with(
            flash_and_beep(true),
            &[
                "-c:v",
                "libx264",
                "-bf",
                "2",
                "-c:a",
                "ac3",
                "-output_ts_offset",
                "600",
                "-f",
                "mpegts",
            ],
        ),
    );
    assert!(
        start_time(&mts, "v:0") > 599.0,
        "the clock starts near 600 s"
    );
    exports_in_sync(&mts, 0, true);
    let m2ts = clip_in(
        "real_footage",
        "camcorder.m2ts",
        with(
            flash_and_beep(true),
            &[
                "-c:v",
                "libx264",
                "-c:a",
                "ac3",
                "-output_ts_offset",
                "3600",
                "-mpegts_m2ts_mode",
                "1",
                "-f",
                "mpegts",
            ],
        ),
    );
    exports_in_sync(&m2ts, 0, true);
}

#[test]
fn matroska_and_edit_listed_mp4_keep_sound_on_picture() {
    let mkv = clip_in(
        "real_footage",
        "offset.mkv",
        with(
            flash_and_beep(true),
            &["-c:v", "libx264", "-c:a", "aac", "-output_ts_offset", "5"],
        ),
    );
    exports_in_sync(&mkv, 0, true);
    // an MP4 cut at a non-keyframe by stream copy: an edit list hides the first frames
    let whole = clip_in(
        "real_footage",
        "whole.mp4",
        with(
            flash_and_beep(true),
            &["-c:v", "libx264", "-g", "50", "-c:a", "aac"],
        ),
    );
    let edited = clip_in(
        "real_footage",
        "edited.mp4",
        ["-ss", "0.52", "-i", whole.to_str().unwrap(), "-c", "copy"]
            .map(String::from)
            .to_vec(),
    );
    let out = tmp("edited.mp4.out.mp4");
    let s = summary(&export(&plain_job(), &edited, &out, &[]));
    assert_eq!(s["frames"].as_u64(), Some(decoded_count(&edited, 0)));
    let flash = flash_time(&out, s["frames"].as_u64().unwrap());
    let beep = beep_time(&out);
    assert!(
        (flash - beep).abs() <= 1.0 / FPS + 0.005,
        "flash at {flash} s, beep at {beep} s"
    );
}

#[test]
fn old_camera_avi_with_b_frames_keeps_every_frame() {
    let avi = clip_in(
        "real_footage",
        "camera.avi",
        with(
            flash_and_beep(true),
            &[
                "-c:v",
                "mpeg4",
                "-bf",
                "2",
                "-q:v",
                "4",
                "-c:a",
                "libmp3lame",
            ],
        ),
    );
    assert_eq!(decoded_count(&avi, 0), 75);
    exports_in_sync(&avi, 0, true);
}

#[test]
fn raw_h264_is_timed_from_its_rate() {
    let raw = clip_in(
        "real_footage",
        "stream.h264",
        with(flash_and_beep(false), &["-c:v", "libx264", "-f", "h264"]),
    );
    let s = exports_in_sync(&raw, 0, false);
    let times = frame_times(&tmp("stream.h264.out.mp4"));
    assert_eq!(times.len(), 75);
    for (i, t) in times.iter().enumerate() {
        assert!((t - i as f64 / FPS).abs() < 1e-3, "frame {i} at {t} s");
    }
    assert!((s["duration_s"].as_f64().unwrap() - 3.0).abs() < 1e-3);
}

/// Moves `udta` (where MP4 keeps cover art) ahead of the tracks in `moov`: ffmpeg then lists
/// the cover as stream 0, as files from some tagging tools have it.
fn cover_art_first(path: &Path) {
    let mut d = std::fs::read(path).unwrap();
    let boxes = |d: &[u8], mut off: usize, end: usize| {
        let mut v = Vec::new();
        while off < end {
            let size = u32::from_be_bytes(d[off..off + 4].try_into().unwrap()) as usize;
            v.push((d[off + 4..off + 8].to_vec(), off, size));
            off += size;
        }
        v
    };
    let (_, moov, msize) = boxes(&d, 0, d.len())
        .into_iter()
        .find(|b| b.0 == b"moov")
        .unwrap();
    let children = boxes(&d, moov + 8, moov + msize);
    let bytes_of = |d: &[u8], name: &[u8]| -> Vec<u8> {
        children
            .iter()
            .filter(|c| c.0 == name)
            .flat_map(|c| d[c.1..c.1 + c.2].to_vec())
            .collect()
    };
    let mut body = bytes_of(&d, b"mvhd");
    body.extend(bytes_of(&d, b"udta"));
    for c in &children {
        if c.0 != b"mvhd" && c.0 != b"udta" {
            body.extend(&d[c.1..c.1 + c.2]);
        }
    }
    assert_eq!(body.len(), msize - 8);
    d[moov + 8..moov + msize].copy_from_slice(&body);
    std::fs::write(path, d).unwrap();
}

#[test]
fn cover_art_ahead_of_the_video_is_passed_over() {
    let cover = clip_in(
        "real_footage",
        "cover.png",
        ["-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1"]
            .map(String::from)
            .to_vec(),
    );
    let plain = clip_in(
        "real_footage",
        "for_cover.mp4",
        with(flash_and_beep(true), &["-c:v", "libx264", "-c:a", "aac"]),
    );
    let src = tmp("cover_first.mp4");
    if !src.exists() {
        let made = tmp("cover_last.mp4");
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&cover)
            .arg("-i")
            .arg(&plain)
            .args([
                "-map",
                "0",
                "-map",
                "1",
                "-c",
                "copy",
                "-disposition:v:0",
                "attached_pic",
            ])
            .arg(&made)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cover_art_first(&made);
        std::fs::rename(&made, &src).unwrap();
    }
    let streams = ffprobe(
        &["-show_entries", "stream=index,codec_name", "-of", "csv=p=0"],
        &src,
    );
    assert!(streams.starts_with("0,png"), "cover art first: {streams}");
    let s = exports_in_sync(&src, 1, true);
    assert_eq!(s["width"], 96);
}

#[test]
fn damage_mid_stream_fails_with_its_time_unless_tolerated() {
    let good = clip_in(
        "real_footage",
        "to_damage.mp4",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=4",
            "-c:v",
            "libx264",
            "-g",
            "25",
        ]
        .map(String::from)
        .to_vec(),
    );
    let damaged = tmp("damaged.mp4");
    let mut bytes = std::fs::read(&good).unwrap();
    let n = bytes.len();
    for (i, b) in bytes[n / 2..n / 2 + n / 8].iter_mut().enumerate() {
        *b = (i * 37 % 256) as u8;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let out = tmp("damaged.out.mp4");
    let err = failure(&export(&plain_job(), &damaged, &out, &[]));
    assert!(err.contains("the video is damaged"), "{err}");
    let at: f64 = err
        .split("near ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time in: {err}"));
    assert!((0.5..3.5).contains(&at), "damage placed at {at} s: {err}");
    assert!(!out.exists(), "no output from a damaged source");
    no_leftovers(&out);

    let s = summary(&export(
        &plain_job(),
        &damaged,
        &out,
        &["--tolerate-decode-errors"],
    ));
    assert!(s["decode_errors"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["frames"].as_u64(), Some(decoded_count(&damaged, 0)));
    // the job's own switch does the same
    let job = json!({"type": "overlay", "params": {"tolerate_decode_errors": true}});
    let s = summary(&export(&job, &damaged, &out, &[]));
    assert!(s["decode_errors"].as_u64().unwrap() > 0, "{s}");
}

#[test]
fn playlists_and_other_non_videos_are_refused_without_reading_other_files() {
    // an HLS playlist pointing at a real video elsewhere on disk
    let elsewhere = clip_in(
        "real_footage",
        "secret.ts",
        with(flash_and_beep(false), &["-c:v", "libx264", "-f", "mpegts"]),
    );
    let playlist = tmp("upload.mp4");
    std::fs::write(
        &playlist,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{}\n#EXT-X-ENDLIST\n",
            elsewhere.display()
        ),
    )
    .unwrap();
    let out = tmp("playlist.out.mp4");
    let err = failure(&export(&plain_job(), &playlist, &out, &[]));
    assert!(err.contains("HLS"), "{err}");
    assert!(!out.exists());
    // behind a blank line and a byte-order mark it is still recognised
    let disguised = tmp("disguised.mp4");
    std::fs::write(
        &disguised,
        format!(
            "\u{feff}\n#EXTM3U\n#EXTINF:3.0,\n{}\n#EXT-X-ENDLIST\n",
            elsewhere.display()
        ),
    )
    .unwrap();
    let err = failure(&export(&plain_job(), &disguised, &out, &[]));
    assert!(err.contains("HLS"), "{err}");
    assert!(!out.exists());
    // a concat script and a still image
    let concat = tmp("concat.mp4");
    std::fs::write(
        &concat,
        format!("ffconcat version 1.0\nfile '{}'\n", elsewhere.display()),
    )
    .unwrap();
    let err = failure(&export(&plain_job(), &concat, &out, &[]));
    assert!(err.contains("concat"), "{err}");
    let png = clip_in(
        "real_footage",
        "still.png",
        [
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=64x64",
            "-frames:v",
            "1",
        ]
        .map(String::from)
        .to_vec(),
    );
    let err = failure(&export(&plain_job(), &png, &out, &[]));
    assert!(err.contains("not a video"), "{err}");
    assert!(!out.exists());
    no_leftovers(&out);
}

#[test]
fn a_tracked_player_with_ten_thousand_regions_exports() {
    let src = clip_in(
        "real_footage",
        "track.mp4",
        with(flash_and_beep(true), &["-c:v", "libx264", "-c:a", "aac"]),
    );
    // one short region per frame, far more regions than the video has frames
    let regions: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({"start_frame": i, "end_frame": i, "x": 20 + i % 50, "y": 32,
                   "radius_x": 12, "radius_y": 16, "opacity": 1.0})
        })
        .collect();
    let job = json!({"type": "overlay", "params": {
        "effect_type": "spotlight", "highlight_regions": regions}});
    let out = tmp("track.out.mp4");
    let s = summary(&export(&job, &src, &out, &[]));
    assert_eq!(s["frames"], 75);
    assert_eq!(s["gpu_frames"], 75);
}

/// A 5 s clip keeps its last frame's duration at 1080p as at 720p: the encoder's input
/// carries its frame rate (ffmpeg cannot guess it from two 3 MB frames), so the MP4's video
/// stream lasts 5.000 s, not 4.967.
#[test]
fn the_last_frame_keeps_its_duration_at_1080p_and_720p() {
    for (w, h) in [(1920, 1080), (1280, 720)] {
        let src = clip_in(
            "real_footage",
            &format!("five_{h}.mp4"),
            reelgpu::testing::clips::testsrc_args(w, h, 30, 5.0, true),
        );
        let out = tmp(&format!("five_{h}.out.mp4"));
        let s = summary(&export(&plain_job(), &src, &out, &[]));
        assert_eq!(s["frames"], 150);
        let video = stream_duration(&out, "v:0").unwrap();
        assert!((video - 5.0).abs() < 1e-3, "{h}p video lasts {video} s");
        assert!((s["duration_s"].as_f64().unwrap() - 5.0).abs() < 1e-3);
        let audio = stream_duration(&out, "a:0").unwrap();
        assert!((audio - 5.0).abs() < 0.05, "{h}p audio lasts {audio} s");
    }
}
