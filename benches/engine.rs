//! Engine benchmark: ms per frame (upload and readback included) and per-pass time for
//! blur-overlay, spotlight, crop, §9 (dark overlay + fill + stroke + a text layer, at 1080p
//! and 4K) and §10 (a rotated crop to 810x1440 in one resample), side by side in one process
//! on whatever adapter is there. `cargo bench --bench engine -- 810` runs the cases whose
//! name contains `810`.
//! The AI x4 network has its own table (`-- SR` runs only it), and so has the YOLOv8 player
//! detector (`-- DETECT`).
//! Run: `cargo bench --bench engine` (set `WGPU_BACKEND=vulkan` for lavapipe).

use std::time::Instant;

use reelgpu::color::ColorSpec;
use reelgpu::effects::label::LabelBand;
use reelgpu::effects::text::load_layers;
use reelgpu::engine::{BlurQuality, FrameEngine};
use reelgpu::frame::{FrameFormat, YuvFrame};
use reelgpu::gpu::GpuContext;
use reelgpu::job::timeline::{CropRect, FrameAt, FramePlan, MaskEllipse, Rotated};
use reelgpu::job::{EffectType, JobParams, JobSpec, Limits, OverlayTimeline};
use reelgpu::reference;
use reelgpu::testing::metrics::diff_u8;
use reelgpu::testing::pattern::{background_only_plan, caption_rgba, png_bytes, test_card};

const WARMUP: usize = 3;
/// Timed frames per case (`REELGPU_BENCH_FRAMES` overrides: the GPU kit's quick run on
/// lavapipe uses fewer).
fn frames() -> usize {
    std::env::var("REELGPU_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(20)
}
/// Synced runs whose per-stage times are reported (median of each stage).
fn timed_runs() -> usize {
    frames().min(5)
}

struct Case {
    name: String,
    size: (u32, u32),
    quality: BlurQuality,
    plan: FramePlan,
    out: Option<(u32, u32)>,
    layers: Vec<LabelBand>,
}

/// A §9 frame as the web app sends it: one player highlighted mid-path with `dark_overlay`,
/// fill and stroke (plus its outline), and one caption text layer, at `w x h`. Built through
/// the job's own timeline so the plan is what an export would run.
fn v2_case(name: &str, w: u32, h: u32) -> Case {
    let (sx, sy) = (w as f64 / 1920.0, h as f64 / 1080.0);
    let kf = |t: f64, x: f64| {
        serde_json::json!({"time": t, "x": x * sx, "y": 560.0 * sy,
        "radiusX": 110.0 * sx, "radiusY": 240.0 * sy, "color": "#FFD400"})
    };
    let job = serde_json::json!({"type": "overlay", "params": {
        "effect_type": "dark_overlay",
        "overlay_settings": {"fill_enabled": true, "stroke_width": 3, "dim_strength": 0.35},
        "highlight_regions": [{"start_time": 0.0, "end_time": 4.0,
            "keyframes": [kf(0.0, 600.0), kf(1.0, 800.0), kf(2.0, 1000.0), kf(3.0, 1200.0)]}],
        "text_layers": [{"startTime": 0.0, "endTime": 4.0, "image_key": "caption.png"}]}});
    let mut spec = JobSpec::from_json(&job, &Limits::default()).expect("valid §9 job");
    let JobParams::OverlayV2(p) = &mut spec.params else {
        unreachable!()
    };
    p.resolve_image_keys(|_| Ok(png_bytes(&caption_rgba(w, h, "GOAL  #7"), w, h)))
        .unwrap();
    let format = FrameFormat::new(w, h, ColorSpec::BT709_LIMITED);
    let layers = load_layers(&p.text_layers, &format).unwrap();
    let plan = OverlayTimeline::v2(p).plan(FrameAt::new(37, 1.5), w, h);
    Case {
        name: name.to_string(),
        size: (w, h),
        quality: BlurQuality::Fast,
        plan,
        out: None,
        layers,
    }
}

fn players() -> Vec<MaskEllipse> {
    vec![
        MaskEllipse {
            cx: 820,
            cy: 560,
            rx: 110,
            ry: 240,
            opacity: 1.0,
        },
        MaskEllipse {
            cx: 1100,
            cy: 600,
            rx: 100,
            ry: 220,
            opacity: 0.7,
        },
    ]
}

fn frame(w: u32, h: u32) -> YuvFrame {
    reference::convert::rgb_to_yuv420(&test_card(w, h), w, h, ColorSpec::BT709_LIMITED)
}

fn main() {
    // the GPU kit's way to a detection checkpoint on a bare machine: a random one, written in
    // place (`REELGPU_BENCH_WRITE_DETECTOR=PATH`, scale `REELGPU_BENCH_WRITE_SCALE`, default x)
    if let Some(path) = std::env::var_os("REELGPU_BENCH_WRITE_DETECTOR") {
        let scale = std::env::var("REELGPU_BENCH_WRITE_SCALE")
            .ok()
            .and_then(|s| s.chars().next())
            .unwrap_or('x');
        reelgpu::testing::yolo::write_random_checkpoint(std::path::Path::new(&path), scale, 80, 1)
            .expect("the random checkpoint is written");
        println!("wrote a random yolov8{scale} to {}", path.to_string_lossy());
        return;
    }
    let ctx = GpuContext::new().expect("GPU adapter");
    println!("adapter: {}", ctx.adapter);
    let plan = |effect, crop| FramePlan {
        ellipses: players(),
        effect,
        crop,
        ..Default::default()
    };
    let crop_9x16 = CropRect {
        x: 656,
        y: 0,
        width: 607,
        height: 1080,
    };
    let mut cases = vec![
        Case {
            name: "blur-overlay (fast)".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: plan(EffectType::Blur, None),
            out: None,
            layers: Vec::new(),
        },
        Case {
            name: "blur-overlay (exact)".into(),
            size: (1920, 1080),
            quality: BlurQuality::Exact,
            plan: plan(EffectType::Blur, None),
            out: None,
            layers: Vec::new(),
        },
        Case {
            name: "blur-overlay (exact), RGB-equivalent samples*".into(),
            size: (1920, 2160),
            quality: BlurQuality::Exact,
            plan: plan(EffectType::Blur, None),
            out: None,
            layers: Vec::new(),
        },
        Case {
            name: "spotlight".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: plan(EffectType::Spotlight, None),
            out: None,
            layers: Vec::new(),
        },
        Case {
            name: "crop 9:16 -> 1080x1920".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: FramePlan {
                crop: Some(crop_9x16),
                ..Default::default()
            },
            out: Some((1080, 1920)),
            layers: Vec::new(),
        },
        Case {
            name: "blur-overlay (fast) + crop".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: plan(EffectType::Blur, Some(crop_9x16)),
            out: Some((1080, 1920)),
            layers: Vec::new(),
        },
        Case {
            name: "no active region (skips GPU)".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: FramePlan::default(),
            out: None,
            layers: Vec::new(),
        },
        Case {
            name: "§10 crop 9:16 -> 810x1440".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: FramePlan {
                crop: Some(crop_9x16),
                ..Default::default()
            },
            out: Some((810, 1440)),
            layers: Vec::new(),
        },
        Case {
            name: "§10 rotated -3° + crop -> 810x1440 (one resample)".into(),
            size: (1920, 1080),
            quality: BlurQuality::Fast,
            plan: FramePlan {
                rotated: Some(Rotated {
                    crop: crop_9x16,
                    degrees: -3.0,
                }),
                ..Default::default()
            },
            out: Some((810, 1440)),
            layers: Vec::new(),
        },
        v2_case("§9 dark overlay + fill + stroke + text layer", 1920, 1080),
        v2_case(
            "§9 dark overlay + fill + stroke + text layer, 4K",
            3840,
            2160,
        ),
    ];
    if std::env::var("REELGPU_BENCH_4K").as_deref() == Ok("1") {
        // the same players, crops and rotation on a 3840x2160 frame
        let players_4k: Vec<MaskEllipse> = players()
            .into_iter()
            .map(|e| MaskEllipse {
                cx: 2 * e.cx,
                cy: 2 * e.cy,
                rx: 2 * e.rx,
                ry: 2 * e.ry,
                ..e
            })
            .collect();
        let crop_4k = CropRect {
            x: 2 * crop_9x16.x,
            y: 0,
            width: 2 * crop_9x16.width,
            height: 2160,
        };
        let at_4k = |name: &str, plan: FramePlan, out: Option<(u32, u32)>| Case {
            name: format!("{name}, 4K"),
            size: (3840, 2160),
            quality: BlurQuality::Fast,
            plan,
            out,
            layers: Vec::new(),
        };
        cases.push(at_4k(
            "blur-overlay (fast)",
            FramePlan {
                ellipses: players_4k.clone(),
                effect: EffectType::Blur,
                ..Default::default()
            },
            None,
        ));
        cases.push(at_4k(
            "spotlight",
            FramePlan {
                ellipses: players_4k,
                effect: EffectType::Spotlight,
                ..Default::default()
            },
            None,
        ));
        cases.push(at_4k(
            "crop 9:16 -> 1080x1920",
            FramePlan {
                crop: Some(crop_4k),
                ..Default::default()
            },
            Some((1080, 1920)),
        ));
        cases.push(at_4k(
            "§10 rotated -3° + crop -> 810x1440 (one resample)",
            FramePlan {
                rotated: Some(Rotated {
                    crop: crop_4k,
                    degrees: -3.0,
                }),
                ..Default::default()
            },
            Some((810, 1440)),
        ));
    }

    println!(
        "\n| case | ms/frame (median of {}) | min | stages (median of {} synced runs, ms) | bytes up+down |",
        frames(),
        timed_runs()
    );
    println!("|---|---:|---:|---|---:|");
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for case in cases
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
    {
        let (w, h) = case.size;
        let input = frame(w, h);
        let mut engine = FrameEngine::new(
            ctx.clone(),
            FrameFormat::new(w, h, ColorSpec::BT709_LIMITED),
            case.out,
            case.quality,
        )
        .unwrap();
        engine.set_text_layers(&case.layers).unwrap();
        let out_fmt = engine.plan_output(&case.plan);
        let mut out = vec![0u8; out_fmt.frame_bytes()];
        for _ in 0..WARMUP {
            engine.process(&input.data, &case.plan, &mut out).unwrap();
        }
        let mut times = Vec::with_capacity(frames());
        for _ in 0..frames() {
            let t = Instant::now();
            engine.process(&input.data, &case.plan, &mut out).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let mid = median(&mut times);
        let min = times[0];
        let runs: Vec<_> = (0..timed_runs())
            .map(|_| {
                engine
                    .process_timed(&input.data, &case.plan, &mut out)
                    .unwrap()
                    .stages
            })
            .collect();
        let stages: Vec<String> = runs[0]
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let mut ms: Vec<f64> = runs.iter().map(|r| r[i].1.as_secs_f64() * 1e3).collect();
                format!("{name} {:.1}", median(&mut ms))
            })
            .collect();
        let bytes = if case.plan.is_identity() {
            0
        } else {
            input.data.len() + out.len()
        };
        println!(
            "| {} | {mid:.1} | {min:.1} | {} | {bytes} |",
            case.name,
            stages.join(", ")
        );
    }
    println!(
        "\n* 1920x2160 in 4:2:0 has as many samples (6.2 M) as a 1920x1080 frame in planar RGB."
    );

    sr_rows(&ctx, only.as_deref());
    detect_rows(&ctx, only.as_deref());

    if only.is_some() {
        return;
    }
    // Accuracy of the fast path at 1080p against the exact CPU reference.
    let input = frame(1920, 1080);
    let bg_only = background_only_plan();
    let full = plan(EffectType::Blur, None);
    println!("\n| accuracy at 1920x1080 (fast GPU vs exact CPU) | result |\n|---|---|");
    for (name, p) in [
        ("background only (mask 0 everywhere)", &bg_only),
        ("blur-overlay, two players", &full),
    ] {
        let mut engine =
            FrameEngine::new(ctx.clone(), input.format, None, BlurQuality::Fast).unwrap();
        let mut out = YuvFrame::blank(input.format);
        engine.process(&input.data, p, &mut out.data).unwrap();
        let cpu = reference::overlay::apply(&input, p, (0, 0));
        println!("| {name} | {} |", diff_u8(&out.data, &cpu.data));
    }
}

/// The AI x4 network's rows: the shipped animevideov3 model (`REELGPU_SR_MODEL`, else
/// `models/realesr-animevideov3-x4.param`) on a 135x240 crop, and a general-x4v3-sized network
/// (32 convolutions of 64 channels, random weights) on 203x360; ms per frame (upload and
/// readback included) and the GFLOP/s achieved. `REELGPU_BENCH_SR_FRAMES` timed frames
/// (default 3: a frame takes tens of seconds on lavapipe), `REELGPU_BENCH_SR=0` skips them.
fn sr_rows(ctx: &std::sync::Arc<GpuContext>, only: Option<&str>) {
    use reelgpu::models::{Conv, SrModel, Storage};
    use reelgpu::nn::Precision;
    use reelgpu::nn::srvgg::{SrIo, SrNetwork, SrUpscaler};
    if std::env::var("REELGPU_BENCH_SR").as_deref() == Ok("0")
        || only.is_some_and(|o| !"SR x4".contains(o) && !o.contains("SR"))
    {
        return;
    }
    let frames = std::env::var("REELGPU_BENCH_SR_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(3);
    let path = reelgpu::models::model_path();
    let mut models = Vec::new();
    match reelgpu::models::load(&path) {
        Ok(m) => models.push((format!("SR x4 {}", m.name), m, (135usize, 240usize))),
        Err(e) => println!("\n(SR x4 model not loaded: {e})"),
    }
    // general-x4v3's shape with random weights: the cost is the shape's, not the values'
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut convs = Vec::new();
    let mut in_ch = 3;
    for k in 0..34 {
        let out = if k == 33 { 48 } else { 64 };
        convs.push(Conv {
            in_ch,
            out_ch: out,
            weights: (0..in_ch * out * 9).map(|_| rnd() * 0.1).collect(),
            bias: (0..out).map(|_| rnd() * 0.01).collect(),
            prelu: (k < 33).then(|| vec![0.1; out]),
        });
        in_ch = out;
    }
    let general = SrModel {
        name: "general-size".into(),
        scale: 4,
        convs,
        storage: Storage::F32,
    };
    models.push((
        "SR x4 general-size (32 convs, random weights)".into(),
        general,
        (203, 360),
    ));
    let kernels: Vec<Precision> = [Precision::F32, Precision::F16]
        .into_iter()
        .filter(|k| {
            *k == Precision::F32 || ctx.device.features().contains(wgpu::Features::SHADER_F16)
        })
        .collect();
    // the cooperative-matrix kernels: what the adapter offers and what the start-up
    // comparison with the portable kernel decided (REELGPU_SR_COOP=off: not requested)
    for (kernel, slot) in [
        (Precision::F32, &ctx.kernels.coop_f32),
        (Precision::F16, &ctx.kernels.coop_f16),
    ] {
        let what = match &slot.kernel {
            None => "none on this adapter".to_string(),
            Some(c) => match reelgpu::nn::coop::for_device(ctx, kernel) {
                Some(_) => format!(
                    "{0}x{0}: agrees with the portable kernel (relative error {1:.1e}); used",
                    c.side,
                    slot.verdict
                        .get()
                        .and_then(|v| v.as_ref().ok())
                        .copied()
                        .unwrap_or(0.0)
                ),
                None => format!(
                    "{0}x{0}: disabled: {1}",
                    c.side,
                    slot.verdict
                        .get()
                        .and_then(|v| v.as_ref().err())
                        .cloned()
                        .unwrap_or_default()
                ),
            },
        };
        println!("\ncooperative matrices, {} storage: {what}", kernel.name());
    }
    let peaks = peak_tflops(&ctx.adapter.name);
    match peaks {
        Some((name, f32_peak, f16_peak, tensor)) => println!(
            "\npeaks ({name}, vendor figures, dense): fp32 {f32_peak} TFLOPS, fp16 {f16_peak} \
             without tensor cores, {tensor} with them"
        ),
        None => println!("\npeak: not known for this adapter"),
    }
    println!(
        "\n| network | kernel | crop | ms/frame (median of {frames}) | GFLOP/s | GFLOP/frame | vs f32 | of peak |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for (name, m, (w, h)) in models {
        let mut f32_ms = None;
        let mut nets = Vec::new();
        for &kernel in &kernels {
            match SrNetwork::with_kernel(ctx, &m, kernel) {
                Ok(n) => {
                    if n.coop.is_some() || n.coop_any.is_some() {
                        // the portable kernel first, then the same storage on tensor cores
                        if let Ok(p) = SrNetwork::with_kernel(ctx, &m, kernel) {
                            nets.push(p.portable());
                        }
                    }
                    nets.push(n);
                }
                Err(e) => println!(
                    "| {name} | {} | {w}x{h} | failed: {e} | | | |",
                    kernel.name()
                ),
            }
        }
        for net in nets {
            let mut runner = match SrUpscaler::new(ctx, &net, (w as u32, h as u32), None, SrIo::Rgb)
            {
                Ok(r) => r,
                Err(e) => {
                    println!(
                        "| {name} | {} | {w}x{h} | failed: {e} | | | |",
                        net.kernel_name()
                    );
                    continue;
                }
            };
            let rgb: Vec<f32> = (0..3 * w * h).map(|i| (i % 251) as f32 / 251.0).collect();
            runner.run_rgb(ctx, &rgb).unwrap();
            let mut times: Vec<f64> = (0..frames)
                .map(|_| {
                    let t = Instant::now();
                    runner.run_rgb(ctx, &rgb).unwrap();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let ms = median(&mut times);
            let base = *f32_ms.get_or_insert(ms);
            let gflop = m.flops_per_pixel() * (w * h) as f64 / 1e9;
            let rate = gflop / (ms / 1e3);
            // against the peak of what the kernel uses: fp32 ALUs, fp16 ALUs, tensor cores
            let of_peak = peaks.map_or("–".to_string(), |(_, f32_peak, f16_peak, tensor)| {
                let peak = match (net.coop.is_some() || net.coop_any.is_some(), net.kernel) {
                    (true, _) => tensor,
                    (false, Precision::F16) => f16_peak,
                    (false, Precision::F32) => f32_peak,
                };
                format!("{:.1}%", 100.0 * rate / (peak * 1e3))
            });
            println!(
                "| {name} | {} | {w}x{h} | {ms:.1} | {rate:.1} | {gflop:.1} | {:.2} | {of_peak} |",
                net.kernel_name(),
                base / ms
            );
        }
    }
}

/// The YOLOv8 detector's rows: every scale (`REELGPU_BENCH_DETECT_SCALES`, default
/// `n,s,m,l,x`; random weights made in place: the cost is the shape's) at 640x384 (a 16:9
/// frame's letterbox) and 640x640, plus the operator's checkpoint when `REELGPU_DETECT_MODEL`
/// names one; ms per frame (input upload and output readback included, median of
/// `REELGPU_BENCH_DETECT_FRAMES`, default 3) and GFLOP/s, with the share of the adapter's fp32
/// peak where it is known. `REELGPU_BENCH_DETECT=0` skips them.
fn detect_rows(ctx: &std::sync::Arc<GpuContext>, only: Option<&str>) {
    use reelgpu::models::yolo::{self, YoloModel};
    use reelgpu::nn::Precision;
    use reelgpu::nn::yolo::{YoloGpu, YoloInput, YoloPlan};
    use std::sync::Arc;
    if std::env::var("REELGPU_BENCH_DETECT").as_deref() == Ok("0")
        || only.is_some_and(|o| !o.contains("DETECT"))
    {
        return;
    }
    let frames = std::env::var("REELGPU_BENCH_DETECT_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(3);
    let scales =
        std::env::var("REELGPU_BENCH_DETECT_SCALES").unwrap_or_else(|_| "n,s,m,l,x".into());
    let mut models: Vec<(String, Arc<YoloModel>)> = scales
        .split(',')
        .filter_map(|s| s.trim().chars().next())
        .filter(|c| reelgpu::testing::yolo::scale_factors(*c).is_some())
        .map(|c| {
            let m = reelgpu::testing::yolo::random_model(c, 80, 1);
            (format!("yolov8{c} (random, 80 classes)"), Arc::new(m))
        })
        .collect();
    if let Some(p) = yolo::model_path() {
        match yolo::load(&p) {
            Ok(m) => models.push((
                format!("{} ({}, {} classes)", m.name, m.scale, m.nc),
                Arc::new(m),
            )),
            Err(e) => println!("\n(REELGPU_DETECT_MODEL not loaded: {e})"),
        }
    }
    let peak = peak_tflops(&ctx.adapter.to_string());
    // f32 storage, and f16 beside it where a GPU has it (on a CPU adapter only when asked:
    // REELGPU_BENCH_DETECT_F16=1)
    let f16 = ctx.device.features().contains(wgpu::Features::SHADER_F16)
        && (!ctx.adapter.software
            || std::env::var("REELGPU_BENCH_DETECT_F16").as_deref() == Ok("1"));
    let precisions: Vec<Precision> = [Precision::F32, Precision::F16]
        .into_iter()
        .filter(|p| *p == Precision::F32 || f16)
        .collect();
    println!(
        "\n| detector | kernel | input | ms/frame (median of {frames}) | GFLOP/frame | GFLOP/s | of peak (fp32, fp16, or tensor cores) |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for (name, m) in &models {
        for &p in &precisions {
            let gpu = Arc::new(YoloGpu::with_precision(ctx, m.clone(), p));
            // the device's best convolution, and the portable one beside it where that is
            // the cooperative-matrix kernel
            let coop = reelgpu::nn::coop::any_for_device(ctx, p).is_some();
            for ((w, h), portable) in [(640u32, 384u32), (640, 640)]
                .into_iter()
                .flat_map(|s| [(s, false), (s, true)])
                .filter(|(_, portable)| !portable || coop)
            {
                let input = YoloInput::Rgb(w, h);
                let plan = match portable {
                    false => YoloPlan::new(ctx, gpu.clone(), input),
                    true => YoloPlan::portable(ctx, gpu.clone(), input),
                };
                let plan = match plan {
                    Ok(p) => p,
                    Err(e) => {
                        println!("| {name} | {} | {w}x{h} | failed: {e} | | | |", p.name());
                        continue;
                    }
                };
                let storage = plan.kernel_name();
                let rgb: Vec<f32> = (0..3 * w * h).map(|i| (i % 251) as f32 / 250.0).collect();
                if let Err(e) = plan.run_rgb(ctx, &rgb) {
                    println!("| {name} | {storage} | {w}x{h} | failed: {e} | | | |");
                    continue;
                }
                let mut times: Vec<f64> = (0..frames)
                    .map(|_| {
                        let t = Instant::now();
                        plan.run_rgb(ctx, &rgb).expect("the detector runs");
                        t.elapsed().as_secs_f64()
                    })
                    .collect();
                let s = median(&mut times);
                let gflop = plan.flops() / 1e9;
                let share = peak
                    .map(|(_, fp32, fp16, tensor)| {
                        let peak = match (p, storage.contains("coop")) {
                            (Precision::F16, true) => tensor,
                            (Precision::F16, false) => fp16,
                            _ => fp32,
                        };
                        format!("{:.1}%", 100.0 * gflop / s / 1e3 / peak)
                    })
                    .unwrap_or_else(|| "-".into());
                println!(
                    "| {name} | {storage} | {w}x{h} | {:.1} | {gflop:.1} | {:.1} | {share} |",
                    s * 1e3,
                    gflop / s
                );
            }
        }
    }
}

/// Vendor peaks (dense TFLOPS: fp32, fp16 without tensor cores, fp16 on tensor cores) of the
/// GPUs the project is measured on, by adapter name: the H200 the GPU kit runs on (SXM, the
/// figures issue 19 designs against) and the app's T4.
fn peak_tflops(adapter: &str) -> Option<(&'static str, f64, f64, f64)> {
    let a = adapter.to_ascii_uppercase();
    if a.contains("H200") || a.contains("H100") {
        Some(("H200/H100 SXM", 67.0, 134.0, 989.0))
    } else if a.contains("TESLA T4") || a.ends_with(" T4") {
        Some(("T4", 8.1, 16.2, 65.0))
    } else {
        None
    }
}

/// Median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
