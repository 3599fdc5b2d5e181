//! `compose_serve_time_modal` (contract §15) side by side with the app's way, in one run: a 4 s
//! 1080x1920 intro card (bg, zooming photo, static overlay, 3 texts) drawn by the engine and
//! encoded (libx264 crf 20, as both encode), against the app's ffmpeg filtergraph for the same
//! plan and layers; then the whole compose of a 30 s reel (card + stream copy) against the
//! filtergraph card plus the same join. Prints a table; `REELGPU_BENCH_COMPOSE_RUNS` runs each
//! (default 2, median).
//!
//!   cargo bench --bench compose

use std::path::PathBuf;
use std::time::Instant;

use reelgpu::cancel::CancelToken;
use reelgpu::effects::card::decode_png;
use reelgpu::export::compose::{ComposeParts, ReelFormat, compose, render_card};
use reelgpu::gpu::GpuContext;
use reelgpu::job::card::CardPlan;
use reelgpu::testing::card;
use reelgpu::video::encode::EncoderKind;
use reelgpu::video::probe::probe;
use reelgpu::video::process::ffmpeg_path;

const NAMES: [&str; 6] = [
    "bg.png",
    "photo.png",
    "static_overlay.png",
    "el_0.png",
    "el_1.png",
    "el_2.png",
];

fn ffmpeg(args: &[String]) {
    let st = std::process::Command::new(ffmpeg_path())
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg {args:?}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let runs: usize = std::env::var("REELGPU_BENCH_COMPOSE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("reelgpu-bench-compose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (1080u32, 1920u32);
    let gpu = GpuContext::new().expect("GPU adapter");
    println!("adapter: {}", gpu.adapter);
    // the layers, as the app uploads them
    for (img, name) in card::pattern_images(w, h, 3).iter().zip(NAMES) {
        card::write_png(&dir.join(name), img, "rgba").unwrap();
    }
    // the reel below has AAC mono at 48 kHz (testsrc_args): the plan says so, as the app's does
    let mut plan = card::plan(w, h, 4.0, 3);
    plan["has_audio"] = true.into();
    plan["a_layout"] = "mono".into();
    plan["a_rate"] = 48000.into();
    plan["a_channels"] = 1.into();
    // a 30 s reel (H.264, AAC stereo) to compose around
    let reel = dir.join("reel.mp4");
    let mut args: Vec<String> = reelgpu::testing::clips::testsrc_args(w, h, 30, 30.0, true);
    args.extend(["-video_track_timescale".into(), "15360".into()]);
    reelgpu::testing::clips::generate(&reel, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let info = probe(&reel).unwrap();
    let format = ReelFormat::of(&info).unwrap();
    let images = || -> Vec<_> {
        NAMES
            .iter()
            .map(|n| decode_png(&std::fs::read(dir.join(n)).unwrap()).unwrap())
            .collect()
    };
    let cancel = CancelToken::new();
    let encoder = EncoderKind::detect();
    let parsed = || CardPlan::parse(&plan, "card_plan").unwrap();
    let ours_card = dir.join("card-ours.mp4");
    let app_card = dir.join("card-app.mp4");
    let t_ours = time(runs, || {
        render_card(
            &gpu,
            parsed(),
            images(),
            &format,
            &ours_card,
            encoder,
            &cancel,
        )
        .unwrap();
    });
    let t_app = time(runs, || ffmpeg(&card::app_command(&plan, &dir, &app_card)));
    let out = dir.join("composed.mp4");
    let t_compose = time(runs, || {
        let _ = std::fs::remove_file(&out);
        compose(
            &gpu,
            ComposeParts {
                reel: reel.clone(),
                reel_info: info.clone(),
                card: Some(Ok((parsed(), images()))),
                outro: None,
            },
            &out,
            encoder,
            &cancel,
        )
        .unwrap();
    });
    // the app's whole compose: its card, then the same join
    let joined = dir.join("composed-app.mp4");
    let t_app_compose = time(runs, || {
        ffmpeg(&card::app_command(&plan, &dir, &app_card));
        let _ = std::fs::remove_file(&joined);
        reelgpu::export::stitch::stitch(
            &[app_card.clone(), reel.clone()],
            &joined,
            encoder,
            &cancel,
        )
        .unwrap();
    });
    let copy_only = time(runs, || {
        let _ = std::fs::remove_file(&joined);
        reelgpu::export::stitch::stitch(
            &[ours_card.clone(), reel.clone()],
            &joined,
            encoder,
            &cancel,
        )
        .unwrap();
    });
    println!(
        "\n| 4 s 1080x1920 intro card ({} frames, {encoder:?}) | reelgpu (engine) s | app filtergraph s | app / reelgpu |",
        parsed().frames(30.0)
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| the card alone | {t_ours:.2} | {t_app:.2} | {:.2} |",
        t_app / t_ours
    );
    println!(
        "| the whole compose of a 30 s reel (card + join) | {t_compose:.2} | {t_app_compose:.2} | {:.2} |",
        t_app_compose / t_compose
    );
    println!("| the join alone (stream copy) | {copy_only:.2} | | |");
    let _ = std::fs::remove_dir_all(&dir);
}
