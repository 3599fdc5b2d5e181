//! Golden images: a generated test card through each effect and combinations (§5 and §9),
//! compared with
//! `golden/*.png` (PSNR >= 45 dB and max |err| <= 12) and, independently, with the all-CPU
//! reference chain, so a golden is never just "whatever this GPU produced".
//! `REELGPU_UPDATE_GOLDEN=1 cargo test --test golden` rewrites them.

mod common;

use reelgpu::color::ColorSpec;
use reelgpu::effects::convert::ColorConverter;
use reelgpu::effects::text::load_layers;
use reelgpu::engine::{BlurQuality, FrameEngine};
use reelgpu::frame::{FrameFormat, YuvFrame};
use reelgpu::job::timeline::FrameAt;
use reelgpu::job::{JobParams, JobSpec, Limits, OverlayTimeline};
use reelgpu::reference;
use reelgpu::testing::golden::{self, GOLDEN_TOLERANCE, Tolerance};
use reelgpu::testing::metrics::diff_u8;
use reelgpu::testing::pattern::{rgb_to_rgba, rgba_to_rgb, test_card};
use serde_json::{Value, json};

const W: u32 = 320;
const H: u32 = 180;

/// GPU output against the CPU chain (which uses the exact blur): the fast blur's bar.
const VS_CPU: Tolerance = Tolerance {
    min_psnr: 45.0,
    max_abs: 12.0,
};

fn render(name: &str, job: Value, frame_index: u64) {
    render_at(
        name,
        job,
        FrameAt::new(frame_index, frame_index as f64 / 25.0),
    );
}

fn render_at(name: &str, job: Value, at: FrameAt) {
    let ctx = common::gpu();
    let spec = JobSpec::from_json(&job, &Limits::default()).expect("valid job");
    let format = FrameFormat::new(W, H, ColorSpec::default());
    let (timeline, out_size, layers) = match &spec.params {
        JobParams::Overlay(p) => (
            OverlayTimeline::new(p),
            (p.output_width as u32, p.output_height as u32),
            Vec::new(),
        ),
        JobParams::OverlayV2(p) => (
            OverlayTimeline::v2(p),
            (p.output_width as u32, p.output_height as u32),
            load_layers(&p.text_layers, &format).expect("text layers"),
        ),
        _ => panic!("overlay job"),
    };
    let plan = timeline.plan(at, W, H);

    let card = test_card(W, H);
    let input = ColorConverter::new(ctx.clone(), format)
        .unwrap()
        .rgba_to_yuv(&rgb_to_rgba(&card))
        .unwrap();
    let mut engine =
        FrameEngine::new(ctx.clone(), format, Some(out_size), BlurQuality::Fast).unwrap();
    engine.set_text_layers(&layers).unwrap();
    let out_format = engine.plan_output(&plan);
    let mut out = YuvFrame::blank(out_format);
    engine.process(&input.data, &plan, &mut out.data).unwrap();
    let gpu_rgb = rgba_to_rgb(
        &ColorConverter::new(ctx, out_format)
            .unwrap()
            .yuv_to_rgba(&out)
            .unwrap(),
    );

    let cpu_in = reference::convert::rgb_to_yuv420(&card, W, H, ColorSpec::default());
    let cpu_out =
        reference::overlay::apply_all(&cpu_in, &plan, out_size, BlurQuality::Exact, &layers);
    let cpu_rgb = reference::convert::yuv420_to_rgb(&cpu_out);
    let (ow, oh) = (out_format.width, out_format.height);

    let vs_cpu = diff_u8(&gpu_rgb, &cpu_rgb);
    assert!(
        vs_cpu.psnr >= VS_CPU.min_psnr && vs_cpu.max_abs <= VS_CPU.max_abs,
        "{name}: GPU vs CPU reference: {vs_cpu}"
    );
    let vs_golden =
        golden::check(name, &gpu_rgb, ow, oh, GOLDEN_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    // The golden itself must agree with the CPU reference.
    let (g, _, _) = golden::read_png(&golden::golden_path(name)).unwrap();
    let golden_vs_cpu = diff_u8(&g, &cpu_rgb);
    assert!(
        golden_vs_cpu.psnr >= VS_CPU.min_psnr,
        "{name}: golden vs CPU reference: {golden_vs_cpu}"
    );
    let bytes = std::fs::metadata(golden::golden_path(name)).unwrap().len();
    assert!(
        bytes <= 64 * 1024,
        "{name}: golden is {bytes} bytes (> 64 KiB)"
    );
    eprintln!("{name}: vs golden {vs_golden}; vs CPU {vs_cpu}");
}

fn region(x: f64, y: f64, rx: f64, ry: f64, opacity: f64) -> Value {
    json!({"start_frame": 0, "end_frame": 100, "x": x, "y": y, "radius_x": rx, "radius_y": ry, "opacity": opacity})
}

#[test]
fn golden_blur_two_overlapping_regions() {
    render(
        "blur_two_regions",
        json!({"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": [
            region(130.0, 95.0, 55.0, 45.0, 1.0), region(185.0, 110.0, 45.0, 55.0, 0.5)]}}),
        10,
    );
}

#[test]
fn golden_spotlight() {
    render(
        "spotlight",
        json!({"type": "overlay", "params": {"effect_type": "spotlight", "highlight_regions": [
            region(160.5, 99.9, 40.7, 60.2, 1.0)]}}),
        0,
    );
}

#[test]
fn golden_region_touching_the_frame_edge() {
    render(
        "edge_region",
        json!({"type": "overlay", "params": {"highlight_regions": [region(8.0, 170.0, 50.0, 40.0, 0.8)]}}),
        3,
    );
}

#[test]
fn golden_crop_mid_pan() {
    // frame 10 of a pan from the left edge to the right edge: a 9:16 window mid-frame
    render(
        "crop_mid_pan",
        json!({"type": "overlay", "params": {"output_width": 90, "output_height": 160, "crop_keyframes": [
            {"frame": 0, "x": 0, "y": 0, "width": 101, "height": 180},
            {"frame": 20, "x": 219, "y": 0, "width": 101, "height": 180}]}}),
        10,
    );
}

#[test]
fn golden_spotlight_then_crop() {
    render(
        "spotlight_crop",
        json!({"type": "overlay", "params": {"effect_type": "spotlight", "output_width": 180, "output_height": 320,
            "highlight_regions": [region(150.0, 100.0, 30.0, 50.0, 1.0)],
            "crop_keyframes": [{"frame": 0, "x": 100, "y": 0, "width": 101, "height": 180}]}}),
        0,
    );
}

#[test]
fn golden_inactive_frame_is_the_input() {
    // the region ends at frame 5: frame 6 goes through untouched
    render(
        "inactive",
        json!({"type": "overlay", "params": {"highlight_regions": [
            {"start_frame": 0, "end_frame": 5, "x": 100, "y": 100, "radius_x": 30, "radius_y": 30}]}}),
        6,
    );
}

/// A §9 keyframe (pixels of the 320x180 card).
fn kf(t: f64, x: f64, y: f64, rx: f64, ry: f64) -> Value {
    json!({"time": t, "x": x, "y": y, "radiusX": rx, "radiusY": ry})
}

/// A player moving left to right over 4 s, keyframes every second, a bend in the middle.
fn moving_region() -> Value {
    json!({"start_time": 0.0, "end_time": 4.0, "keyframes": [
        kf(0.0, 60.0, 100.0, 18.0, 40.0), kf(1.0, 110.0, 90.0, 18.0, 40.0),
        {"time": 2.0, "x": 170.0, "y": 110.0, "radiusX": 20.0, "radiusY": 42.0, "color": "#FFD400"},
        kf(3.0, 230.0, 95.0, 18.0, 40.0), kf(4.0, 270.0, 100.0, 18.0, 40.0)]})
}

#[test]
fn golden_v2_body_highlight_mid_path() {
    // 1.5 s: between keyframes 1 and 2 (Catmull-Rom), dimmed outside, filled, stroked
    render_at(
        "v2_body_mid_path",
        json!({"type": "overlay", "params": {
            "overlay_settings": {"fill_enabled": true, "fill_opacity": 0.2, "stroke_width": 4, "dim_strength": 0.4},
            "highlight_regions": [moving_region()]}}),
        FrameAt::new(37, 1.5),
    );
}

#[test]
fn golden_v2_ground_highlight() {
    render_at(
        "v2_ground",
        json!({"type": "overlay", "params": {
            "overlay_settings": {"highlight_shape": "ground", "stroke_width": 6},
            "highlight_regions": [moving_region()]}}),
        FrameAt::new(50, 2.0),
    );
}

#[test]
fn golden_v2_exit_fade() {
    // 3.9 s of a region ending at 4 s: q = 0.4, every opacity × 0.16
    render_at(
        "v2_exit_fade",
        json!({"type": "overlay", "params": {
            "overlay_settings": {"dim_strength": 0.6, "stroke_width": 5},
            "highlight_regions": [moving_region()]}}),
        FrameAt::new(97, 3.9),
    );
}

#[test]
fn golden_v2_disabled_region_next_to_a_boosted_one() {
    let mut disabled = moving_region();
    disabled["enabled"] = json!(false);
    render_at(
        "v2_disabled_region",
        json!({"type": "overlay", "params": {
            "effect_type": "brightness_boost",
            "overlay_settings": {"boost_strength": 0.35},
            "highlight_regions": [disabled, {"start_time": 0.0, "end_time": 4.0,
                "keyframes": [{"time": 0.0, "x": 250, "y": 60, "radiusX": 30, "radiusY": 25, "color": "#00C8FF"},
                              {"time": 4.0, "x": 240, "y": 70, "radiusX": 30, "radiusY": 25, "color": "#00C8FF"}]}]}}),
        FrameAt::new(25, 1.0),
    );
}

#[test]
fn golden_v2_text_layer_over_a_spotlight() {
    use base64::Engine as _;
    let png = reelgpu::testing::pattern::png_bytes(
        &reelgpu::testing::pattern::caption_rgba(W, H, "GOAL  #7"),
        W,
        H,
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    // 2.9 s of a layer ending at 3 s: faded to 0.4
    render_at(
        "v2_text_layer",
        json!({"type": "overlay", "params": {
            "effect_type": "spotlight",
            "highlight_regions": [moving_region()],
            "text_layers": [{"startTime": 0.5, "endTime": 3.0, "png_base64": b64}]}}),
        FrameAt::new(72, 2.9),
    );
}

/// HDR to SDR (contract §17): an HLG test card (a grey ramp, BT.2020 primaries and
/// secondaries at 75% and full signal, skin-like tones) tone-mapped on the GPU, pinned as a
/// golden and checked against the f64 CPU reference.
#[test]
fn golden_hlg_test_card_tone_mapped() {
    use reelgpu::color::HdrTransfer;
    use reelgpu::effects::tonemap::ToneMapper;
    use reelgpu::reference::hdr::{Frame10, map_frame};
    let (w, h) = (128u32, 64u32);
    let (cw, ch) = ((w / 2) as usize, (h / 2) as usize);
    // R'G'B' (0-1, HLG signal) of pixel (x, y): the top half a ramp, the bottom colour bars
    let rgb = |x: u32, y: u32| -> [f64; 3] {
        if y < h / 2 {
            let v = x as f64 / (w - 1) as f64;
            [v, v, v]
        } else {
            let bars: [[f64; 3]; 8] = [
                [0.75, 0.75, 0.75],
                [0.75, 0.75, 0.0],
                [0.0, 0.75, 0.75],
                [0.0, 0.75, 0.0],
                [0.75, 0.0, 0.75],
                [1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0],
                [0.8, 0.6, 0.5],
            ];
            bars[(x * 8 / w) as usize]
        }
    };
    // BT.2020 non-constant luminance, 10-bit limited
    let ycc = |c: [f64; 3]| -> [f64; 3] {
        let y = 0.2627 * c[0] + 0.6780 * c[1] + 0.0593 * c[2];
        [
            64.0 + 876.0 * y,
            512.0 + 896.0 * (c[2] - y) / 1.8814,
            512.0 + 896.0 * (c[0] - y) / 1.4746,
        ]
    };
    let mut ys = vec![0u16; (w * h) as usize];
    let mut us = vec![0u16; cw * ch];
    let mut vs = vec![0u16; cw * ch];
    for y in 0..h {
        for x in 0..w {
            ys[(y * w + x) as usize] = ycc(rgb(x, y))[0].round() as u16;
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let c = ycc(rgb(2 * cx as u32, 2 * cy as u32));
            us[cy * cw + cx] = c[1].round() as u16;
            vs[cy * cw + cx] = c[2].round() as u16;
        }
    }
    let bytes: Vec<u8> = ys
        .iter()
        .chain(&us)
        .chain(&vs)
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let mut m = ToneMapper::new(common::gpu(), w, h, HdrTransfer::Hlg, 1000.0).unwrap();
    let mut out = YuvFrame::blank(m.format());
    m.map(&bytes, &mut out).unwrap();
    let got = reference::convert::yuv420_to_rgb(&out);
    golden::check("tonemap_hlg", &got, w, h, GOLDEN_TOLERANCE).unwrap();
    let want = map_frame(
        &Frame10 {
            w,
            h,
            y: &ys,
            u: &us,
            v: &vs,
        },
        HdrTransfer::Hlg,
        1000.0,
    );
    assert!(diff_u8(&out.data, &want.data).max_abs <= 1.0);
}
