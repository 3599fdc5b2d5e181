//! The 3×3 convolution over bordered tensors on cooperative matrices (nn_coop.wgsl; Vulkan
//! `VK_KHR_cooperative_matrix`, NVIDIA's tensor cores), beside nn.wgsl's portable
//! `nn_conv3`, which it replaces layer by layer: its uniform ([`CoopLayer`], and the same
//! layer for the portable kernel, [`CoopLayer::portable`]), which layers it takes
//! ([`layer_fits`]; the matrix shape an adapter offers is
//! [`crate::gpu::pipelines::coop_side`]), its dispatch ([`groups`]), the same index
//! arithmetic on the CPU ([`conv_cells`], tested against the CPU reference here, where no
//! adapter has the extension), and the start-up comparison with the portable kernel on a
//! small random layer ([`verify`]) that decides whether a device uses it.

use super::ConvUniform;
use crate::gpu::GpuContext;
use crate::gpu::buffers::{Readback, bind, storage, uniform};
use crate::gpu::pipelines::{CoopKernel, Precision};

/// nn_coop.wgsl `CoopLayer`: a 3×3 stride-1 convolution from a bordered `width × height`
/// tensor of `cin_stride` channels per pixel to another of `cout_stride` (the packed output
/// channels, a multiple of 8), with nn.wgsl's packed parameters.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CoopLayer {
    pub width: u32,
    pub height: u32,
    pub cin: u32,
    pub cin_stride: u32,
    pub cout_stride: u32,
    pub w_off: u32,
    pub b_off: u32,
    /// `u32::MAX` when the layer has no PReLU.
    pub p_off: u32,
}

impl CoopLayer {
    /// The same layer for nn.wgsl's `nn_conv3`: bordered source and destination, every
    /// packed output channel written (the padding ones are zero).
    pub fn portable(&self) -> ConvUniform {
        let prelu = self.p_off != u32::MAX;
        ConvUniform {
            src: [self.width, self.height, self.cin_stride, 0],
            dst: [self.width, self.height, self.cout_stride, 0],
            shape: [self.cin, self.cout_stride, 3, 1],
            params: [self.w_off, self.b_off, if prelu { 4 } else { 0 }, 0],
            more: [if prelu { self.p_off } else { 0 }, 1, 1, 0],
        }
    }
}

/// Most output channels per layer (nn_coop.wgsl `COOP_MAX_OUT`: its workgroup tile).
pub const COOP_MAX_OUT: u32 = 64;
/// Invocations per workgroup (nn_coop.wgsl `COOP_WG`: one subgroup).
pub const COOP_WG: u32 = 32;
/// Cells past the bordered grid the kernel may read or write (the last workgroup's overhang):
/// the activation buffers carry them.
pub const COOP_SLACK_CELLS: u64 = 18;
/// Largest workgroup count of one dispatch dimension.
const MAX_GROUPS: u32 = 65_535;

/// Whether the kernel with matrices of `side` takes a layer: input channels densely stored
/// in whole blocks, output channels in whole blocks up to [`COOP_MAX_OUT`] (SRVGGNetCompact's
/// body convolutions and its last one; not the first, with 3 inputs).
pub fn layer_fits(l: &CoopLayer, side: u32) -> bool {
    l.cin == l.cin_stride
        && l.cin.is_multiple_of(side)
        && l.cout_stride.is_multiple_of(side)
        && l.cout_stride <= COOP_MAX_OUT
        && l.cin > 0
}

/// Cells of a `width x height` bordered grid the kernel computes: from (1, 1) to the last
/// cell of row `height`.
fn flat_cells(width: u32, height: u32) -> u32 {
    height * (width + 2) - 1
}

/// Workgroups for one layer on a `width x height` tile: one per `side` cells, laid out 2-D
/// when there are more than one dimension allows.
pub fn groups(width: u32, height: u32, side: u32) -> (u32, u32) {
    let n = flat_cells(width, height).div_ceil(side);
    if n <= MAX_GROUPS {
        (n, 1)
    } else {
        (MAX_GROUPS, n.div_ceil(MAX_GROUPS))
    }
}

/// nn_coop.wgsl's `sr_conv_coop` on the CPU, workgroup by workgroup, with the same offsets,
/// matrix blocks and strides: `params` the packed parameters (in scalars), `src` and `dst`
/// bordered channels-last activations (with [`COOP_SLACK_CELLS`] past the grid).
pub fn conv_cells(l: &CoopLayer, side: u32, params: &[f32], src: &[f32], dst: &mut [f32]) {
    let s = side as usize;
    let (w, h) = (l.width as usize, l.height as usize);
    let row = w + 2;
    let count = flat_cells(l.width, l.height).div_ceil(side) as usize;
    let (cs, os, cin) = (
        l.cin_stride as usize,
        l.cout_stride as usize,
        l.cin as usize,
    );
    let wbase = l.w_off as usize * 4;
    let mut tile = vec![0.0f32; s * COOP_MAX_OUT as usize];
    for t in 0..count {
        let q0 = row + 1 + t * s;
        for ob in (0..os).step_by(s) {
            // acc = 0; acc += A·B over every tap and input block (A: s cells x s channels,
            // row stride cs; B: s inputs x s outputs, row stride os)
            let mut acc = vec![0.0f32; s * s];
            for tap in 0..9 {
                let (ky, kx) = (tap / 3, tap % 3);
                let cell = q0 + ky * row + kx - row - 1;
                for ib in (0..cin).step_by(s) {
                    let ai = cell * cs + ib;
                    let bi = wbase + (tap * cin + ib) * os + ob;
                    for m in 0..s {
                        for n in 0..s {
                            let mut sum = 0.0;
                            for k in 0..s {
                                sum += src[ai + m * cs + k] * params[bi + k * os + n];
                            }
                            acc[m * s + n] += sum;
                        }
                    }
                }
            }
            for m in 0..s {
                for n in 0..s {
                    tile[ob + m * os + n] = acc[m * s + n];
                }
            }
        }
        let prelu = l.p_off != u32::MAX;
        for (e, &value) in tile.iter().enumerate().take(s * os) {
            let (p, o) = (e / os, e % os);
            let q = q0 + p;
            let (y, x) = (q / row, q % row);
            let mut v = 0.0;
            if x >= 1 && x <= w && y <= h {
                v = value + params[l.b_off as usize * 4 + o];
                if prelu && v < 0.0 {
                    v *= params[l.p_off as usize * 4 + o];
                }
            }
            dst[q * os + o] = v;
        }
        let extra = 2 * row + 1;
        let mut e0 = t * s;
        while e0 < extra {
            for e in 0..s * os {
                let k = e0 + e / os;
                if k < extra {
                    let cell = if k <= row {
                        k
                    } else {
                        (h + 1) * row + (k - row - 1)
                    };
                    dst[cell * os + e % os] = 0.0;
                }
            }
            e0 += count * s;
        }
    }
}

/// A random `cin → cout` layer (weights, bias, PReLU slopes) packed as nn.wgsl reads it, on a
/// `w x h` tile: the uniform and the parameters. Deterministic (a fixed-seed LCG).
fn random_layer(cin: u32, cout: u32, w: u32, h: u32, seed: u64) -> (CoopLayer, Vec<f32>) {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let r = (3.0 / (9.0 * cin as f32)).sqrt();
    let mut params: Vec<f32> = (0..9 * cin * cout).map(|_| next() * r).collect();
    let b_off = params.len() as u32 / 4;
    params.extend((0..cout).map(|_| next() * 0.05));
    let p_off = params.len() as u32 / 4;
    params.extend((0..cout).map(|_| next().abs() * 0.3));
    let l = CoopLayer {
        width: w,
        height: h,
        cin,
        cin_stride: cin,
        cout_stride: cout,
        w_off: 0,
        b_off,
        p_off,
    };
    (l, params)
}

/// Bordered channels-last activations of `l`'s input: random inside, zero border, slack.
fn random_input(l: &CoopLayer, seed: u64) -> Vec<f32> {
    let (w, h) = (l.width as usize, l.height as usize);
    let cs = l.cin_stride as usize;
    let mut v = vec![0.0f32; ((w + 2) * (h + 2) + COOP_SLACK_CELLS as usize) * cs];
    let mut state = seed | 1;
    for y in 1..=h {
        for x in 1..=w {
            for c in 0..cs {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                v[(y * (w + 2) + x) * cs + c] = (state >> 40) as f32 / (1u64 << 24) as f32;
            }
        }
    }
    v
}

/// Runs one layer on the device with the portable kernel and with `coop`, on the same random
/// input and weights, and compares the bordered outputs (every cell, borders included; both
/// outputs start filled with a value no cell should keep). `Err` says how they differ.
pub fn verify(ctx: &GpuContext, coop: &CoopKernel, kernel: Precision) -> Result<f32, String> {
    let portable = ctx.nn_kernels(kernel).map_err(|e| e.to_string())?;
    let mut worst = 0.0f32;
    // a body layer (with PReLU) and the last layer's shape (48 outputs, none), odd sizes
    for (n, (cin, cout, w, h, prelu)) in [(64, 64, 13, 5, true), (64, 48, 7, 3, false)]
        .into_iter()
        .enumerate()
    {
        let (mut l, params) = random_layer(cin, cout, w, h, 11 + n as u64);
        if !prelu {
            l.p_off = u32::MAX;
        }
        let input = random_input(&l, 29 + n as u64);
        let out_len = ((w as u64 + 2) * (h as u64 + 2) + COOP_SLACK_CELLS) * cout as u64;
        let elem = kernel.bytes();
        let to_bytes = |v: &[f32]| kernel.encode(v);
        let d = &ctx.device;
        let u = uniform::<CoopLayer>(d, "coop check");
        ctx.queue.write_buffer(&u, 0, bytemuck::bytes_of(&l));
        let up = uniform::<ConvUniform>(d, "coop check portable");
        ctx.queue
            .write_buffer(&up, 0, bytemuck::bytes_of(&l.portable()));
        let src = storage(d, "coop check src", input.len() as u64 * elem);
        ctx.queue.write_buffer(&src, 0, &to_bytes(&input));
        let p = storage(d, "coop check params", params.len() as u64 * elem);
        ctx.queue.write_buffer(&p, 0, &to_bytes(&params));
        let fill = to_bytes(&vec![7.0f32; out_len as usize]);
        let outs = [0, 1].map(|_| {
            let b = storage(d, "coop check dst", out_len * elem);
            ctx.queue.write_buffer(&b, 0, &fill);
            b
        });
        let g_portable = bind(
            d,
            "coop check",
            &portable.conv3,
            &[(0, &up), (1, &src), (2, &outs[0]), (3, &p)],
        );
        let g_coop = bind(
            d,
            "coop check",
            &coop.conv,
            &[(0, &u), (1, &src), (2, &outs[1]), (3, &p)],
        );
        let mut enc = d.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            let (px, py, pz) = super::conv_groups(w, h, cout);
            pass.set_pipeline(&portable.conv3);
            pass.set_bind_group(0, &g_portable, &[]);
            pass.dispatch_workgroups(px, py, pz);
            let (gx, gy) = groups(w, h, coop.side);
            pass.set_pipeline(&coop.conv);
            pass.set_bind_group(0, &g_coop, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        let grid = (w as u64 + 2) * (h as u64 + 2) * cout as u64 * elem;
        let rb = [Readback::new(d, grid), Readback::new(d, grid)];
        rb[0].copy_from(&mut enc, &outs[0], grid);
        ctx.queue.submit([enc.finish()]);
        let read = |b: &[u8]| -> Vec<f32> { kernel.decode(b, b.len() / elem as usize) };
        let a = rb[0].read(d, grid, read).map_err(|e| e.to_string())?;
        let mut enc = d.create_command_encoder(&Default::default());
        rb[1].copy_from(&mut enc, &outs[1], grid);
        ctx.queue.submit([enc.finish()]);
        let b = rb[1].read(d, grid, read).map_err(|e| e.to_string())?;
        ctx.check().map_err(|e| e.to_string())?;
        let scale = a.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let diff = (x - y).abs() / scale;
            if !diff.is_finite() || diff > 1e-2 {
                return Err(format!(
                    "layer {cin}->{cout} on {w}x{h}: value {i} is {y} on cooperative matrices, \
                     {x} on the portable kernel"
                ));
            }
            worst = worst.max(diff);
        }
    }
    Ok(worst)
}

/// The cooperative-matrix kernel a network of `kernel` storage uses on `ctx`, once
/// [`verify`] has passed on the device (`None`: the adapter has none, `REELGPU_SR_COOP=off`,
/// or the comparison failed, which is logged once).
pub fn for_device(ctx: &GpuContext, kernel: Precision) -> Option<CoopKernel> {
    let slot = match kernel {
        Precision::F32 => &ctx.kernels.coop_f32,
        Precision::F16 => &ctx.kernels.coop_f16,
    };
    let coop = slot.kernel.clone()?;
    let verdict = slot.verdict.get_or_init(|| {
        let v = verify(ctx, &coop, kernel);
        match &v {
            Ok(err) => tracing::info!(
                side = coop.side,
                storage = kernel.name(),
                relative_error = *err,
                "cooperative-matrix convolution agrees with the portable kernel: using it"
            ),
            Err(why) => tracing::warn!(
                side = coop.side,
                storage = kernel.name(),
                "cooperative-matrix convolution disabled: {why}"
            ),
        }
        v
    });
    verdict.is_ok().then_some(coop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::coop_side;
    use crate::gpu::shaders::{self, wgsl_u32_constant};

    #[test]
    fn the_host_matches_the_shader() {
        for f in [
            shaders::NN_COOP_F32_8,
            shaders::NN_COOP_F32_16,
            shaders::NN_COOP_F16_8,
            shaders::NN_COOP_F16_16,
        ] {
            assert_eq!(wgsl_u32_constant(&f, "COOP_MAX_OUT"), COOP_MAX_OUT);
            assert_eq!(wgsl_u32_constant(&f, "COOP_WG"), COOP_WG);
        }
        assert_eq!(wgsl_u32_constant(&shaders::NN_COOP_F32_8, "COOP"), 8);
        assert_eq!(wgsl_u32_constant(&shaders::NN_COOP_F16_16, "COOP"), 16);
    }

    /// Planar `cin` channels of a `w x h` tile from bordered channels-last activations.
    fn planar(v: &[f32], w: usize, h: usize, stride: usize, ch: usize) -> Vec<f32> {
        let mut out = vec![0.0; ch * w * h];
        for c in 0..ch {
            for y in 0..h {
                for x in 0..w {
                    out[(c * h + y) * w + x] = v[((y + 1) * (w + 2) + x + 1) * stride + c];
                }
            }
        }
        out
    }

    /// The kernel's arithmetic (every workgroup, block, offset and the border duties) against
    /// the CPU reference's convolution, on random layers at tiny and odd tile sizes, both
    /// matrix sides, with and without PReLU, the output starting as garbage.
    #[test]
    fn the_kernels_index_arithmetic_matches_the_cpu_reference() {
        for (side, cin, cout, w, h, prelu) in [
            (16, 64, 64, 13, 5, true),
            (16, 64, 48, 7, 3, false),
            (8, 64, 64, 1, 1, true),
            (8, 16, 24, 19, 2, true),
            (16, 32, 64, 3, 9, true),
            (8, 8, 8, 2, 1, false),
        ] {
            let (mut l, params) = random_layer(cin, cout, w, h, (w * 31 + h) as u64);
            if !prelu {
                l.p_off = u32::MAX;
            }
            assert!(layer_fits(&l, side));
            let input = random_input(&l, 5 + cout as u64);
            let (wu, hu, cu) = (w as usize, h as usize, cout as usize);
            let mut dst = vec![7.0f32; ((wu + 2) * (hu + 2) + COOP_SLACK_CELLS as usize) * cu];
            conv_cells(&l, side, &params, &input, &mut dst);
            // the reference: the same layer as a model's Conv, weights [out][in][ky][kx]
            let (ci, co) = (cin as usize, cu);
            let mut weights = vec![0.0; co * ci * 9];
            for ky in 0..3 {
                for kx in 0..3 {
                    for i in 0..ci {
                        for o in 0..co {
                            weights[((o * ci + i) * 3 + ky) * 3 + kx] =
                                params[((ky * 3 + kx) * ci + i) * co + o];
                        }
                    }
                }
            }
            let conv = crate::models::Conv {
                in_ch: ci,
                out_ch: co,
                weights,
                bias: params[l.b_off as usize * 4..][..co].to_vec(),
                prelu: prelu.then(|| params[l.p_off as usize * 4..][..co].to_vec()),
            };
            let want = crate::reference::sr::conv(&conv, &planar(&input, wu, hu, ci, ci), wu, hu);
            let got = planar(&dst, wu, hu, co, co);
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{side} {cin}->{cout} {w}x{h}: {worst}");
            // every border cell written as zero
            for y in 0..hu + 2 {
                for x in 0..wu + 2 {
                    if x == 0 || y == 0 || x == wu + 1 || y == hu + 1 {
                        for c in 0..co {
                            let v = dst[(y * (wu + 2) + x) * co + c];
                            assert_eq!(v, 0.0, "{side} {w}x{h}: border ({x}, {y}) is {v}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_broken_offset_is_caught() {
        // the same check with the B matrix read one output channel off must fail
        let (l, mut params) = random_layer(16, 16, 5, 3, 3);
        let input = random_input(&l, 4);
        let mut a = vec![7.0f32; (7 * 5 + COOP_SLACK_CELLS as usize) * 16];
        let mut b = a.clone();
        conv_cells(&l, 8, &params, &input, &mut a);
        params.rotate_left(1);
        conv_cells(&l, 8, &params, &input, &mut b);
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-3));
    }

    #[test]
    fn shapes_are_chosen_from_what_the_adapter_reports() {
        use wgpu::CooperativeMatrixProperties as P;
        use wgpu::CooperativeScalarType as T;
        let p = |s, ab, cr| P {
            m_size: s,
            n_size: s,
            k_size: s,
            ab_type: ab,
            cr_type: cr,
            saturating_accumulation: false,
        };
        // NVIDIA: f16 x f16 + f32 at 16x16x16 (and f16 accumulators)
        let nvidia = [p(16, T::F16, T::F16), p(16, T::F16, T::F32)];
        assert_eq!(coop_side(&nvidia, true), Some(16));
        assert_eq!(coop_side(&nvidia, false), None);
        // Apple (simdgroup matrices): f32 8x8
        let apple = [p(8, T::F32, T::F32)];
        assert_eq!(coop_side(&apple, false), Some(8));
        assert_eq!(coop_side(&apple, true), None);
        assert_eq!(coop_side(&[p(16, T::F16, T::F16)], true), None);
        assert_eq!(coop_side(&[], true), None);
    }

    #[test]
    fn dispatch_covers_every_cell_once() {
        for (w, h, s) in [(1, 1, 16), (13, 5, 16), (203, 360, 16), (1920, 1080, 8)] {
            let (gx, gy) = groups(w, h, s);
            assert!(gx <= MAX_GROUPS);
            let n = flat_cells(w, h).div_ceil(s);
            assert!(
                gx * gy >= n && gx * (gy - 1) < n,
                "{w}x{h}: {gx}x{gy} for {n}"
            );
        }
    }
}
