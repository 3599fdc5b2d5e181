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

/// nn_coop.wgsl's `nn_conv_coop` on the CPU, workgroup by workgroup, with the same offsets,
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

/// `nn_conv_coop_any`'s workgroups for a `w × h` output of `cout` channels: one per `side`
/// pixels (laid out 2-D when one dimension cannot hold them) by one per `side` output
/// channels.
pub fn any_groups(w: u32, h: u32, cout: u32, side: u32) -> (u32, u32, u32) {
    let n = (w * h).div_ceil(side);
    let (gx, gy) = if n <= MAX_GROUPS {
        (n, 1)
    } else {
        (MAX_GROUPS, n.div_ceil(MAX_GROUPS))
    };
    (gx, gy, cout.div_ceil(side))
}

/// nn_coop.wgsl's `nn_conv_coop_any` on the CPU, workgroup by workgroup, with the same
/// staging, matrix blocks, offsets and strides (a read past `params` gives 0, as a robust
/// read past a binding may): what [`crate::reference::nn::conv`] computes, if the kernel's
/// arithmetic is right.
pub fn conv_any_cells(u: &ConvUniform, side: u32, params: &[f32], src: &[f32], dst: &mut [f32]) {
    let s = side as usize;
    let [sw, sh, ss, so] = u.src.map(|v| v as i64);
    let [dw, dh, ds, doff] = u.dst.map(|v| v as usize);
    let [cin, cout, k, st] = u.shape.map(|v| v as usize);
    let (sb, bd) = (u.more[1] as i64, u.more[2] as usize);
    let pad = (k / 2) as i64;
    let pitch = sw + 2 * sb;
    let orow = cout.next_multiple_of(8);
    let wbase = u.params[0] as usize * 4;
    let pixels = dw * dh;
    let b_at = |i: usize| params.get(i).copied().unwrap_or(0.0);
    let (gx, gy, gz) = any_groups(dw as u32, dh as u32, cout as u32, side);
    let mut a = vec![0.0f32; s * s];
    for wz in 0..gz as usize {
        for t in 0..(gx * gy) as usize {
            if t >= pixels.div_ceil(s) {
                continue;
            }
            let (p0, ob) = (t * s, wz * s);
            let mut acc = vec![0.0f32; s * s];
            for tap in 0..k * k {
                let (ky, kx) = (tap / k, tap % k);
                for ib in (0..cin).step_by(s) {
                    for (e, slot) in a.iter_mut().enumerate() {
                        let (m, c) = (e / s, e % s);
                        let p = p0 + m;
                        *slot = 0.0;
                        if p < pixels && ib + c < cin {
                            let ix = ((p % dw) * st + kx) as i64 - pad;
                            let iy = ((p / dw) * st + ky) as i64 - pad;
                            if ix >= -sb && ix < sw + sb && iy >= -sb && iy < sh + sb {
                                let cell = (iy + sb) * pitch + ix + sb;
                                *slot = src[(cell * ss + so) as usize + ib + c];
                            }
                        }
                    }
                    let bi = wbase + (tap * cin + ib) * orow + ob;
                    for m in 0..s {
                        for n in 0..s {
                            let mut sum = 0.0;
                            for kk in 0..s {
                                sum += a[m * s + kk] * b_at(bi + kk * orow + n);
                            }
                            acc[m * s + n] += sum;
                        }
                    }
                }
            }
            for (e, &value) in acc.iter().enumerate() {
                let (p, o) = (p0 + e / s, ob + e % s);
                if p >= pixels || o >= cout {
                    continue;
                }
                let (x, y) = (p % dw, p / dw);
                let mut v = value + params[u.params[1] as usize * 4 + o];
                if u.params[2] & super::SILU != 0 {
                    v /= 1.0 + (-v).exp();
                }
                if u.params[2] & super::PRELU != 0 && v < 0.0 {
                    v *= params[u.more[0] as usize * 4 + o];
                }
                let cell = ((y + bd) * (dw + 2 * bd) + x + bd) * ds;
                if u.params[2] & super::RESIDUAL != 0 {
                    v += dst[cell + u.params[3] as usize + o];
                }
                dst[cell + doff + o] = v;
                if bd == 1 {
                    let zero = |dst: &mut [f32], gx: usize, gy: usize| {
                        dst[(gy * (dw + 2) + gx) * ds + doff + o] = 0.0;
                    };
                    for r in 0..3 {
                        let gy = match r {
                            0 => y + 1,
                            1 if y == 0 => 0,
                            2 if y + 1 == dh => dh + 1,
                            _ => continue,
                        };
                        if x == 0 {
                            zero(dst, 0, gy);
                        }
                        if x + 1 == dw {
                            zero(dst, dw + 1, gy);
                        }
                        if r != 0 {
                            zero(dst, x + 1, gy);
                        }
                    }
                }
            }
        }
    }
}

/// One convolution of the op's every form on small random buffers: the uniform, the packed
/// parameters, the source and the destination's starting contents (random, so a residual and
/// the channels a view leaves alone are checked too).
#[derive(Debug, Clone)]
pub struct ConvCase {
    pub u: ConvUniform,
    pub params: Vec<f32>,
    pub src: Vec<f32>,
    pub dst: Vec<f32>,
}

impl ConvCase {
    /// Runs the case on the device with `pipeline` (the portable kernel or a cooperative one)
    /// in `groups` workgroups, its buffers stored as `kernel`; the destination buffer after.
    pub fn run(
        &self,
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        groups: (u32, u32, u32),
        kernel: Precision,
    ) -> Result<Vec<f32>, String> {
        let d = &ctx.device;
        let u = uniform::<ConvUniform>(d, "conv case");
        ctx.queue.write_buffer(&u, 0, bytemuck::bytes_of(&self.u));
        let upload = |label, v: &[f32]| {
            let bytes = kernel.encode(v);
            let b = storage(d, label, bytes.len() as u64);
            ctx.queue.write_buffer(&b, 0, &bytes);
            b
        };
        let src = upload("conv case src", &self.src);
        let params = upload("conv case params", &self.params);
        let dst = upload("conv case dst", &self.dst);
        let group = bind(
            d,
            "conv case",
            pipeline,
            &[(0, &u), (1, &src), (2, &dst), (3, &params)],
        );
        let bytes = dst.size();
        let rb = Readback::new(d, bytes);
        let mut enc = d.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        }
        rb.copy_from(&mut enc, &dst, bytes);
        ctx.queue.submit([enc.finish()]);
        let n = self.dst.len();
        let out = rb
            .read(d, bytes, |b| kernel.decode(b, n))
            .map_err(|e| e.to_string())?;
        ctx.check().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The shape of a [`ConvCase`]: `(cin, cout, k, stride)`, the source `(w, h, stride, offset,
/// border)`, the destination's `(stride, offset, border)`, flags and the residual's offset.
#[derive(Debug, Clone, Copy)]
pub struct CaseShape {
    pub conv: (u32, u32, u32, u32),
    pub src: (u32, u32, u32, u32, u32),
    pub dst: (u32, u32, u32),
    pub flags: u32,
    pub residual: u32,
}

impl ConvCase {
    /// Random values from a fixed seed (never all zero; a bordered source's border is zero,
    /// as every bordered tensor's is).
    pub fn random(shape: CaseShape, seed: u64) -> Self {
        let mut state = seed
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(3_037_000_493);
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        let (cin, cout, k, st) = shape.conv;
        let (sw, sh, ss, so, sb) = shape.src;
        let (ds, doff, bd) = shape.dst;
        let pad = k / 2;
        let dw = (sw + 2 * pad - k) / st + 1;
        let dh = (sh + 2 * pad - k) / st + 1;
        let orow = cout.next_multiple_of(8) as usize;
        let r = (3.0 / (k * k * cin) as f32).sqrt();
        let mut params = Vec::new();
        for _ in 0..(k * k * cin) as usize {
            for o in 0..orow {
                params.push(if o < cout as usize { next() * r } else { 0.0 });
            }
        }
        let b_off = (params.len() / 4) as u32;
        params.extend((0..orow).map(|_| next() * 0.1));
        let p_off = (params.len() / 4) as u32;
        params.extend((0..orow).map(|_| next().abs() * 0.3));
        let (gw, gh) = ((sw + 2 * sb) as usize, (sh + 2 * sb) as usize);
        let mut src: Vec<f32> = (0..gw * gh * ss as usize).map(|_| next()).collect();
        if sb == 1 {
            for y in 0..gh {
                for x in 0..gw {
                    if x == 0 || y == 0 || x == gw - 1 || y == gh - 1 {
                        for c in 0..cin as usize {
                            src[(y * gw + x) * ss as usize + so as usize + c] = 0.0;
                        }
                    }
                }
            }
        }
        let cells = ((dw + 2 * bd) * (dh + 2 * bd)) as usize;
        let dst = (0..cells * ds as usize).map(|_| next()).collect();
        Self {
            u: ConvUniform {
                src: [sw, sh, ss, so],
                dst: [dw, dh, ds, doff],
                shape: [cin, cout, k, st],
                params: [0, b_off, shape.flags, shape.residual],
                more: [p_off, sb, bd, 0],
            },
            params,
            src,
            dst,
        }
    }
}

/// The layers the start-up comparison runs both forms of the convolution on: a first layer
/// (3 inputs, stride 2, SiLU) into a view, a 1×1 between views with a residual, a bordered
/// 3×3 with PReLU (the upscaler's), a 3×3 on a 1×1 map with more outputs than one block.
pub const CHECK_SHAPES: [CaseShape; 4] = [
    CaseShape {
        conv: (3, 24, 3, 2),
        src: (13, 7, 3, 0, 0),
        dst: (40, 8, 0),
        flags: super::SILU,
        residual: 0,
    },
    CaseShape {
        conv: (20, 16, 1, 1),
        src: (5, 3, 48, 20, 0),
        dst: (48, 0, 0),
        flags: super::SILU | super::RESIDUAL,
        residual: 32,
    },
    CaseShape {
        conv: (16, 40, 3, 1),
        src: (9, 4, 16, 0, 1),
        dst: (40, 0, 1),
        flags: super::PRELU,
        residual: 0,
    },
    CaseShape {
        conv: (40, 80, 3, 1),
        src: (1, 1, 40, 0, 0),
        dst: (80, 0, 0),
        flags: super::SILU,
        residual: 0,
    },
];

/// Runs [`CHECK_SHAPES`] on the device with the portable kernel and with `any`
/// (`nn_conv_coop_any` of matrices of `side`) and compares the whole destination buffers.
/// `Err` says how they differ.
pub fn verify_any(
    ctx: &GpuContext,
    any: &wgpu::ComputePipeline,
    side: u32,
    kernel: Precision,
) -> Result<f32, String> {
    let portable = ctx.nn_kernels(kernel).map_err(|e| e.to_string())?;
    let mut worst = 0.0f32;
    for (n, shape) in CHECK_SHAPES.iter().enumerate() {
        let case = ConvCase::random(*shape, 101 + n as u64);
        let (w, h, cout) = (case.u.dst[0], case.u.dst[1], case.u.shape[1]);
        let got = [
            case.run(
                ctx,
                portable.conv(case.u.shape[2]),
                super::conv_groups(w, h, cout),
                kernel,
            )?,
            case.run(ctx, any, any_groups(w, h, cout, side), kernel)?,
        ];
        let scale = got[0].iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in got[0].iter().zip(&got[1]).enumerate() {
            let diff = (x - y).abs() / scale;
            if !diff.is_finite() || diff > 1e-2 {
                let [cin, cout, k, st] = case.u.shape;
                return Err(format!(
                    "{k}x{k}/{st} {cin}->{cout}: value {i} is {y} on cooperative matrices, \
                     {x} on the portable kernel"
                ));
            }
            worst = worst.max(diff);
        }
    }
    Ok(worst)
}

/// `nn_conv_coop_any` on `ctx` for `kernel` storage, with its matrices' side, once
/// [`verify_any`] has passed on the device (`None`: no cooperative matrices, or the
/// comparison failed, which is logged once).
pub fn any_for_device(ctx: &GpuContext, kernel: Precision) -> Option<(u32, wgpu::ComputePipeline)> {
    let slot = match kernel {
        Precision::F32 => &ctx.kernels.coop_f32,
        Precision::F16 => &ctx.kernels.coop_f16,
    };
    let coop = slot.kernel.clone()?;
    let verdict = slot.any_verdict.get_or_init(|| {
        let v = verify_any(ctx, &coop.any, coop.side, kernel);
        match &v {
            Ok(err) => tracing::info!(
                side = coop.side,
                storage = kernel.name(),
                relative_error = *err,
                "cooperative-matrix convolution (any layer) agrees with the portable kernel: \
                 using it"
            ),
            Err(why) => tracing::warn!(
                side = coop.side,
                storage = kernel.name(),
                "cooperative-matrix convolution (any layer) disabled: {why}"
            ),
        }
        v
    });
    verdict.is_ok().then_some((coop.side, coop.any))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::coop_side;
    use crate::gpu::shaders::{self, wgsl_u32_constant};
    use crate::nn::{PRELU, RESIDUAL, SILU};

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

    /// More shapes than the start-up comparison's: tiny and odd maps, stride 2 on odd sizes,
    /// channel counts that are not whole blocks, views and borders both ways.
    fn any_shapes() -> Vec<CaseShape> {
        let mut v = CHECK_SHAPES.to_vec();
        v.extend([
            CaseShape {
                conv: (8, 8, 1, 1),
                src: (1, 1, 8, 0, 0),
                dst: (8, 0, 0),
                flags: 0,
                residual: 0,
            },
            CaseShape {
                conv: (17, 33, 3, 2),
                src: (7, 9, 40, 5, 0),
                dst: (96, 16, 0),
                flags: SILU | RESIDUAL,
                residual: 49,
            },
            CaseShape {
                conv: (3, 64, 3, 1),
                src: (11, 3, 3, 0, 1),
                dst: (64, 0, 1),
                flags: PRELU,
                residual: 0,
            },
            CaseShape {
                conv: (32, 16, 3, 2),
                src: (32, 32, 32, 0, 0),
                dst: (16, 0, 0),
                flags: SILU,
                residual: 0,
            },
        ]);
        v
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    }

    /// nn_conv_coop_any's arithmetic (staging, blocks, offsets, the border duty) against the
    /// convolution's CPU definition, for both matrix sides, every buffer value compared.
    #[test]
    fn the_general_kernels_arithmetic_matches_the_reference() {
        for (n, shape) in any_shapes().into_iter().enumerate() {
            for side in [8, 16] {
                let case = ConvCase::random(shape, n as u64 + 7);
                let mut want = case.dst.clone();
                crate::reference::nn::conv(&case.u, &case.params, &case.src, &mut want);
                let mut got = case.dst.clone();
                conv_any_cells(&case.u, side, &case.params, &case.src, &mut got);
                let e = worst(&want, &got);
                assert!(e < 1e-4, "{shape:?} side {side}: {e}");
                assert_ne!(want, case.dst, "{shape:?}: the layer writes something");
            }
        }
    }

    #[test]
    fn a_general_kernel_reading_one_weight_off_is_caught() {
        let case = ConvCase::random(CHECK_SHAPES[0], 1);
        let mut want = case.dst.clone();
        crate::reference::nn::conv(&case.u, &case.params, &case.src, &mut want);
        let mut shifted = case.params.clone();
        shifted.rotate_left(1);
        let mut got = case.dst.clone();
        conv_any_cells(&case.u, 16, &shifted, &case.src, &mut got);
        assert!(worst(&want, &got) > 1e-3);
    }

    #[test]
    fn general_dispatch_covers_every_pixel_and_channel_block() {
        for (w, h, c, s) in [(1, 1, 8, 16), (80, 48, 640, 16), (1920, 1080, 24, 8)] {
            let (gx, gy, gz) = any_groups(w, h, c, s);
            let n = (w * h).div_ceil(s);
            assert!(gx <= MAX_GROUPS && gx * gy >= n && gx * (gy - 1) < n);
            assert_eq!(gz * s >= c, gz * s - c < s);
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
