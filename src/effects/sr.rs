//! The AI ×4 upscaler (SRVGGNetCompact) on the GPU (sr.wgsl): the network's weights uploaded
//! once ([`SrNetwork`]), and a runner for one crop size ([`SrRunner`]) whose activations are
//! channels-last with a one-pixel zero border, ping-ponged between two buffers, every layer
//! recorded in one submission. f32 storage and arithmetic (the portable kernel). CPU reference:
//! [`crate::reference::sr`].

use crate::gpu::buffers::{Readback, bind, dispatch, storage, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::models::SrModel;

/// Pixels of a row each invocation computes (sr.wgsl `SR_PX`).
pub const SR_PX: u32 = 4;
/// Output channels each invocation computes.
const OUT_GROUP: usize = 8;

/// sr.wgsl `SrLayer`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerUniform {
    pub width: u32,
    pub height: u32,
    pub cin: u32,
    pub cin_stride: u32,
    pub cout_stride: u32,
    pub w_off: u32,
    pub b_off: u32,
    pub p_off: u32,
}

/// sr.wgsl `SrShuffle`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct ShuffleUniform {
    width: u32,
    height: u32,
    scale: u32,
    stride: u32,
}

/// Where one layer's parameters sit in the packed buffer (in vec4s) and its channel strides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerLayout {
    pub cin: u32,
    pub cin_stride: u32,
    pub cout_stride: u32,
    pub w_off: u32,
    pub b_off: u32,
    /// `u32::MAX` when the layer has no PReLU.
    pub p_off: u32,
}

/// The model's parameters as sr.wgsl reads them: weights `[ky][kx][in][out padded to 8]`,
/// biases and slopes padded to 8, each part starting on a vec4.
pub fn pack_params(m: &SrModel) -> (Vec<f32>, Vec<LayerLayout>) {
    let mut out: Vec<f32> = Vec::new();
    let mut layers = Vec::new();
    let mut cin_stride = 3u32;
    for c in &m.convs {
        let op = c.out_ch.next_multiple_of(OUT_GROUP);
        let w_off = (out.len() / 4) as u32;
        for ky in 0..3 {
            for kx in 0..3 {
                for i in 0..c.in_ch {
                    for o in 0..op {
                        out.push(if o < c.out_ch { c.w(o, i, ky, kx) } else { 0.0 });
                    }
                }
            }
        }
        let b_off = (out.len() / 4) as u32;
        out.extend((0..op).map(|o| c.bias.get(o).copied().unwrap_or(0.0)));
        let p_off = match &c.prelu {
            Some(s) => {
                let at = (out.len() / 4) as u32;
                out.extend((0..op).map(|o| s.get(o).copied().unwrap_or(1.0)));
                at
            }
            None => u32::MAX,
        };
        layers.push(LayerLayout {
            cin: c.in_ch as u32,
            cin_stride,
            cout_stride: op as u32,
            w_off,
            b_off,
            p_off,
        });
        cin_stride = op as u32;
    }
    (out, layers)
}

/// Planar RGB (`3·w·h`) as the first layer reads it: channels-last with a zero border.
pub fn pack_input(rgb: &[f32], w: usize, h: usize, into: &mut Vec<f32>) {
    into.clear();
    into.resize((w + 2) * (h + 2) * 3, 0.0);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                into[((y + 1) * (w + 2) + x + 1) * 3 + c] = rgb[(c * h + y) * w + x];
            }
        }
    }
}

/// A model's weights on the device.
pub struct SrNetwork {
    params: wgpu::Buffer,
    layers: Vec<LayerLayout>,
    pub scale: u32,
    pub name: String,
    pub flops_per_pixel: f64,
    /// Input pixels one output pixel depends on, each way.
    pub receptive_radius: usize,
}

impl SrNetwork {
    pub fn new(ctx: &GpuContext, m: &SrModel) -> Self {
        let (packed, layers) = pack_params(m);
        let params = storage(&ctx.device, "sr params", (packed.len() * 4) as u64);
        ctx.queue
            .write_buffer(&params, 0, bytemuck::cast_slice(&packed));
        Self {
            params,
            layers,
            scale: m.scale as u32,
            name: m.name.clone(),
            flops_per_pixel: m.flops_per_pixel(),
            receptive_radius: m.receptive_radius(),
        }
    }
}

/// The network for crops of one size: buffers and bind groups made once, reused per frame.
pub struct SrRunner {
    width: u32,
    height: u32,
    scale: u32,
    input: wgpu::Buffer,
    ping: [wgpu::Buffer; 2],
    output: wgpu::Buffer,
    groups: Vec<(wgpu::BindGroup, u32)>,
    /// Layers whose output buffer held another channel stride before (its border is cleared).
    clears: Vec<bool>,
    shuffle_group: wgpu::BindGroup,
    readback: Readback,
    packed: Vec<f32>,
    _uniforms: Vec<wgpu::Buffer>,
}

impl SrRunner {
    pub fn new(
        ctx: &GpuContext,
        net: &SrNetwork,
        width: u32,
        height: u32,
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let (w, h) = (width as u64, height as u64);
        let max_stride = net.layers.iter().map(|l| l.cout_stride).max().unwrap_or(8) as u64;
        // the last group of a row reads up to SR_PX + 1 pixels past the border
        let slack = (SR_PX as u64 + 2) * max_stride;
        let act = ((w + 2) * (h + 2) * max_stride + slack) * 4;
        if act > ctx.max_buffer_bytes() {
            return Err(GpuError::Validation(format!(
                "a {width}x{height} crop needs {act} bytes of activations, more than the device's \
                 largest buffer ({}): it must be tiled",
                ctx.max_buffer_bytes()
            )));
        }
        let input = storage(
            d,
            "sr input",
            ((w + 2) * (h + 2) * 3 + (SR_PX as u64 + 2) * 3) * 4,
        );
        let ping = [storage(d, "sr ping", act), storage(d, "sr pong", act)];
        let s = net.scale as u64;
        let out_bytes = 3 * w * s * h * s * 4;
        let output = storage(d, "sr output", out_bytes);
        let mut uniforms = Vec::new();
        let mut groups = Vec::new();
        let mut clears = Vec::new();
        let mut strides = [0u32; 2];
        for (k, l) in net.layers.iter().enumerate() {
            let u = uniform::<LayerUniform>(d, "sr layer");
            ctx.queue.write_buffer(
                &u,
                0,
                bytemuck::bytes_of(&LayerUniform {
                    width,
                    height,
                    cin: l.cin,
                    cin_stride: l.cin_stride,
                    cout_stride: l.cout_stride,
                    w_off: l.w_off,
                    b_off: l.b_off,
                    p_off: l.p_off,
                }),
            );
            let src = if k == 0 { &input } else { &ping[(k - 1) % 2] };
            let dst = &ping[k % 2];
            clears.push(strides[k % 2] != 0 && strides[k % 2] != l.cout_stride);
            strides[k % 2] = l.cout_stride;
            groups.push((
                bind(
                    d,
                    "sr conv",
                    &ctx.kernels.sr_conv,
                    &[(0, &u), (1, src), (2, dst), (3, &net.params)],
                ),
                l.cout_stride,
            ));
            uniforms.push(u);
        }
        let last = &ping[(net.layers.len() - 1) % 2];
        let su = uniform::<ShuffleUniform>(d, "sr shuffle");
        ctx.queue.write_buffer(
            &su,
            0,
            bytemuck::bytes_of(&ShuffleUniform {
                width,
                height,
                scale: net.scale,
                stride: net.layers.last().map_or(0, |l| l.cout_stride),
            }),
        );
        let shuffle_group = bind(
            d,
            "sr shuffle",
            &ctx.kernels.sr_shuffle,
            &[(0, &su), (1, last), (2, &input), (3, &output)],
        );
        uniforms.push(su);
        Ok(Self {
            width,
            height,
            scale: net.scale,
            input,
            ping,
            output,
            groups,
            clears,
            shuffle_group,
            readback: Readback::new(d, out_bytes),
            packed: Vec::new(),
            _uniforms: uniforms,
        })
    }

    /// Runs the network on planar RGB (`3·w·h`, 0–1); returns planar RGB `scale`× the size.
    pub fn run(&mut self, ctx: &GpuContext, rgb: &[f32]) -> Result<Vec<f32>, GpuError> {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(rgb.len(), 3 * w * h, "planar RGB of the runner's size");
        pack_input(rgb, w, h, &mut self.packed);
        ctx.queue
            .write_buffer(&self.input, 0, bytemuck::cast_slice(&self.packed));
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        for (k, clear) in self.clears.iter().enumerate() {
            if *clear {
                enc.clear_buffer(&self.ping[k % 2], 0, None);
            }
        }
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for (group, cout_stride) in &self.groups {
                let groups_x = self.width.div_ceil(SR_PX);
                dispatch(
                    &mut pass,
                    &ctx.kernels.sr_conv,
                    group,
                    (groups_x, self.height, cout_stride / OUT_GROUP as u32),
                );
            }
            let s = self.scale;
            dispatch(
                &mut pass,
                &ctx.kernels.sr_shuffle,
                &self.shuffle_group,
                (self.width * s, self.height * s, 1),
            );
        }
        let bytes = (3 * w * h * (self.scale * self.scale) as usize * 4) as u64;
        self.readback.copy_from(&mut enc, &self.output, bytes);
        ctx.queue.submit([enc.finish()]);
        let out = self.readback.read(&ctx.device, bytes, |b| {
            bytemuck::cast_slice::<u8, f32>(b).to_vec()
        })?;
        ctx.check()?;
        Ok(out)
    }
}

/// One tile of a crop: the part it contributes (`core`) and the part it reads (`read`, the core
/// grown by the overlap and cut at the crop's edges), as `(x, y, w, h)` in input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub core: (usize, usize, usize, usize),
    pub read: (usize, usize, usize, usize),
}

/// Tiles of at most `tile` input pixels a side covering a `w x h` crop, each reading
/// `overlap` more pixels on every side where the crop has them. With an overlap of at least
/// the network's receptive radius ([`SrModel::receptive_radius`]), every core pixel sees
/// exactly what it sees in the whole crop, so the result does not depend on the tiling.
pub fn tiles(w: usize, h: usize, tile: usize, overlap: usize) -> Vec<Tile> {
    let tile = tile.max(1);
    let mut out = Vec::new();
    for y in (0..h).step_by(tile) {
        for x in (0..w).step_by(tile) {
            let (cw, ch) = (tile.min(w - x), tile.min(h - y));
            let (rx, ry) = (x.saturating_sub(overlap), y.saturating_sub(overlap));
            let (rx1, ry1) = ((x + cw + overlap).min(w), (y + ch + overlap).min(h));
            out.push(Tile {
                core: (x, y, cw, ch),
                read: (rx, ry, rx1 - rx, ry1 - ry),
            });
        }
    }
    out
}

/// Runs `run` (planar RGB of a `w x h` region → planar RGB `scale`× it) over the crop tile by
/// tile and puts the cores' outputs together.
pub fn run_tiled<E>(
    rgb: &[f32],
    (w, h): (usize, usize),
    scale: usize,
    tiling: &[Tile],
    mut run: impl FnMut(&[f32], usize, usize) -> Result<Vec<f32>, E>,
) -> Result<Vec<f32>, E> {
    let (ow, oh) = (w * scale, h * scale);
    let mut out = vec![0f32; 3 * ow * oh];
    let mut part = Vec::new();
    for t in tiling {
        let (rx, ry, rw, rh) = t.read;
        part.clear();
        for c in 0..3 {
            for y in ry..ry + rh {
                let row = (c * h + y) * w;
                part.extend_from_slice(&rgb[row + rx..row + rx + rw]);
            }
        }
        let got = run(&part, rw, rh)?;
        let (x, y, cw, ch) = t.core;
        let (tw, th) = (rw * scale, rh * scale);
        for c in 0..3 {
            for yy in 0..ch * scale {
                let src = (c * th + (y - ry) * scale + yy) * tw + (x - rx) * scale;
                let dst = (c * oh + y * scale + yy) * ow + x * scale;
                out[dst..dst + cw * scale].copy_from_slice(&got[src..src + cw * scale]);
            }
        }
    }
    Ok(out)
}

/// The network over crops of any size: tiles of at most `tile` pixels a side with the model's
/// receptive radius of overlap, one [`SrRunner`] per tile size (made once, reused).
pub struct SrTiled {
    tile: usize,
    overlap: usize,
    runners: std::collections::HashMap<(usize, usize), SrRunner>,
}

impl SrTiled {
    pub fn new(net: &SrNetwork, tile: usize) -> Self {
        Self {
            tile,
            overlap: net.receptive_radius,
            runners: Default::default(),
        }
    }

    pub fn run(
        &mut self,
        ctx: &GpuContext,
        net: &SrNetwork,
        rgb: &[f32],
        w: usize,
        h: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let tiling = tiles(w, h, self.tile, self.overlap);
        let runners = &mut self.runners;
        run_tiled(rgb, (w, h), net.scale as usize, &tiling, |part, rw, rh| {
            let runner = match runners.entry((rw, rh)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(SrRunner::new(ctx, net, rw as u32, rh as u32)?)
                }
            };
            runner.run(ctx, part)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::shaders::{SR, wgsl_u32_constant};
    use crate::models::{Conv, Storage};

    #[test]
    fn tiles_cover_the_crop_once_and_read_their_overlap() {
        let t = tiles(10, 7, 4, 2);
        assert_eq!(t.len(), 3 * 2);
        let mut seen = vec![0; 70];
        for tile in &t {
            let (x, y, w, h) = tile.core;
            let (rx, ry, rw, rh) = tile.read;
            assert!(rx <= x && ry <= y && rx + rw >= x + w && ry + rh >= y + h);
            assert!(x - rx <= 2 && y - ry <= 2 && rx + rw <= 10 && ry + rh <= 7);
            for yy in y..y + h {
                for xx in x..x + w {
                    seen[yy * 10 + xx] += 1;
                }
            }
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "every pixel in exactly one core"
        );
        assert_eq!(t[4].core, (4, 4, 4, 3));
        assert_eq!(t[4].read, (2, 2, 8, 5));
    }

    /// Tiled with the receptive radius of overlap, the CPU reference gives exactly the whole
    /// crop's result; with less, it does not (so the test can tell).
    #[test]
    fn tiling_does_not_change_the_result() {
        let conv = |i: usize, o: usize, k: usize, prelu: bool| Conv {
            in_ch: i,
            out_ch: o,
            weights: (0..i * o * 9)
                .map(|n| (((n * 7 + k) % 13) as f32 - 6.0) / 40.0)
                .collect(),
            bias: (0..o).map(|n| n as f32 / 100.0).collect(),
            prelu: prelu.then(|| vec![0.2; o]),
        };
        let m = SrModel {
            name: "t".into(),
            scale: 2,
            convs: vec![
                conv(3, 8, 0, true),
                conv(8, 8, 1, true),
                conv(8, 12, 2, false),
            ],
            storage: Storage::F32,
        };
        let (w, h) = (17, 11);
        let rgb: Vec<f32> = (0..3 * w * h)
            .map(|n| ((n * 31) % 97) as f32 / 97.0)
            .collect();
        let whole = crate::reference::sr::run(&m, &rgb, w, h);
        let cpu = |p: &[f32], rw, rh| Ok::<_, ()>(crate::reference::sr::run(&m, p, rw, rh));
        for tile in [1, 4, 5, 16] {
            let tiled = run_tiled(
                &rgb,
                (w, h),
                2,
                &tiles(w, h, tile, m.receptive_radius()),
                cpu,
            );
            assert_eq!(tiled.unwrap(), whole, "tile {tile}");
        }
        let short = run_tiled(&rgb, (w, h), 2, &tiles(w, h, 5, 1), cpu).unwrap();
        assert_ne!(
            short, whole,
            "an overlap below the receptive radius shows at the seams"
        );
    }

    #[test]
    fn the_host_matches_the_shader() {
        assert_eq!(wgsl_u32_constant(&SR, "SR_PX"), SR_PX);
    }

    #[test]
    fn parameters_are_packed_ky_kx_in_out_padded_to_eight() {
        let conv = |i: usize, o: usize, prelu: bool| Conv {
            in_ch: i,
            out_ch: o,
            weights: (0..i * o * 9).map(|k| k as f32).collect(),
            bias: (0..o).map(|k| 1000.0 + k as f32).collect(),
            prelu: prelu.then(|| (0..o).map(|k| 2000.0 + k as f32).collect()),
        };
        let m = SrModel {
            name: "t".into(),
            scale: 2,
            convs: vec![conv(3, 5, true), conv(5, 12, false)],
            storage: Storage::F32,
        };
        let (p, l) = pack_params(&m);
        assert_eq!(l[0].cin_stride, 3);
        assert_eq!(
            (l[0].cout_stride, l[1].cin_stride, l[1].cout_stride),
            (8, 8, 16)
        );
        // weight (o 4, i 2, ky 1, kx 2) of layer 0
        let at = |l: &LayerLayout, o: usize, i: usize, ky: usize, kx: usize| {
            l.w_off as usize * 4 + ((ky * 3 + kx) * l.cin as usize + i) * l.cout_stride as usize + o
        };
        assert_eq!(p[at(&l[0], 4, 2, 1, 2)], m.convs[0].w(4, 2, 1, 2));
        assert_eq!(p[at(&l[0], 5, 2, 1, 2)], 0.0, "padded output channel");
        assert_eq!(p[at(&l[1], 11, 4, 2, 0)], m.convs[1].w(11, 4, 2, 0));
        assert_eq!(p[l[0].b_off as usize * 4 + 4], 1004.0);
        assert_eq!(p[l[0].p_off as usize * 4 + 4], 2004.0);
        assert_eq!(l[1].p_off, u32::MAX);
        let mut packed = Vec::new();
        pack_input(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 1, &mut packed);
        // pixel (1, 0) sits at (2, 1) of the 4x3 bordered grid, channels 0..3 interleaved
        assert_eq!(&packed[(4 + 2) * 3..(4 + 2) * 3 + 3], &[2.0, 4.0, 6.0]);
        assert_eq!(packed.iter().filter(|v| **v != 0.0).count(), 6);
    }
}
