//! The AI ×4 upscaler: the GPU network (sr.wgsl) against its CPU reference on random weights
//! and random crops at odd and tiny sizes, both depths, and against ncnn itself (PyPI `ncnn`,
//! CPU, in the test venv) on the shipped model.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::tmp_in;
use rand::{Rng, SeedableRng};
use reelgpu::models::{Conv, SrModel, Storage, ncnn};
use reelgpu::nn::Precision;
use reelgpu::nn::srvgg::{SrIo, SrNetwork, SrUpscaler};
use reelgpu::reference;

/// SRVGGNetCompact with random weights (scaled so activations stay in range over depth).
fn random_model(body: usize, width: usize, scale: usize, seed: u64) -> SrModel {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut convs = Vec::new();
    let mut in_ch = 3;
    for k in 0..body + 2 {
        let out = if k == body + 1 {
            3 * scale * scale
        } else {
            width
        };
        let r = (3.0 / (9.0 * in_ch as f32)).sqrt();
        convs.push(Conv {
            in_ch,
            out_ch: out,
            weights: (0..in_ch * out * 9)
                .map(|_| rng.random_range(-r..r))
                .collect(),
            bias: (0..out).map(|_| rng.random_range(-0.05..0.05)).collect(),
            prelu: (k <= body).then(|| (0..out).map(|_| rng.random_range(0.0..0.3)).collect()),
        });
        in_ch = out;
    }
    SrModel {
        name: format!("random-{body}x{width}"),
        scale,
        convs,
        storage: Storage::F32,
    }
}

fn random_rgb(w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..3 * w * h).map(|_| rng.random_range(0.0..1.0)).collect()
}

/// Both kernels: f32 everywhere, f16 storage where the adapter has shader-f16 (lavapipe has
/// it: a test that cannot run f16 fails rather than skip).
const KERNELS: [Precision; 2] = [Precision::F32, Precision::F16];

/// GPU against CPU, f32 storage: only the order of the sums differs: 1e-4 of the output's
/// range. f16 storage rounds every activation and weight to 11 significant bits (a relative
/// error of 2^-12 each, compounding over the layers; 1.9e-4 to 4.0e-4 measured): 1e-3.
fn tolerance(kernel: Precision) -> f32 {
    match kernel {
        Precision::F32 => 1e-4,
        Precision::F16 => 1e-3,
    }
}

fn gpu_run(m: &SrModel, rgb: &[f32], w: usize, h: usize) -> Vec<f32> {
    gpu_run_on(m, rgb, w, h, Precision::F32)
}

fn gpu_run_on(m: &SrModel, rgb: &[f32], w: usize, h: usize, kernel: Precision) -> Vec<f32> {
    let ctx = common::gpu();
    let net = SrNetwork::with_kernel(&ctx, m, kernel).unwrap();
    let mut up = SrUpscaler::new(&ctx, &net, (w as u32, h as u32), None, SrIo::Rgb).unwrap();
    assert_eq!(up.tiling().1, 1, "small crops run as one tile");
    let first = up.run_rgb(&ctx, rgb).unwrap();
    // the upscaler is reused frame after frame: a second run gives the same
    assert_eq!(up.run_rgb(&ctx, rgb).unwrap(), first);
    first
}

/// Largest difference relative to the reference's largest magnitude.
fn relative_error(gpu: &[f32], cpu: &[f32]) -> f32 {
    assert_eq!(gpu.len(), cpu.len());
    let scale = cpu.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    gpu.iter()
        .zip(cpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
        / scale
}

#[test]
fn gpu_matches_cpu_on_random_networks_and_crops() {
    for (body, width, scale, w, h, seed) in [
        (16, 64, 4, 19, 33, 1),
        (32, 64, 4, 8, 8, 2),
        (16, 64, 4, 1, 1, 3),
        (2, 24, 2, 13, 7, 4),
        (3, 16, 3, 6, 5, 5),
    ] {
        let m = random_model(body, width, scale, seed);
        let rgb = random_rgb(w, h, seed + 100);
        let cpu = reference::sr::run(&m, &rgb, w, h);
        assert!(cpu.iter().any(|v| *v != 0.0));
        for kernel in KERNELS {
            let gpu = gpu_run_on(&m, &rgb, w, h, kernel);
            let err = relative_error(&gpu, &cpu);
            eprintln!(
                "{body} convs x {width}, x{scale}, {w}x{h}, {}: relative error {err:.2e}",
                kernel.name()
            );
            assert!(
                err <= tolerance(kernel),
                "{body}x{width} x{scale} at {w}x{h}, {}: {err}",
                kernel.name()
            );
        }
    }
}

#[test]
fn fp16_weights_load_and_match_the_cpu_on_the_same_weights() {
    let m = random_model(4, 32, 4, 7);
    let p = tmp_in("sr", "random16.param");
    ncnn::write(&m, &p, Storage::F16).unwrap();
    let m16 = ncnn::load(&p).unwrap();
    let (w, h) = (11, 9);
    let rgb = random_rgb(w, h, 8);
    let err = relative_error(
        &gpu_run(&m16, &rgb, w, h),
        &reference::sr::run(&m16, &rgb, w, h),
    );
    assert!(err <= tolerance(Precision::F32), "{err}");
}

/// A crop of a generated test frame, planar RGB 0–1.
fn frame_crop(w: usize, h: usize) -> Vec<f32> {
    let path = tmp_in("sr", "frame.rgb");
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=1",
            "-frames:v",
            "1",
        ])
        .args([
            "-vf",
            &format!("crop={w}:{h}:100:40"),
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).unwrap();
    let mut rgb = vec![0f32; 3 * w * h];
    for (i, px) in bytes.chunks_exact(3).enumerate() {
        for c in 0..3 {
            rgb[c * w * h + i] = px[c] as f32 / 255.0;
        }
    }
    rgb
}

fn python() -> PathBuf {
    std::env::var_os("REELGPU_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python"))
}

/// ncnn's own output for `model` on `rgb`.
fn ncnn_run(param: &Path, rgb: &[f32], w: usize, h: usize, s: usize) -> Vec<f32> {
    let (src, dst) = (tmp_in("sr", "in.f32"), tmp_in("sr", "out.f32"));
    std::fs::write(&src, bytemuck::cast_slice(rgb)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/ncnn_sr.py");
    let out = Command::new(python())
        .arg(script)
        .arg(param)
        .arg(&src)
        .args([w.to_string(), h.to_string()])
        .arg(&dst)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/test.sh installs ncnn in .venv-test)",
                python().display()
            )
        });
    assert!(
        out.status.success(),
        "ncnn: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&dst).unwrap();
    let v: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
    assert_eq!(v.len(), 3 * w * h * s * s);
    v
}

/// Luma PSNR (BT.709 weights on 0–255, clamped) inside a `border`-pixel margin.
fn luma_psnr(a: &[f32], b: &[f32], w: usize, h: usize, border: usize) -> f64 {
    let luma = |v: &[f32], x: usize, y: usize| {
        let c = |k: usize| (v[(k * h + y) * w + x] * 255.0).clamp(0.0, 255.0) as f64;
        0.2126 * c(0) + 0.7152 * c(1) + 0.0722 * c(2)
    };
    let (mut se, mut n) = (0.0, 0.0);
    for y in border..h - border {
        for x in border..w - border {
            se += (luma(a, x, y) - luma(b, x, y)).powi(2);
            n += 1.0;
        }
    }
    let mse = se / n;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64.powi(2) / mse).log10()
    }
}

#[test]
fn the_shipped_model_matches_ncnn_itself() {
    let param = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.param");
    let m = ncnn::load(&param).unwrap();
    let (w, h) = (40, 36);
    let rgb = frame_crop(w, h);
    let theirs = ncnn_run(&param, &rgb, w, h, 4);
    let gpu = gpu_run(&m, &rgb, w, h);
    let cpu = reference::sr::run(&m, &rgb, w, h);
    let (ow, oh) = (w * 4, h * 4);
    let f16_db = luma_psnr(
        &gpu_run_on(&m, &rgb, w, h, Precision::F16),
        &theirs,
        ow,
        oh,
        16,
    );
    eprintln!("luma PSNR against ncnn, f16 kernel: {f16_db:.1} dB");
    assert!(f16_db >= 40.0, "f16 {f16_db} dB");
    let gpu_db = luma_psnr(&gpu, &theirs, ow, oh, 16);
    let cpu_db = luma_psnr(&cpu, &theirs, ow, oh, 16);
    let whole = luma_psnr(&gpu, &theirs, ow, oh, 0);
    // and the network does something: the plain nearest upsample is far from it
    let nearest: Vec<f32> = (0..3 * ow * oh)
        .map(|i| {
            let (c, y, x) = (i / (ow * oh), (i / ow) % oh, i % ow);
            rgb[(c * h + y / 4) * w + x / 4]
        })
        .collect();
    let nearest_db = luma_psnr(&nearest, &theirs, ow, oh, 16);
    eprintln!(
        "luma PSNR against ncnn: GPU {gpu_db:.1} dB (whole frame {whole:.1}), CPU reference \
         {cpu_db:.1} dB; nearest upsample {nearest_db:.1} dB"
    );
    assert!(
        gpu_db >= 40.0 && cpu_db >= 40.0,
        "GPU {gpu_db} dB, CPU {cpu_db} dB"
    );
    assert!(nearest_db < gpu_db - 10.0, "nearest {nearest_db} dB");
}

#[test]
fn a_tiled_crop_matches_the_whole_crop_on_the_gpu() {
    let ctx = common::gpu();
    let m = random_model(3, 16, 4, 11);
    let (w, h) = (29, 23);
    let rgb = random_rgb(w, h, 12);
    for kernel in KERNELS {
        let net = SrNetwork::with_kernel(&ctx, &m, kernel).unwrap();
        let whole = gpu_run_on(&m, &rgb, w, h, kernel);
        // tiles of 8 and 12 (corners, edges and the middle all of different sizes, each
        // following one of another size in the same buffers) give the whole crop's result
        for tile in [8, 12] {
            let mut tiled =
                SrUpscaler::new(&ctx, &net, (w as u32, h as u32), Some(tile), SrIo::Rgb).unwrap();
            assert!(tiled.tiling().1 > 3, "{:?}", tiled.tiling());
            let got = tiled.run_rgb(&ctx, &rgb).unwrap();
            let err = relative_error(&got, &whole);
            assert!(err <= 1e-6, "tile {tile}, {}: {err}", kernel.name());
        }
    }
}

/// The engine's upscale pass (crop at the source's resolution, the network from and to YUV,
/// Lanczos to the output) against the CPU references chained: `crop_resize` to the network's
/// input, `upscale_yuv`, `crop_resize` to the output (and `rotate_crop` first for a rotated
/// crop). Random frames and weights at odd and tiny sizes (the network's input is even, as
/// the reel makes it), tiled and whole, BT.601 limited
/// and BT.709 full. Tolerance: the chain quantises to 8 bits twice, and one sample's
/// rounding that flips between f32 and f64 moves the network's input by 1/255: at most 2
/// levels anywhere, 0.05 on average (measured: 1 level at one sample in six cases).
#[test]
fn the_upscale_pass_matches_the_cpu_chain() {
    use reelgpu::color::{ColorMatrix, ColorRange, ColorSpec};
    use reelgpu::engine::{BlurQuality, FrameEngine, UpscaleSpec};
    use reelgpu::frame::YuvFrame;
    use reelgpu::job::timeline::{CropRect, FramePlan, Rotated};
    use reelgpu::testing::metrics::diff_u8;
    use reelgpu::testing::pattern::random_frame;
    let ctx = common::gpu();
    let rect = |x, y, width, height| CropRect {
        x,
        y,
        width,
        height,
    };
    // (frame, crop, network input, output, rotation, tile, model)
    #[rustfmt::skip]
    let cases = [
        ((23, 17), rect(0, 0, 23, 17), (24, 18), (96, 72), 0.0, None, (3, 16, 4)),
        ((40, 30), rect(5, 3, 9, 15), (10, 16), (40, 64), 0.0, Some(8), (4, 16, 4)),
        ((40, 30), rect(11, 4, 7, 13), (10, 16), (30, 48), 0.0, None, (2, 8, 4)),
        ((31, 29), rect(1, 2, 1, 1), (2, 2), (8, 8), 0.0, None, (2, 8, 4)),
        ((48, 40), rect(12, 6, 16, 24), (16, 24), (40, 60), -3.0, None, (2, 16, 4)),
        ((33, 21), rect(4, 2, 13, 11), (14, 12), (28, 24), 0.0, None, (2, 16, 2)),
    ];
    let specs = [
        ColorSpec {
            matrix: ColorMatrix::Bt601,
            range: ColorRange::Limited,
        },
        ColorSpec {
            matrix: ColorMatrix::Bt709,
            range: ColorRange::Full,
        },
    ];
    for (k, ((w, h), crop, input, (ow, oh), degrees, tile, (body, width, scale))) in
        cases.into_iter().enumerate()
    {
        let m = random_model(body, width, scale, 40 + k as u64);
        let frame = random_frame(w, h, specs[k % 2], 60 + k as u64);
        // f32 and f16 storage in turn
        let kernel = KERNELS[k % 2];
        // the last convolution writing YUV itself (sr_conv_to_yuv) in cases 0, 1 and 4, RGB
        // then sr_to_yuv in 2 and 3 (case 5 is x2, which always goes through RGB)
        let mut net = SrNetwork::with_kernel(&ctx, &m, kernel).unwrap();
        net.fuse_yuv = (k / 2) % 2 == 0;
        let net = std::sync::Arc::new(net);
        let spec = UpscaleSpec { net, input, tile };
        let mut engine = FrameEngine::with_upscaler(
            ctx.clone(),
            frame.format,
            (ow, oh),
            BlurQuality::Fast,
            spec,
        )
        .unwrap();
        let mut plan = FramePlan {
            upscale: true,
            ..Default::default()
        };
        let (iw, ih) = input;
        let net_in = if degrees == 0.0 {
            plan.crop = Some(crop);
            reference::resize::crop_resize(&frame, &crop, iw, ih)
        } else {
            let r = Rotated { crop, degrees };
            plan.rotated = Some(r);
            reference::rotate::rotate_crop(&frame, &r, iw, ih)
        };
        let up = reference::sr::upscale_yuv(&m, &net_in);
        let (uw, uh) = (up.format.width, up.format.height);
        let cpu = reference::resize::crop_resize(&up, &rect(0, 0, uw, uh), ow, oh);
        let mut gpu = YuvFrame::blank(engine.plan_output(&plan));
        engine.process(&frame.data, &plan, &mut gpu.data).unwrap();
        let d = diff_u8(&gpu.data, &cpu.data);
        eprintln!("case {k} ({}): {d}", kernel.name());
        assert!(
            d.max_abs <= 2.0 && d.mean_abs <= 0.05,
            "case {k} ({}): {d}",
            kernel.name()
        );
        // and the network did something the plain resize would not
        let plain = reference::resize::crop_resize(&net_in, &rect(0, 0, iw, ih), ow, oh);
        assert!(diff_u8(&plain.data, &cpu.data).mean_abs > 1.0, "case {k}");
        assert_eq!(engine.network_time().0, 1);
    }
}

/// An engine made with the upscaler refuses a plan that does not upscale, and one without
/// it a plan that does: neither writes a frame of the wrong size.
#[test]
fn upscaling_plans_and_engines_must_agree() {
    use reelgpu::engine::{BlurQuality, FrameEngine, UpscaleSpec};
    use reelgpu::job::timeline::{CropRect, FramePlan};
    use reelgpu::testing::pattern::random_frame;
    let ctx = common::gpu();
    let m = random_model(1, 8, 4, 90);
    let frame = random_frame(16, 16, Default::default(), 91);
    let crop = CropRect {
        x: 0,
        y: 0,
        width: 8,
        height: 8,
    };
    let spec = UpscaleSpec {
        net: std::sync::Arc::new(SrNetwork::new(&ctx, &m)),
        input: (8, 8),
        tile: None,
    };
    let mut with =
        FrameEngine::with_upscaler(ctx.clone(), frame.format, (32, 32), BlurQuality::Fast, spec)
            .unwrap();
    let mut without =
        FrameEngine::new(ctx.clone(), frame.format, Some((32, 32)), BlurQuality::Fast).unwrap();
    let mut plan = FramePlan {
        crop: Some(crop),
        ..Default::default()
    };
    let mut out = vec![0u8; with.plan_output(&plan).frame_bytes()];
    let e = with.process(&frame.data, &plan, &mut out).unwrap_err();
    assert!(e.to_string().contains("does not say upscale"), "{e}");
    plan.upscale = true;
    let e = without.process(&frame.data, &plan, &mut out).unwrap_err();
    assert!(e.to_string().contains("without the network"), "{e}");
    with.process(&frame.data, &plan, &mut out).unwrap();
}

/// The cooperative-matrix kernel is used only where the device has it and it agrees with the
/// portable kernel on the device. No adapter here has the extension, so the networks run on
/// the portable kernel and say so; and the start-up comparison refuses a kernel that does not
/// compute the convolution (here the portable pipeline dispatched as the cooperative one,
/// which leaves most of each output unwritten), naming the value that differs.
#[test]
fn cooperative_matrices_are_used_only_when_they_agree_on_the_device() {
    use reelgpu::gpu::pipelines::CoopKernel;
    use reelgpu::nn::coop;
    let ctx = common::gpu();
    for kernel in KERNELS {
        assert!(coop::for_device(&ctx, kernel).is_none());
        let net = SrNetwork::with_kernel(&ctx, &random_model(2, 16, 4, 3), kernel).unwrap();
        assert!(net.coop.is_none() && net.coop_any.is_none());
        assert_eq!(net.kernel_name(), kernel.name());
        // a kernel with the cooperative one's bindings that does not convolve: it scales the
        // input by the first parameter, one value per invocation, so most of the output is
        // left as it was
        let header = match kernel {
            Precision::F32 => "alias act = f32;\n",
            Precision::F16 => "enable f16;\nalias act = f16;\n",
        };
        let source = format!(
            "{header}
struct CoopLayer {{ width: u32, height: u32, cin: u32, cin_stride: u32, cout_stride: u32,
    w_off: u32, b_off: u32, p_off: u32 }};
@group(0) @binding(0) var<uniform> layer: CoopLayer;
@group(0) @binding(1) var<storage, read> src: array<act>;
@group(0) @binding(2) var<storage, read_write> dst: array<act>;
@group(0) @binding(3) var<storage, read> params: array<act>;
@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {{
    let i = g.x + layer.width * 0u;
    if (i < arrayLength(&dst)) {{
        dst[i] = src[i % arrayLength(&src)] * params[0];
    }}
}}"
        );
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("not a convolution"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let conv = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("not a convolution"),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        let wrong = CoopKernel {
            side: 16,
            conv: conv.clone(),
            any: conv,
        };
        // the general form's comparison (the detector's layers) refuses it too
        let e = coop::verify_any(&ctx, &wrong.any, 16, kernel).unwrap_err();
        assert!(
            e.contains("on cooperative matrices") && e.contains("3x3/2 3->24"),
            "{e}"
        );
        assert!(coop::any_for_device(&ctx, kernel).is_none());
        let e = coop::verify(&ctx, &wrong, kernel).unwrap_err();
        assert!(
            e.contains("on cooperative matrices") && e.contains("64->64"),
            "{e}"
        );
    }
}
