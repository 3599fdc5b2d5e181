//! Every GPU pass against its CPU reference on random (never all-zero) frames at several
//! sizes, odd and tiny ones included. Tolerances are stated per test.

mod common;

use reelgpu::color::{ColorMatrix, ColorRange, ColorSpec};
use reelgpu::effects::convert::ColorConverter;
use reelgpu::effects::kernels::{background_blur, gaussian_weights, reduced_blur};
use reelgpu::effects::reduce::FAST_BLUR_LEVELS;
use reelgpu::engine::{BlurQuality, FrameEngine};
use reelgpu::frame::{FrameFormat, YuvFrame};
use reelgpu::job::EffectType;
use reelgpu::job::timeline::{Arc, Coverage, CropRect, FramePlan, MaskEllipse, PaintOp, TextDraw};
use reelgpu::reference;
use reelgpu::testing::metrics::{diff_f32, diff_u8};
use reelgpu::testing::pattern::{
    SplitMix, background_only_plan, random_frame, rgb_to_rgba, rgba_to_rgb, test_card,
};

const SIZES: [(u32, u32); 5] = [(333, 187), (64, 36), (17, 9), (2, 2), (1, 1)];
const SPECS: [ColorSpec; 2] = [
    ColorSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
    },
    ColorSpec {
        matrix: ColorMatrix::Bt601,
        range: ColorRange::Full,
    },
];

/// Sample-exact passes may differ from the CPU by one level where a value rounds at .5.
const MAX_ROUNDING: f64 = 1.0;

fn run(engine: &mut FrameEngine, frame: &YuvFrame, plan: &FramePlan) -> YuvFrame {
    let fmt = engine.plan_output(plan);
    let mut out = YuvFrame::blank(fmt);
    engine
        .process(&frame.data, plan, &mut out.data)
        .expect("GPU frame");
    out
}

fn random_ellipses(w: u32, h: u32, n: usize, seed: u64) -> Vec<MaskEllipse> {
    let mut rng = SplitMix::new(seed);
    (0..n)
        .map(|_| MaskEllipse {
            cx: (rng.next_u64() % (w as u64 + 20)) as i32 - 10,
            cy: (rng.next_u64() % (h as u64 + 20)) as i32 - 10,
            rx: 1 + (rng.next_u64() % (w as u64 / 3 + 2)) as i32,
            ry: 1 + (rng.next_u64() % (h as u64 / 3 + 2)) as i32,
            opacity: 0.2 + (rng.next_u64() % 80) as f32 / 100.0,
        })
        .collect()
}

#[test]
fn rgb_to_yuv_matches_cpu() {
    let ctx = common::gpu();
    for (w, h) in SIZES {
        for spec in SPECS {
            let mut rng = SplitMix::new(w as u64 * 31 + h as u64);
            let rgb: Vec<u8> = (0..w * h * 3).map(|_| rng.byte()).collect();
            let conv = ColorConverter::new(ctx.clone(), FrameFormat::new(w, h, spec)).unwrap();
            let gpu = conv.rgba_to_yuv(&rgb_to_rgba(&rgb)).unwrap();
            let cpu = reference::convert::rgb_to_yuv420(&rgb, w, h, spec);
            let d = diff_u8(&gpu.data, &cpu.data);
            assert!(d.max_abs <= MAX_ROUNDING, "{w}x{h} {spec:?}: {d}");
        }
    }
}

#[test]
fn yuv_to_rgb_matches_cpu() {
    let ctx = common::gpu();
    for (w, h) in SIZES {
        for spec in SPECS {
            let frame = random_frame(w, h, spec, 7 + w as u64);
            let conv = ColorConverter::new(ctx.clone(), frame.format).unwrap();
            let gpu = rgba_to_rgb(&conv.yuv_to_rgba(&frame).unwrap());
            let cpu = reference::convert::yuv420_to_rgb(&frame);
            let d = diff_u8(&gpu, &cpu);
            assert!(d.max_abs <= MAX_ROUNDING, "{w}x{h} {spec:?}: {d}");
        }
    }
}

/// The exact background blur (51x51, sigma 8 on luma; 25x25, sigma 4 on chroma) before
/// rounding: |err| <= 1e-3 of a level (float summation order only).
#[test]
fn exact_background_blur_matches_cpu() {
    let ctx = common::gpu();
    for (w, h) in SIZES {
        let frame = random_frame(w, h, ColorSpec::default(), 11 + h as u64);
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Exact).unwrap();
        let plan = background_only_plan();
        run(&mut engine, &frame, &plan);
        let gpu = engine.read_background().unwrap();
        let planes = frame.format.gpu_float_planes(0);
        for p in 0..3 {
            let (pw, ph) = frame.format.plane_size(p);
            let spec = background_blur(p);
            let cpu = reference::blur::blur_plane_u8(frame.plane(p), pw, ph, &spec.weights());
            let g = &gpu[planes[p].offset as usize..][..(pw * ph) as usize];
            let d = diff_f32(g, &cpu);
            assert!(d.max_abs <= 1e-3, "{w}x{h} plane {p}: {d}");
        }
    }
}

/// The fast background path (decimate, reduced-size Gaussian, bilinear) against its own CPU
/// reference: the reduced blurred planes within 1e-3, whole frames within one level.
#[test]
fn fast_background_blur_matches_its_cpu_reference() {
    let ctx = common::gpu();
    for (w, h) in [(333, 187), (320, 180), (101, 51)] {
        let frame = random_frame(w, h, ColorSpec::default(), 3 + w as u64);
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
        assert_eq!(engine.quality(), BlurQuality::Fast);
        let plan = FramePlan {
            ellipses: random_ellipses(w, h, 2, w as u64),
            effect: EffectType::Blur,
            crop: None,
            ..Default::default()
        };
        let gpu = run(&mut engine, &frame, &plan);
        let cpu = reference::overlay::apply_with(&frame, &plan, (0, 0), BlurQuality::Fast);
        let d = diff_u8(&gpu.data, &cpu.data);
        assert!(
            d.max_abs <= MAX_ROUNDING && d.mean_abs <= 0.01,
            "{w}x{h} frame: {d}"
        );
        let reduced = engine.read_background().unwrap();
        let planes = engine.background_planes();
        for p in 0..3 {
            let (pw, ph) = frame.format.plane_size(p);
            let spec = background_blur(p);
            let levels = FAST_BLUR_LEVELS[p];
            let (r, sigma) = reduced_blur(spec, levels);
            let (cpu_reduced, _) = reference::blur::fast_blur_plane(
                frame.plane(p),
                pw,
                ph,
                levels,
                &gaussian_weights(r, sigma),
            );
            assert_eq!(
                (cpu_reduced.geom.width, cpu_reduced.geom.height),
                (planes[p].width, planes[p].height)
            );
            let g = &reduced[planes[p].offset as usize..][..cpu_reduced.data.len()];
            let d = diff_f32(g, &cpu_reduced.data);
            assert!(
                d.max_abs <= 1e-3,
                "{w}x{h} plane {p} reduced background: {d}"
            );
        }
    }
}

/// The fast path's upsampling on a test card (sharp edges, so the blurred background has
/// steep gradients between reduced samples): with the mask zero everywhere the output is the
/// upsampled background, which must match the CPU chain to rounding.
#[test]
fn fast_background_upsampling_matches_cpu_on_edges() {
    let ctx = common::gpu();
    for (w, h) in [(320, 180), (333, 187)] {
        let frame = reference::convert::rgb_to_yuv420(&test_card(w, h), w, h, ColorSpec::default());
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
        let plan = background_only_plan();
        let gpu = run(&mut engine, &frame, &plan);
        let cpu = reference::overlay::apply_with(&frame, &plan, (0, 0), BlurQuality::Fast);
        let d = diff_u8(&gpu.data, &cpu.data);
        eprintln!("upsampled background {w}x{h}: {d}");
        assert!(
            d.max_abs <= MAX_ROUNDING && d.mean_abs <= 0.001,
            "{w}x{h} card: {d}"
        );
    }
}

/// The fast background path against the exact CPU blur: PSNR >= 45 dB on random noise and
/// on a test card, at a small size and at 1080p (the benchmark's size).
#[test]
fn fast_background_blur_is_within_45db_of_exact() {
    let ctx = common::gpu();
    let card =
        |w, h| reference::convert::rgb_to_yuv420(&test_card(w, h), w, h, ColorSpec::default());
    let cases = [
        (
            "noise 333x187",
            random_frame(333, 187, ColorSpec::default(), 5),
        ),
        ("card 320x180", card(320, 180)),
        ("card 1920x1080", card(1920, 1080)),
        ("noise 17x9", random_frame(17, 9, ColorSpec::default(), 9)),
    ];
    // A region far outside the frame: the mask is zero, so the output is the background.
    let plan = background_only_plan();
    for (name, frame) in cases {
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
        let gpu = run(&mut engine, &frame, &plan);
        let cpu = reference::overlay::apply(&frame, &plan, (0, 0));
        let d = diff_u8(&gpu.data, &cpu.data);
        eprintln!("fast blur {name}: {d}");
        assert!(d.psnr >= 45.0, "{name}: {d}");
        assert!(d.max_abs <= 2.0, "{name}: {d}");
    }
}

/// The feathered mask inside its bounding box (|err| <= 1e-5), and zero outside it on the CPU
/// (so the GPU may skip those pixels).
#[test]
fn mask_matches_cpu() {
    let ctx = common::gpu();
    for (i, (w, h)) in SIZES.into_iter().enumerate() {
        let frame = random_frame(w, h, ColorSpec::default(), i as u64);
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
        for seed in 0..3 {
            let plan = FramePlan {
                ellipses: random_ellipses(w, h, 1 + seed as usize * 2, seed * 100 + i as u64),
                effect: EffectType::Spotlight,
                crop: None,
                ..Default::default()
            };
            run(&mut engine, &frame, &plan);
            let gpu = engine.read_mask().unwrap();
            let cpu = reference::mask::feathered(&plan.ellipses, w, h);
            let b = plan.mask_box(w, h);
            let mut max = 0.0f32;
            for y in 0..h {
                for x in 0..w {
                    let idx = (y * w + x) as usize;
                    if x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1 {
                        max = max.max((gpu[idx] - cpu[idx]).abs());
                    } else {
                        assert_eq!(
                            cpu[idx], 0.0,
                            "{w}x{h}: mask non-zero outside its box at {x},{y}"
                        );
                    }
                }
            }
            assert!(max <= 1e-5, "{w}x{h} seed {seed}: max |err| {max}");
        }
    }
}

/// Whole overlay frames (mask + exact blur or spotlight + composite): |err| <= 1 level,
/// mean <= 0.01.
#[test]
fn overlay_frames_match_cpu() {
    let ctx = common::gpu();
    for (i, (w, h)) in SIZES.into_iter().enumerate() {
        for (j, spec) in SPECS.into_iter().enumerate() {
            let frame = random_frame(w, h, spec, 40 + i as u64 * 3 + j as u64);
            let mut engine =
                FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Exact).unwrap();
            for effect in [EffectType::Blur, EffectType::Spotlight] {
                let plan = FramePlan {
                    ellipses: random_ellipses(w, h, 3, i as u64 * 7 + j as u64),
                    effect,
                    crop: None,
                    ..Default::default()
                };
                let gpu = run(&mut engine, &frame, &plan);
                let cpu = reference::overlay::apply(&frame, &plan, (0, 0));
                let d = diff_u8(&gpu.data, &cpu.data);
                assert!(
                    d.max_abs <= MAX_ROUNDING && d.mean_abs <= 0.01,
                    "{w}x{h} {effect:?} {spec:?}: {d}"
                );
                if w > 2 {
                    assert_ne!(
                        gpu.data, frame.data,
                        "{w}x{h} {effect:?}: the frame did not change"
                    );
                }
            }
        }
    }
}

/// Crop + Lanczos resize: upscaling, downscaling, unequal axes, odd crop origins.
#[test]
fn crop_resize_matches_cpu() {
    let ctx = common::gpu();
    type Case = ((u32, u32), CropRect, (u32, u32));
    let cases: [Case; 6] = [
        (
            (333, 187),
            CropRect {
                x: 101,
                y: 3,
                width: 105,
                height: 184,
            },
            (180, 320),
        ),
        (
            (333, 187),
            CropRect {
                x: 0,
                y: 0,
                width: 333,
                height: 187,
            },
            (100, 56),
        ),
        (
            (320, 180),
            CropRect {
                x: 7,
                y: 9,
                width: 301,
                height: 101,
            },
            (64, 200),
        ),
        (
            (64, 36),
            CropRect {
                x: 60,
                y: 30,
                width: 4,
                height: 6,
            },
            (16, 24),
        ),
        (
            (17, 9),
            CropRect {
                x: 0,
                y: 0,
                width: 17,
                height: 9,
            },
            (34, 18),
        ),
        (
            (1, 1),
            CropRect {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
            },
            (2, 2),
        ),
    ];
    for (k, ((w, h), crop, (ow, oh))) in cases.into_iter().enumerate() {
        let frame = random_frame(w, h, ColorSpec::default(), 90 + k as u64);
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, Some((ow, oh)), BlurQuality::Fast).unwrap();
        let plan = FramePlan {
            ellipses: vec![],
            effect: EffectType::Blur,
            crop: Some(crop),
            ..Default::default()
        };
        let gpu = run(&mut engine, &frame, &plan);
        let cpu = reference::resize::crop_resize(&frame, &crop, ow, oh);
        let d = diff_u8(&gpu.data, &cpu.data);
        assert!(
            d.max_abs <= MAX_ROUNDING && d.mean_abs <= 0.02,
            "case {k} {w}x{h} {crop:?} -> {ow}x{oh}: {d}"
        );
    }
}

/// The full chain: overlay then crop, as an `overlay` job with `crop_keyframes` runs it.
#[test]
fn overlay_then_crop_matches_cpu() {
    let ctx = common::gpu();
    let frame = random_frame(333, 187, ColorSpec::default(), 123);
    let mut engine = FrameEngine::new(
        ctx.clone(),
        frame.format,
        Some((90, 160)),
        BlurQuality::Exact,
    )
    .unwrap();
    let plan = FramePlan {
        ellipses: random_ellipses(333, 187, 2, 77),
        effect: EffectType::Blur,
        crop: Some(CropRect {
            x: 120,
            y: 0,
            width: 105,
            height: 187,
        }),
        ..Default::default()
    };
    let gpu = run(&mut engine, &frame, &plan);
    let cpu = reference::overlay::apply(&frame, &plan, (90, 160));
    let d = diff_u8(&gpu.data, &cpu.data);
    assert!(d.max_abs <= MAX_ROUNDING && d.mean_abs <= 0.02, "{d}");
}

/// A plan that does nothing returns the frame untouched (and never reaches the GPU).
#[test]
fn identity_plan_is_a_copy() {
    let ctx = common::gpu();
    let frame = random_frame(64, 36, ColorSpec::default(), 1);
    let mut engine = FrameEngine::new(ctx, frame.format, None, BlurQuality::Fast).unwrap();
    let out = run(&mut engine, &frame, &FramePlan::default());
    assert_eq!(out.data, frame.data);
}

/// label.wgsl against its CPU reference: random frames, random label values and alphas over a
/// band of rows (odd sizes included), then a real rendered label on a test card.
#[test]
fn label_blend_matches_cpu() {
    use reelgpu::effects::label::{LabelBand, band_ranges, font_path, load_font, render};
    use reelgpu::engine::label::LabelCompositor;
    let ctx = common::gpu();
    for (w, h, y0, y1) in [(320, 180, 6, 40), (333, 187, 0, 187 + 1), (64, 36, 10, 12)] {
        let y1 = y1.min(h + h % 2);
        let frame = random_frame(w, h, ColorSpec::default(), 11 + w as u64);
        let ranges = band_ranges(&frame.format, y0, y1.min(h));
        let len: usize = ranges.iter().map(|r| r.len()).sum();
        let mut rng = SplitMix::new(w as u64);
        let label = LabelBand {
            y0,
            y1: y1.min(h),
            value: (0..len).map(|_| rng.byte()).collect(),
            alpha: (0..len).map(|_| rng.byte()).collect(),
        };
        let mut cpu = frame.clone();
        reference::label::blend(&frame.format, &mut cpu.data, &label);
        let mut comp = LabelCompositor::with_labels(&ctx, frame.format, vec![label]);
        let mut gpu = frame.clone();
        comp.apply(0, &mut gpu.data).unwrap();
        let d = diff_u8(&gpu.data, &cpu.data);
        assert!(
            d.max_abs <= MAX_ROUNDING,
            "{w}x{h} label band {y0}..{y1}: {d}"
        );
        assert!(
            diff_u8(&gpu.data, &frame.data).max_abs > 0.0,
            "the band changed"
        );
    }
    // a rendered label: the GPU burn-in equals the CPU one
    let font = load_font(&font_path()).unwrap();
    let card =
        reference::convert::rgb_to_yuv420(&test_card(320, 180), 320, 180, ColorSpec::default());
    let clip = reelgpu::job::AnnotateClip {
        start_time: 0.0,
        end_time: 1.0,
        name: "Great pass".into(),
        notes: Some("look at the run".into()),
        rating: 4,
    };
    let label = render(&font, &card.format, &clip);
    let mut cpu = card.clone();
    reference::label::blend(&card.format, &mut cpu.data, &label);
    let mut comp = LabelCompositor::with_labels(&ctx, card.format, vec![label]);
    let mut gpu = card.clone();
    comp.apply(0, &mut gpu.data).unwrap();
    let d = diff_u8(&gpu.data, &cpu.data);
    assert!(d.max_abs <= MAX_ROUNDING, "rendered label: {d}");
}

fn random_paint_ops(w: u32, h: u32, n: usize, seed: u64) -> Vec<PaintOp> {
    let mut rng = SplitMix::new(seed);
    (0..n)
        .map(|i| {
            let rx = 1 + (rng.next_u64() % (w as u64 / 2 + 2)) as i32;
            let ry = 1 + (rng.next_u64() % (h as u64 / 2 + 2)) as i32;
            let width = 2.0 + (rng.next_u64() % 5) as f32;
            let coverage = match i % 4 {
                0 => Coverage::Outside,
                1 => Coverage::Inside,
                2 => Coverage::Ring { width, arc: None },
                _ => Coverage::Ring {
                    width,
                    arc: Some(Arc::new(-30.0, 210.0, rx as f64, ry as f64)),
                },
            };
            PaintOp {
                cx: (rng.next_u64() % (w as u64 + 10)) as i32 - 5,
                cy: (rng.next_u64() % (h as u64 + 10)) as i32 - 5,
                rx,
                ry,
                coverage,
                rgb: [rng.byte() as f32, rng.byte() as f32, rng.byte() as f32],
                alpha: 0.1 + (rng.next_u64() % 90) as f32 / 100.0,
            }
        })
        .collect()
}

/// paint.wgsl against its CPU reference: random frames and random ops of every kind
/// (outside, inside, line, arc), odd and tiny sizes, both colour matrices. Tolerance: one
/// level (f32 rounding of the distance, then a .5 tie).
#[test]
fn paint_matches_cpu() {
    let ctx = common::gpu();
    for spec in SPECS {
        for (i, (w, h)) in SIZES.into_iter().enumerate() {
            let frame = random_frame(w, h, spec, 40 + i as u64);
            let mut engine =
                FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
            for (n, seed) in [(1, 3u64), (4, 5), (7, 9)] {
                let plan = FramePlan {
                    paint: random_paint_ops(w, h, n, seed * 31 + i as u64),
                    ..Default::default()
                };
                let gpu = run(&mut engine, &frame, &plan);
                let cpu = reference::paint::apply(&frame, &plan.paint);
                let d = diff_u8(&gpu.data, &cpu.data);
                assert!(d.max_abs <= MAX_ROUNDING, "{w}x{h} {n} ops: {d}");
                assert!(
                    (w, h) == (1, 1) || diff_u8(&gpu.data, &frame.data).max_abs > 0.0,
                    "{w}x{h}: the ops changed the frame"
                );
            }
        }
    }
}

/// An inside op only touches pixels near its ellipse: the dispatched region is the op's
/// reach, and a frame far from it is unchanged (on the GPU as on the CPU).
#[test]
fn paint_touches_only_what_its_ops_reach() {
    let ctx = common::gpu();
    let frame = random_frame(333, 187, ColorSpec::default(), 7);
    let mut engine = FrameEngine::new(ctx, frame.format, None, BlurQuality::Fast).unwrap();
    let op = PaintOp {
        cx: 50,
        cy: 40,
        rx: 20,
        ry: 10,
        coverage: Coverage::Ring {
            width: 4.0,
            arc: None,
        },
        rgb: [255.0, 0.0, 0.0],
        alpha: 1.0,
    };
    let plan = FramePlan {
        paint: vec![op],
        ..Default::default()
    };
    let gpu = run(&mut engine, &frame, &plan);
    for y in 0..187u32 {
        for x in 0..333u32 {
            let far = (x as i32 - 50).abs() > 26 || (y as i32 - 40).abs() > 16;
            let i = (y * 333 + x) as usize;
            if far {
                assert_eq!(gpu.data[i], frame.data[i], "({x}, {y}) is beyond the ring");
            }
        }
    }
    // on the ring's right end the line is fully drawn: luma of pure red
    let red = ColorSpec::default().rgb_to_yuv().apply([255.0, 0.0, 0.0])[0];
    assert!((gpu.data[(40 * 333 + 70) as usize] as f64 - red).abs() <= 1.0);
}

/// text.wgsl against its CPU reference: random layers over random bands (odd sizes, layers
/// overlapping, one empty), blended in order at random fades.
#[test]
fn text_layers_match_cpu() {
    use reelgpu::effects::label::{LabelBand, band_ranges};
    let ctx = common::gpu();
    for (i, (w, h)) in SIZES.into_iter().enumerate() {
        let frame = random_frame(w, h, ColorSpec::default(), 60 + i as u64);
        let mut rng = SplitMix::new(i as u64 + 1);
        let mut band = |y0: u32, y1: u32| {
            let y1 = y1.min(h);
            let len: usize = band_ranges(&frame.format, y0, y1)
                .iter()
                .map(|r| r.len())
                .sum();
            LabelBand {
                y0,
                y1,
                value: (0..len).map(|_| rng.byte()).collect(),
                alpha: (0..len).map(|_| rng.byte()).collect(),
            }
        };
        let layers = vec![
            band(0, h),
            band((h / 3) & !1, h / 2 + 1),
            band(0, 0),
            band((h / 2) & !1, h),
        ];
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
        engine.set_text_layers(&layers).unwrap();
        for draws in [
            vec![(0, 1.0)],
            vec![(1, 0.5), (3, 0.8)],
            vec![(3, 1.0), (2, 1.0), (0, 0.25), (1, 1.0)],
        ] {
            let plan = FramePlan {
                texts: draws
                    .iter()
                    .map(|&(layer, alpha)| TextDraw { layer, alpha })
                    .collect(),
                ..Default::default()
            };
            let gpu = run(&mut engine, &frame, &plan);
            let cpu = reference::text::apply(&frame, &layers, &plan.texts);
            let d = diff_u8(&gpu.data, &cpu.data);
            assert!(d.max_abs <= MAX_ROUNDING, "{w}x{h} {draws:?}: {d}");
            assert!(diff_u8(&gpu.data, &frame.data).max_abs > 0.0);
        }
        // a layer that was not loaded is an error, not a read past the buffer
        let plan = FramePlan {
            texts: vec![TextDraw {
                layer: 9,
                alpha: 1.0,
            }],
            ..Default::default()
        };
        let mut out = YuvFrame::blank(frame.format);
        assert!(engine.process(&frame.data, &plan, &mut out.data).is_err());
    }
}

/// Every pass of a §9 frame in one plan (feathered spotlight, paint, text, crop) against
/// the CPU chain.
#[test]
fn a_full_v2_plan_matches_cpu() {
    use reelgpu::effects::label::band_from_rgba8;
    let ctx = common::gpu();
    let frame = random_frame(333, 187, ColorSpec::default(), 99);
    let mut rgba = vec![0u8; 333 * 187 * 4];
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i % 333, i / 333);
        if (120..160).contains(&y) && (30..300).contains(&x) {
            px.copy_from_slice(&[255, (x % 256) as u8, 40, if x % 7 == 0 { 255 } else { 150 }]);
        }
    }
    let layers = vec![band_from_rgba8(&frame.format, &rgba)];
    assert_eq!((layers[0].y0, layers[0].y1), (120, 160));
    let mut engine =
        FrameEngine::new(ctx, frame.format, Some((90, 160)), BlurQuality::Exact).unwrap();
    engine.set_text_layers(&layers).unwrap();
    let plan = FramePlan {
        ellipses: random_ellipses(333, 187, 2, 77),
        effect: EffectType::Spotlight,
        paint: random_paint_ops(333, 187, 6, 8),
        texts: vec![TextDraw {
            layer: 0,
            alpha: 0.7,
        }],
        crop: Some(CropRect {
            x: 120,
            y: 0,
            width: 105,
            height: 187,
        }),
        ..Default::default()
    };
    let gpu = run(&mut engine, &frame, &plan);
    let cpu = reference::overlay::apply_all(&frame, &plan, (90, 160), BlurQuality::Exact, &layers);
    let d = diff_u8(&gpu.data, &cpu.data);
    // the crop's Lanczos in f32 on the GPU vs f64 on the CPU: as in overlay_then_crop
    assert!(d.max_abs <= 2.0, "full v2 plan: {d}");
}

/// rotate.wgsl against its CPU reference (written from the definition): rotations 0, ±5°,
/// 90° and −3°, crops inside, touching the rotated frame's corner and past the frame (where
/// the output turns black), up- and downscaling, odd sizes. Tolerance: 2 levels (f32 sin/cos
/// and sums on the GPU, f64 on the CPU).
#[test]
fn rotated_crop_matches_cpu() {
    use reelgpu::job::timeline::Rotated;
    let ctx = common::gpu();
    type Case = ((u32, u32), f64, CropRect, (u32, u32));
    let cases: [Case; 7] = [
        (
            (333, 187),
            0.0,
            CropRect {
                x: 120,
                y: 0,
                width: 105,
                height: 187,
            },
            (90, 160),
        ),
        (
            (333, 187),
            5.0,
            CropRect {
                x: 100,
                y: 10,
                width: 90,
                height: 160,
            },
            (90, 160),
        ),
        (
            (333, 187),
            -5.0,
            CropRect {
                x: 130,
                y: 5,
                width: 100,
                height: 178,
            },
            (54, 96),
        ),
        // the crop's corner at the frame's corner: the rotated frame's corner is inside it
        (
            (333, 187),
            5.0,
            CropRect {
                x: 0,
                y: 0,
                width: 105,
                height: 187,
            },
            (90, 160),
        ),
        (
            (64, 36),
            90.0,
            CropRect {
                x: 14,
                y: 0,
                width: 36,
                height: 36,
            },
            (36, 36),
        ),
        (
            (17, 9),
            -3.0,
            CropRect {
                x: 3,
                y: 0,
                width: 9,
                height: 9,
            },
            (8, 8),
        ),
        (
            (333, 187),
            -3.0,
            CropRect {
                x: 40,
                y: 20,
                width: 60,
                height: 100,
            },
            (120, 200),
        ),
    ];
    for (i, ((w, h), degrees, crop, (ow, oh))) in cases.into_iter().enumerate() {
        let frame = random_frame(w, h, SPECS[i % 2], 80 + i as u64);
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, Some((ow, oh)), BlurQuality::Fast).unwrap();
        let r = Rotated { crop, degrees };
        let plan = FramePlan {
            rotated: Some(r),
            ..Default::default()
        };
        let gpu = run(&mut engine, &frame, &plan);
        let cpu = reference::rotate::rotate_crop(&frame, &r, ow, oh);
        let d = diff_u8(&gpu.data, &cpu.data);
        assert!(
            d.max_abs <= 2.0 && d.mean_abs < 0.1,
            "case {i} ({degrees}°): {d}"
        );
    }
}

/// The rotation's geometry: 90° counter-clockwise of a square frame, uncropped, is an exact
/// transposition (output (x, y) = source (w − 1 − y, x)); at 0° the rotated crop equals the
/// separable crop pass; past the frame the output is black.
#[test]
fn rotation_geometry_is_exact() {
    use reelgpu::job::timeline::Rotated;
    let ctx = common::gpu();
    let frame = random_frame(64, 64, ColorSpec::default(), 5);
    let full = CropRect {
        x: 0,
        y: 0,
        width: 64,
        height: 64,
    };
    let mut engine =
        FrameEngine::new(ctx.clone(), frame.format, Some((64, 64)), BlurQuality::Fast).unwrap();
    let plan = FramePlan {
        rotated: Some(Rotated {
            crop: full,
            degrees: 90.0,
        }),
        ..Default::default()
    };
    let out = run(&mut engine, &frame, &plan);
    for y in 0..64usize {
        for x in 0..64usize {
            let src = frame.data[x * 64 + (63 - y)];
            assert!(
                (out.data[y * 64 + x] as i32 - src as i32).abs() <= 1,
                "({x}, {y}): {} vs {src}",
                out.data[y * 64 + x]
            );
        }
    }
    // 0°: the same as the crop pass
    let frame = random_frame(333, 187, ColorSpec::default(), 6);
    let crop = CropRect {
        x: 50,
        y: 7,
        width: 101,
        height: 180,
    };
    let mut engine = FrameEngine::new(
        ctx.clone(),
        frame.format,
        Some((90, 160)),
        BlurQuality::Fast,
    )
    .unwrap();
    let rotated = run(
        &mut engine,
        &frame,
        &FramePlan {
            rotated: Some(Rotated { crop, degrees: 0.0 }),
            ..Default::default()
        },
    );
    let cropped = run(
        &mut engine,
        &frame,
        &FramePlan {
            crop: Some(crop),
            ..Default::default()
        },
    );
    let d = diff_u8(&rotated.data, &cropped.data);
    assert!(d.max_abs <= 1.0, "0° rotated crop vs crop: {d}");
    // 45° of a wide frame: the crop's corner lies outside the rotated frame: black there
    let black = run(
        &mut engine,
        &frame,
        &FramePlan {
            rotated: Some(Rotated {
                crop: CropRect {
                    x: 0,
                    y: 0,
                    width: 101,
                    height: 180,
                },
                degrees: 45.0,
            }),
            ..Default::default()
        },
    );
    let luma_black = ColorSpec::default().range.luma_black() as u8;
    assert_eq!(black.data[0], luma_black, "top-left corner");
    let cb = black.plane(1)[0];
    assert_eq!(cb, 128);
}

/// mix.wgsl against its CPU reference: fades toward black and dissolves at odd sizes.
#[test]
fn transitions_match_cpu() {
    use reelgpu::job::timeline::Mix;
    let ctx = common::gpu();
    for (i, (w, h)) in [(90u32, 160u32), (17, 9), (2, 2)].into_iter().enumerate() {
        let frame = random_frame(w + 10, h + 4, ColorSpec::default(), 90 + i as u64);
        let other = random_frame(w, h, ColorSpec::default(), 95 + i as u64);
        let (ow, oh) = ((w & !1).max(2), (h & !1).max(2));
        let mut engine =
            FrameEngine::new(ctx.clone(), frame.format, Some((ow, oh)), BlurQuality::Fast).unwrap();
        let other = YuvFrame::new(
            FrameFormat::new(ow, oh, ColorSpec::default()),
            other.data[..FrameFormat::new(ow, oh, ColorSpec::default()).frame_bytes()].to_vec(),
        );
        let crop = CropRect {
            x: 3,
            y: 1,
            width: w,
            height: h,
        };
        for mix in [Mix::Black { level: 0.3 }, Mix::Other { weight: 0.6 }] {
            let plan = FramePlan {
                crop: Some(crop),
                mix: Some(mix),
                ..Default::default()
            };
            let mut out = YuvFrame::blank(engine.plan_output(&plan));
            engine
                .process_with(&frame.data, &other.data, &plan, &mut out.data)
                .unwrap();
            let cpu = reference::overlay::apply_full(
                &frame,
                &plan,
                (ow, oh),
                BlurQuality::Exact,
                &[],
                Some(&other),
            );
            let d = diff_u8(&out.data, &cpu.data);
            assert!(d.max_abs <= 2.0, "{w}x{h} {mix:?}: {d}");
        }
    }
}

/// nn.wgsl's portable convolution (the one both networks run) against its CPU definition on
/// every shape the cooperative-matrix form is compared on at start-up and more (stride 2 on
/// odd sizes, views at channel offsets, borders, residuals, 1×1 maps), f32 and f16 storage;
/// the whole destination buffer is compared, so the channels a view leaves alone must stay.
/// Tolerance: 1e-5 of the largest value in f32, 1e-2 in f16 (inputs, weights and outputs
/// rounded to 11 bits).
#[test]
fn the_networks_convolution_matches_its_cpu_definition() {
    use reelgpu::nn::Precision;
    use reelgpu::nn::coop::{CHECK_SHAPES, CaseShape, ConvCase};
    use reelgpu::nn::{PRELU, RESIDUAL, SILU, conv_groups};
    let ctx = common::gpu();
    let mut shapes = CHECK_SHAPES.to_vec();
    shapes.extend([
        CaseShape {
            conv: (5, 9, 3, 2),
            src: (1, 1, 5, 0, 0),
            dst: (9, 0, 0),
            flags: SILU,
            residual: 0,
        },
        CaseShape {
            conv: (24, 8, 1, 1),
            src: (17, 5, 64, 40, 0),
            dst: (64, 8, 0),
            flags: RESIDUAL,
            residual: 16,
        },
        CaseShape {
            conv: (64, 48, 3, 1),
            src: (7, 3, 64, 0, 1),
            dst: (48, 0, 1),
            flags: PRELU,
            residual: 0,
        },
    ]);
    for p in [Precision::F32, Precision::F16] {
        let k = ctx.nn_kernels(p).unwrap();
        for (n, shape) in shapes.iter().enumerate() {
            let case = ConvCase::random(*shape, 40 + n as u64);
            let mut want = case.dst.clone();
            reference::nn::conv(&case.u, &case.params, &case.src, &mut want);
            let (w, h, cout) = (case.u.dst[0], case.u.dst[1], case.u.shape[1]);
            let got = case
                .run(&ctx, k.conv(case.u.shape[2]), conv_groups(w, h, cout), p)
                .unwrap();
            let scale = want.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs() / scale)
                .fold(0.0f32, f32::max);
            let tol = if p == Precision::F32 { 1e-5 } else { 1e-2 };
            assert!(worst < tol, "{} {shape:?}: {worst}", p.name());
        }
    }
}

/// The tone-mapping pass (HDR to SDR, contract §17) against its f64 CPU reference on random
/// 10-bit frames (limited-range codes and some beyond) at odd and tiny sizes, PQ at two peaks
/// and HLG: every sample within one code. §17's grey steps, on the GPU, within one code of
/// the table.
#[test]
fn tone_mapping_matches_its_cpu_reference() {
    use reelgpu::color::HdrTransfer;
    use reelgpu::effects::tonemap::ToneMapper;
    use reelgpu::reference::hdr::{Frame10, map_frame};
    let ctx = common::gpu();
    let frame_of = |w: u32, h: u32, f: &dyn Fn(usize, usize) -> u16| -> Vec<u16> {
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let n = (w * h) as usize;
        (0..n + 2 * cw * ch).map(|i| f(i, n)).collect()
    };
    let bytes = |v: &[u16]| -> Vec<u8> { v.iter().flat_map(|s| s.to_le_bytes()).collect() };
    for (w, h) in [(97u32, 53u32), (2, 2), (64, 36)] {
        let mut rng = SplitMix::new((w * 7 + h) as u64);
        let samples = frame_of(w, h, &|_, _| 0);
        let samples: Vec<u16> = samples
            .iter()
            .map(|_| 40 + (rng.next_u64() % 960) as u16)
            .collect();
        let n = (w * h) as usize;
        let c = (w.div_ceil(2) * h.div_ceil(2)) as usize;
        let f = Frame10 {
            w,
            h,
            y: &samples[..n],
            u: &samples[n..n + c],
            v: &samples[n + c..],
        };
        for (t, peak) in [
            (HdrTransfer::Pq, 1000.0),
            (HdrTransfer::Pq, 4000.0),
            (HdrTransfer::Hlg, 1000.0),
        ] {
            let mut m = ToneMapper::new(ctx.clone(), w, h, t, peak).unwrap();
            let mut got = YuvFrame::blank(m.format());
            m.map(&bytes(&samples), &mut got).unwrap();
            let want = map_frame(&f, t, peak);
            let d = diff_u8(&got.data, &want.data);
            assert!(d.max_abs <= 1.0, "{w}x{h} {t:?} {peak}: {d:?}");
        }
    }
    // §17's HLG grey steps on the GPU
    let steps: [f64; 8] = [0.0, 0.25, 0.38, 0.5, 0.6, 0.75, 0.9, 1.0];
    let want = [16u8, 77, 109, 138, 162, 200, 229, 235];
    let (w, h) = (16u32, 2u32);
    let grey = frame_of(w, h, &|i, n| {
        if i < n {
            (64.0 + 876.0 * steps[(i % w as usize) / 2]).round() as u16
        } else {
            512
        }
    });
    let mut m = ToneMapper::new(ctx, w, h, HdrTransfer::Hlg, 1000.0).unwrap();
    let mut out = YuvFrame::blank(m.format());
    m.map(&bytes(&grey), &mut out).unwrap();
    for (k, want) in want.iter().enumerate() {
        let got = out.plane(0)[k * 2];
        assert!(
            (got as i32 - *want as i32).abs() <= 1,
            "step {k}: {got} vs {want}"
        );
        let (u, v) = (out.plane(1)[k], out.plane(2)[k]);
        assert!(
            u.abs_diff(128) <= 1 && v.abs_diff(128) <= 1,
            "step {k}: grey {u} {v}"
        );
    }
}
