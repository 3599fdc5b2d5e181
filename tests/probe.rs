//! `video::probe` on real files made by ffmpeg: sizes, rotation, rate, frame count, colour,
//! audio, and the errors for files that are not usable videos.

use std::path::PathBuf;

use reelgpu::color::ColorRange;
use reelgpu::testing::clips::{generate, testsrc_args};
use reelgpu::video::{VideoError, probe};

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("probe")
        .join(name)
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn constant_rate_clip_with_audio() {
    let clip = generate(
        &tmp("cfr.mp4"),
        &args(&testsrc_args(320, 180, 30, 1.0, true)),
    );
    let info = probe(&clip).unwrap();
    assert_eq!((info.width, info.height), (320, 180));
    assert_eq!((info.coded_width, info.coded_height), (320, 180));
    assert_eq!(info.rotation, 0);
    let rate = info.frame_rate.expect("frame rate");
    assert_eq!(rate.as_f64(), 30.0);
    assert_eq!(info.frame_count, Some(30));
    assert_eq!(info.pix_fmt, "yuv420p");
    let audio = info.audio.expect("audio stream");
    assert_eq!(
        (audio.codec.as_str(), audio.sample_rate, audio.channels),
        ("aac", 48000, 1)
    );
    let d = info.duration_s.expect("duration");
    assert!((d - 1.0).abs() < 0.05, "duration {d}");
}

/// A phone-style clip: 318x178 coded, display matrix saying "rotate 90° counter-clockwise"
/// (what ffmpeg writes for `rotate=90` and undoes with `transpose=cclock`).
#[test]
fn rotation_metadata_swaps_the_displayed_size() {
    let plain = generate(
        &tmp("odd.mp4"),
        &args(&testsrc_args(318, 178, 30, 0.5, false)),
    );
    let plain_path = plain.to_str().unwrap();
    let rotated = generate(
        &tmp("rotated.mp4"),
        &[
            "-i",
            plain_path,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let info = probe(&rotated).unwrap();
    assert_eq!((info.coded_width, info.coded_height), (318, 178));
    assert_eq!(info.rotation, 270, "clockwise degrees");
    assert_eq!((info.width, info.height), (178, 318));
    assert_eq!(info.audio, None);
}

#[test]
fn full_range_source_is_read_as_full_range() {
    let clip = generate(
        &tmp("full.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x36:rate=10:duration=0.3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuvj420p",
        ],
    );
    assert_eq!(probe(&clip).unwrap().color.range, ColorRange::Full);
}

#[test]
fn unusable_inputs_are_typed_errors() {
    let audio_only = generate(
        &tmp("audio.m4a"),
        &["-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac"],
    );
    let err = probe(&audio_only).unwrap_err();
    assert!(
        matches!(&err, VideoError::Unusable { message, .. } if message.contains("no video stream")),
        "{err}"
    );

    let text = tmp("notes.mp4");
    std::fs::create_dir_all(text.parent().unwrap()).unwrap();
    std::fs::write(&text, "this is not a video\n").unwrap();
    let err = probe(&text).unwrap_err();
    // ffprobe's own words come through, and the input is to blame (not retryable).
    match &err {
        VideoError::Unusable { message, .. } => {
            assert!(message.contains("Invalid data"), "{err}")
        }
        other => panic!("expected an unusable input, got {other}"),
    }

    let err = probe(&tmp("missing.mp4")).unwrap_err();
    assert!(err.to_string().contains("no such file"), "{err}");
}

/// Without ffprobe (a bare GPU machine carries only a static ffmpeg) sources are probed from
/// ffmpeg's stream dump: the same answers as ffprobe on every kind of clip the tests make
/// (frame count aside, which only ffprobe reads from the container).
#[test]
fn ffmpeg_dump_probing_agrees_with_ffprobe() {
    use reelgpu::video::probe::probe_with_ffmpeg;
    let cfr = generate(
        &tmp("dump-cfr.mp4"),
        &args(&testsrc_args(320, 180, 30, 1.0, true)),
    );
    let ntsc = generate(
        &tmp("dump-ntsc.mkv"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=30000/1001:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1:sample_rate=44100",
            "-ac",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
        ],
    );
    let ts = generate(
        &tmp("dump-start.ts"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=25:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-output_ts_offset",
            "600",
        ],
    );
    let full = generate(
        &tmp("dump-full.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x36:rate=25:duration=0.4",
            "-pix_fmt",
            "yuvj420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-color_range",
            "pc",
            "-colorspace",
            "bt470bg",
            "-color_primaries",
            "bt470bg",
            "-color_trc",
            "smpte170m",
        ],
    );
    let plain = generate(
        &tmp("dump-odd.mp4"),
        &args(&testsrc_args(318, 178, 30, 0.5, false)),
    );
    let rotated = generate(
        &tmp("dump-rotated.mp4"),
        &[
            "-i",
            plain.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    for clip in [cfr, ntsc, ts, full, rotated] {
        let a = probe(&clip).unwrap();
        let b = probe_with_ffmpeg(&clip, None).unwrap();
        let name = clip.display();
        assert_eq!(a.format_name, b.format_name, "{name}");
        assert_eq!(
            (a.stream_index, a.codec.as_str()),
            (b.stream_index, b.codec.as_str()),
            "{name}"
        );
        assert_eq!(
            (a.width, a.height, a.rotation),
            (b.width, b.height, b.rotation),
            "{name}"
        );
        assert_eq!(
            (a.coded_width, a.coded_height),
            (b.coded_width, b.coded_height),
            "{name}"
        );
        assert_eq!(a.frame_rate, b.frame_rate, "{name}");
        assert_eq!(a.time_base, b.time_base, "{name}");
        assert_eq!(a.pix_fmt, b.pix_fmt, "{name}");
        assert_eq!(a.color, b.color, "{name}");
        assert_eq!(
            (&a.color_space, &a.color_primaries, &a.color_transfer),
            (&b.color_space, &b.color_primaries, &b.color_transfer),
            "{name}"
        );
        let near = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() < 0.02,
            (x, y) => x == y,
        };
        assert!(
            near(a.start_time_s, b.start_time_s),
            "{name}: start {:?} {:?}",
            a.start_time_s,
            b.start_time_s
        );
        assert!(
            near(a.duration_s, b.duration_s) || a.duration_s.is_some(),
            "{name}"
        );
        assert_eq!(
            a.audio
                .as_ref()
                .map(|x| (x.stream_index, x.codec.clone(), x.sample_rate, x.channels)),
            b.audio
                .as_ref()
                .map(|x| (x.stream_index, x.codec.clone(), x.sample_rate, x.channels)),
            "{name}"
        );
    }
    // not a video: refused as with ffprobe
    let text = tmp("dump-not-video.mp4");
    std::fs::write(&text, b"hello, not a video").unwrap();
    assert!(probe_with_ffmpeg(&text, None).is_err());
}

/// HDR clips made by ffmpeg alone (x265 10-bit): PQ with its mastering display and content
/// light carried in SEI, read from the first frame; HLG; an SDR clip is not HDR.
#[test]
fn hdr_sources_are_recognised_with_their_metadata() {
    let x265 = |name: &str, params: &str| {
        generate(
            &tmp(name),
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=64x64:rate=10:duration=0.3",
                "-c:v",
                "libx265",
                "-pix_fmt",
                "yuv420p10le",
                "-x265-params",
                params,
            ],
        )
    };
    let pq = x265(
        "pq.mp4",
        "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:\
         master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50):\
         max-cll=1500,400",
    );
    let h = probe(&pq).unwrap().hdr.expect("PQ is HDR");
    assert_eq!(h.transfer, reelgpu::color::HdrTransfer::Pq);
    assert_eq!((h.max_cll, h.mastering_max), (Some(1500.0), Some(4000.0)));
    assert_eq!(h.peak(), 1500.0);
    let hlg = x265(
        "hlg.mp4",
        "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc",
    );
    let h = probe(&hlg).unwrap().hdr.expect("HLG is HDR");
    assert_eq!(
        (h.transfer, h.peak()),
        (reelgpu::color::HdrTransfer::Hlg, 1000.0)
    );
    let sdr = generate(
        &tmp("sdr-hdr-check.mp4"),
        &args(&testsrc_args(64, 64, 10, 0.3, false)),
    );
    assert!(probe(&sdr).unwrap().hdr.is_none());
}
