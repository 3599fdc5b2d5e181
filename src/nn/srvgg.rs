//! The AI ×4 upscaler (SRVGGNetCompact) wired from [`super`]'s operations: the network's
//! weights uploaded once ([`SrNetwork`]), and an upscaler for one crop size ([`SrUpscaler`])
//! that runs the crop tile by tile (each tile grown by the receptive radius, so the result
//! does not depend on the tiling), its activations bordered channels-last tensors ping-ponged
//! between two buffers, every layer of every tile recorded into one compute pass. Every layer
//! but the last is nn.wgsl's 3×3 convolution (or [`super::coop`]'s where the device has
//! cooperative matrices); the last is fused with the pixel shuffle and the residual
//! (sr.wgsl). f32 or f16 storage, f32 arithmetic. CPU reference: [`crate::reference::sr`].

use super::coop::{self, CoopLayer};
use super::{ConvUniform, OUT_GROUP, Precision, conv_groups};
use crate::color::ColorSpec;
use crate::frame::FrameFormat;
use crate::gpu::buffers::{Readback, bind, dispatch, storage, uniform};
use crate::gpu::pipelines::{CoopKernel, NnKernels};
use crate::gpu::plane::GpuPlane;
use crate::gpu::{GpuContext, GpuError};
use crate::models::SrModel;

/// Pixels of a row each invocation of sr_conv_shuffle computes (sr.wgsl `SR_PX`).
pub const SR_PX: u32 = 4;
/// Pixels of a row each invocation of sr_conv_to_yuv computes (sr.wgsl `SR_FY_PX`).
pub const SR_FY_PX: u32 = 2;

/// sr.wgsl `SrShuffle`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ShuffleUniform {
    pub width: u32,
    pub height: u32,
    pub scale: u32,
    pub stride: u32,
    pub core: [u32; 4],
    pub out: [u32; 4],
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

/// The model's parameters as nn.wgsl reads them: weights `[ky][kx][in][out padded to 8]`,
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

/// `REELGPU_SR_FUSE=1|0` makes the ×4 network's last convolution write the frame's YUV
/// itself, or not, over the adapter's default ([`SrNetwork::fuse_yuv`]).
pub const FUSE_ENV: &str = "REELGPU_SR_FUSE";

/// `REELGPU_SR_KERNEL=f32|f16` picks the upscaler's storage over [`Precision::best`]'s choice.
pub const KERNEL_ENV: &str = "REELGPU_SR_KERNEL";

/// The upscaler's storage on `ctx`: [`Precision::best`], [`KERNEL_ENV`] overriding it.
pub fn best_precision(ctx: &GpuContext) -> Precision {
    ctx.best_precision(KERNEL_ENV)
}

/// A model's weights on the device.
pub struct SrNetwork {
    params: wgpu::Buffer,
    layers: Vec<LayerLayout>,
    kernels: NnKernels,
    pub kernel: Precision,
    /// The cooperative-matrix convolution for the layers it takes, where the device has one
    /// that passed its start-up comparison ([`coop::for_device`]).
    pub coop: Option<CoopKernel>,
    /// The general cooperative-matrix convolution for the layers `coop` does not take (the
    /// first, with 3 inputs), where it passed its start-up comparison
    /// ([`coop::any_for_device`]).
    pub coop_any: Option<(u32, wgpu::ComputePipeline)>,
    /// From a frame at ×4, whether the last convolution writes the YUV frame itself
    /// (sr_conv_to_yuv) rather than RGB that sr_to_yuv converts: on a GPU, not on a CPU
    /// adapter, where its 96 accumulators per invocation ran the network 10–20% slower
    /// (BENCHMARKS.md); [`FUSE_ENV`] overrides.
    pub fuse_yuv: bool,
    pub scale: u32,
    pub name: String,
    pub flops_per_pixel: f64,
    /// Input pixels one output pixel depends on, each way.
    pub receptive_radius: usize,
}

impl SrNetwork {
    /// The network on the best storage the device has ([`best_precision`]).
    pub fn new(ctx: &GpuContext, m: &SrModel) -> Self {
        Self::with_kernel(ctx, m, best_precision(ctx))
            .expect("nn.wgsl compiles for the device's best storage")
    }

    /// The network stored as `kernel`; f16 fails on a device without shader-f16.
    pub fn with_kernel(ctx: &GpuContext, m: &SrModel, kernel: Precision) -> Result<Self, GpuError> {
        let (packed, layers) = pack_params(m);
        let kernels = ctx.nn_kernels(kernel)?.clone();
        let params = super::params_buffer(ctx, "sr params", &packed, kernel);
        Ok(Self {
            params,
            layers,
            kernels,
            kernel,
            coop: coop::for_device(ctx, kernel),
            coop_any: coop::any_for_device(ctx, kernel),
            fuse_yuv: match std::env::var(FUSE_ENV).as_deref() {
                Ok("1") => true,
                Ok("0") => false,
                _ => !ctx.adapter.software,
            },
            scale: m.scale as u32,
            name: m.name.clone(),
            flops_per_pixel: m.flops_per_pixel(),
            receptive_radius: m.receptive_radius(),
        })
    }
}

impl SrNetwork {
    /// The same network on the portable kernel only (benches compare the two).
    pub fn portable(mut self) -> Self {
        self.coop = None;
        self.coop_any = None;
        self
    }

    /// The kernel as summaries report it: the storage, and the cooperative matrices' side
    /// when the network uses them (`"f16+coop16"`).
    pub fn kernel_name(&self) -> &'static str {
        let side = (self.coop.as_ref().map(|c| c.side)).or(self.coop_any.as_ref().map(|c| c.0));
        match (self.kernel, side) {
            (k, None) => k.name(),
            (Precision::F32, Some(8)) => "f32+coop8",
            (Precision::F32, Some(_)) => "f32+coop16",
            (Precision::F16, Some(8)) => "f16+coop8",
            (Precision::F16, Some(_)) => "f16+coop16",
        }
    }
}

/// sr.wgsl `SrPack`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PackUniform {
    pub planes: [GpuPlane; 3],
    pub rows: [[f32; 4]; 3],
    pub region: [u32; 4],
    pub size: [u32; 4],
}

/// sr.wgsl `SrToYuv`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ToYuvUniform {
    pub rows: [[f32; 4]; 3],
    pub planes: [GpuPlane; 3],
    pub size: [u32; 4],
}

/// Where an [`SrUpscaler`] reads its crop and writes the result.
pub enum SrIo<'a> {
    /// Planar RGB floats (0–1) given to [`SrUpscaler::run_rgb`], and planar RGB read back
    /// (tests and benches).
    Rgb,
    /// A packed YUV 4:2:0 frame of the crop's size in `src` (the engine's cropped frame), and
    /// a packed YUV 4:2:0 frame `scale`× its size written to `dst`, both in `color`.
    Yuv {
        src: &'a wgpu::Buffer,
        dst: &'a wgpu::Buffer,
        color: ColorSpec,
    },
}

/// How one layer of one tile runs: the pipeline (nn_conv3 or nn_conv_coop) and its workgroups.
type ConvRun = (wgpu::ComputePipeline, (u32, u32, u32));

/// One tile's bind groups and dispatch sizes, made once.
struct TileRun {
    /// Input pixels the tile reads (its activations' size).
    read: (u32, u32),
    /// Input pixels of its core.
    core: (u32, u32),
    pack: wgpu::BindGroup,
    convs: Vec<(wgpu::BindGroup, ConvRun)>,
    /// The last convolution, fused with the shuffle.
    shuffle: LastRun,
}

/// How a tile's last convolution runs.
enum LastRun {
    /// sr_conv_shuffle into the crop's RGB; the layer's output channel stride.
    Rgb(wgpu::BindGroup, u32),
    /// sr_conv_to_yuv into the x4 YUV frame.
    Yuv(wgpu::BindGroup),
}

/// The network over a crop of one size, on the GPU from end to end: each tile of the crop
/// packed from the source (YUV frame or planar RGB), every layer, the shuffle into the whole
/// crop's RGB at `scale`×, and (from YUV) the conversion back to YUV, recorded into the
/// caller's compute pass. Buffers, uniforms and bind groups are made once; a frame allocates
/// nothing. Activations of the largest tile live in two buffers every tile reuses (each
/// layer writes its own zero border, so tiles of any size follow one another).
pub struct SrUpscaler {
    width: u32,
    height: u32,
    scale: u32,
    tile: usize,
    tiles: Vec<TileRun>,
    kernels: NnKernels,
    /// Planar RGB in (the `Rgb` source).
    rgb_in: Option<wgpu::Buffer>,
    /// The crop's RGB at `scale`×, planar (none when the last convolution writes YUV).
    up: Option<wgpu::Buffer>,
    /// From `up` to the `Yuv` destination: the bind group and the destination's format.
    to_yuv: Option<(wgpu::BindGroup, FrameFormat)>,
    readback: Option<Readback>,
    _buffers: Vec<wgpu::Buffer>,
}

/// The largest tile side (a multiple of 4) whose activations fit in `limit` bytes, or the
/// whole crop's larger side when it fits as one tile.
pub fn tile_for(limit: u64, net: &SrNetwork, w: usize, h: usize) -> usize {
    let stride = net.layers.iter().map(|l| l.cout_stride).max().unwrap_or(8) as u64;
    let fits = |rw: u64, rh: u64| activation_bytes(rw, rh, stride, net.kernel.bytes()) <= limit;
    if fits(w as u64, h as u64) {
        return w.max(h).max(1);
    }
    let r = net.receptive_radius as u64;
    let mut t = 4u64;
    while fits(t + 4 + 2 * r, t + 4 + 2 * r) {
        t += 4;
    }
    t.max(4) as usize
}

/// Bytes of one activation buffer for a `w x h` read region of `stride` channels of `elem`
/// bytes: the bordered grid, plus the cells the last invocation of a row (sr_conv_to_yuv) or
/// the last workgroup (nn_conv_coop) reads past it.
fn activation_bytes(w: u64, h: u64, stride: u64, elem: u64) -> u64 {
    let slack = (SR_PX as u64 + 2).max(coop::COOP_SLACK_CELLS);
    ((w + 2) * (h + 2) + slack) * stride * elem
}

impl SrUpscaler {
    /// The upscaler for `width x height` crops in tiles of at most `tile` pixels a side
    /// (`None`: as large as the device's buffers allow, see [`tile_for`]).
    pub fn new(
        ctx: &GpuContext,
        net: &SrNetwork,
        (width, height): (u32, u32),
        tile: Option<usize>,
        io: SrIo<'_>,
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let k = &net.kernels.sr;
        let (w, h) = (width as usize, height as usize);
        let limit = ctx.max_buffer_bytes();
        let tile = tile.unwrap_or_else(|| tile_for(limit, net, w, h)).max(1);
        let tiling = tiles(w, h, tile, net.receptive_radius);
        let max_stride = net.layers.iter().map(|l| l.cout_stride).max().unwrap_or(8) as u64;
        let (mut rw_max, mut rh_max) = (1u64, 1u64);
        for t in &tiling {
            rw_max = rw_max.max(t.read.2 as u64);
            rh_max = rh_max.max(t.read.3 as u64);
        }
        let elem = net.kernel.bytes();
        let act = activation_bytes(rw_max, rh_max, max_stride, elem);
        let s = net.scale as u64;
        // x4 from YUV (the engine's path): the last convolution writes the YUV frame itself
        // (sr_conv_to_yuv), which needs every tile's core at an even x
        let fuse_yuv = matches!(io, SrIo::Yuv { .. })
            && net.fuse_yuv
            && net.scale == 4
            && net.layers.last().is_some_and(|l| l.cout_stride == 48)
            && tiling.iter().all(|t| t.core.0 % 2 == 0);
        let up_bytes = if fuse_yuv {
            0
        } else {
            3 * (w as u64 * s) * (h as u64 * s) * 4
        };
        for (what, bytes) in [("activations", act), ("output", up_bytes)] {
            if bytes > limit {
                return Err(GpuError::Validation(format!(
                    "the x{} upscaler on a {width}x{height} crop needs {bytes} bytes of {what}, \
                     more than the device's largest buffer ({limit})",
                    net.scale
                )));
            }
        }
        let input = storage(d, "sr input", activation_bytes(rw_max, rh_max, 3, elem));
        let ping = [storage(d, "sr ping", act), storage(d, "sr pong", act)];
        let up = (!fuse_yuv).then(|| storage(d, "sr up", up_bytes));
        let (sw, sh) = (width * net.scale, height * net.scale);
        // the x4 frame's planes and the conversion to YUV, for sr_conv_to_yuv (fused) or
        // sr_to_yuv
        let yuv_out = match &io {
            SrIo::Yuv { dst, color, .. } => {
                let f = FrameFormat::new(sw, sh, *color);
                let u = uniform::<ToYuvUniform>(d, "sr to yuv");
                ctx.queue.write_buffer(
                    &u,
                    0,
                    bytemuck::bytes_of(&ToYuvUniform {
                        rows: color.rgb_to_yuv().to_gpu_rows(),
                        planes: f.gpu_packed_planes().map(GpuPlane::from),
                        size: [sw, sh, 0, 0],
                    }),
                );
                Some((u, f, (*dst).clone()))
            }
            SrIo::Rgb => None,
        };
        let fuse = yuv_out.as_ref().filter(|_| fuse_yuv);
        let mut buffers = Vec::new();
        let (rgb_in, pack_pipeline, src_planes, rows, src_buffer) = match &io {
            SrIo::Rgb => {
                let b = storage(d, "sr rgb in", 3 * (w * h) as u64 * 4);
                (
                    Some(b.clone()),
                    k.pack_rgb.clone(),
                    [GpuPlane::default(); 3],
                    [[0.0; 4]; 3],
                    b,
                )
            }
            SrIo::Yuv { src, color, .. } => {
                let f = FrameFormat::new(width, height, *color);
                (
                    None,
                    k.pack_yuv.clone(),
                    f.gpu_packed_planes().map(GpuPlane::from),
                    color.yuv_to_rgb().to_gpu_rows(),
                    (*src).clone(),
                )
            }
        };
        let mut runs = Vec::with_capacity(tiling.len());
        for t in &tiling {
            let (rx, ry, rw, rh) = t.read;
            let pu = uniform::<PackUniform>(d, "sr pack");
            ctx.queue.write_buffer(
                &pu,
                0,
                bytemuck::bytes_of(&PackUniform {
                    planes: src_planes,
                    rows,
                    region: [rx as u32, ry as u32, rw as u32, rh as u32],
                    size: [width, height, 0, 0],
                }),
            );
            let pack = bind(
                d,
                "sr pack",
                &pack_pipeline,
                &[(0, &pu), (1, &src_buffer), (2, &input)],
            );
            buffers.push(pu);
            // every layer but the last writes activations; the last is fused with the
            // shuffle (sr_conv_shuffle) and computed for the tile's core only
            let n_layers = net.layers.len();
            let mut convs = Vec::with_capacity(n_layers);
            let mut shuffle = None;
            for (n, l) in net.layers.iter().enumerate() {
                let layer = CoopLayer {
                    width: rw as u32,
                    height: rh as u32,
                    cin: l.cin,
                    cin_stride: l.cin_stride,
                    cout_stride: l.cout_stride,
                    w_off: l.w_off,
                    b_off: l.b_off,
                    p_off: l.p_off,
                };
                let src = if n == 0 { &input } else { &ping[(n - 1) % 2] };
                if n + 1 == n_layers {
                    let u = uniform::<ConvUniform>(d, "sr last layer");
                    ctx.queue
                        .write_buffer(&u, 0, bytemuck::bytes_of(&layer.portable()));
                    let (cx, cy, cw, ch) = t.core;
                    let su = uniform::<ShuffleUniform>(d, "sr shuffle");
                    ctx.queue.write_buffer(
                        &su,
                        0,
                        bytemuck::bytes_of(&ShuffleUniform {
                            width: rw as u32,
                            height: rh as u32,
                            scale: net.scale,
                            stride: l.cout_stride,
                            core: [(cx - rx) as u32, (cy - ry) as u32, cw as u32, ch as u32],
                            out: [
                                cx as u32 * net.scale,
                                cy as u32 * net.scale,
                                width * net.scale,
                                height * net.scale,
                            ],
                        }),
                    );
                    shuffle = Some(match (fuse, &up) {
                        (Some((fy, _, dst)), _) => LastRun::Yuv(bind(
                            d,
                            "sr conv to yuv",
                            &k.conv_to_yuv,
                            &[
                                (0, &u),
                                (1, src),
                                (3, &net.params),
                                (4, &su),
                                (5, &input),
                                (7, fy),
                                (8, dst),
                            ],
                        )),
                        (None, Some(up)) => LastRun::Rgb(
                            bind(
                                d,
                                "sr conv shuffle",
                                &k.conv_shuffle,
                                &[
                                    (0, &u),
                                    (1, src),
                                    (3, &net.params),
                                    (4, &su),
                                    (5, &input),
                                    (6, up),
                                ],
                            ),
                            l.cout_stride,
                        ),
                        (None, None) => unreachable!("the RGB output exists unless fused"),
                    });
                    buffers.extend([u, su]);
                    break;
                }
                let coop = net
                    .coop
                    .as_ref()
                    .filter(|c| coop::layer_fits(&layer, c.side));
                // the portable kernel's uniform or the cooperative-matrix kernel's
                let u = match coop {
                    Some(_) => {
                        let u = uniform::<CoopLayer>(d, "sr coop layer");
                        ctx.queue.write_buffer(&u, 0, bytemuck::bytes_of(&layer));
                        u
                    }
                    None => {
                        let u = uniform::<ConvUniform>(d, "sr layer");
                        ctx.queue
                            .write_buffer(&u, 0, bytemuck::bytes_of(&layer.portable()));
                        u
                    }
                };
                let dst = &ping[n % 2];
                let run: ConvRun = match (coop, &net.coop_any) {
                    (Some(c), _) => {
                        let (gx, gy) = coop::groups(rw as u32, rh as u32, c.side);
                        (c.conv.clone(), (gx, gy, 1))
                    }
                    (None, Some((side, any))) => (
                        any.clone(),
                        coop::any_groups(rw as u32, rh as u32, l.cout_stride, *side),
                    ),
                    (None, None) => (
                        net.kernels.conv3.clone(),
                        conv_groups(rw as u32, rh as u32, l.cout_stride),
                    ),
                };
                convs.push((
                    bind(
                        d,
                        "sr conv",
                        &run.0,
                        &[(0, &u), (1, src), (2, dst), (3, &net.params)],
                    ),
                    run,
                ));
                buffers.push(u);
            }
            let (_, _, cw, ch) = t.core;
            let shuffle = shuffle.expect("a network has a last convolution");
            runs.push(TileRun {
                read: (rw as u32, rh as u32),
                core: (cw as u32, ch as u32),
                pack,
                convs,
                shuffle,
            });
        }
        let to_yuv = match (&yuv_out, &up) {
            (Some((u, f, dst)), Some(up)) => Some((
                bind(d, "sr to yuv", &k.to_yuv, &[(0, u), (1, up), (2, dst)]),
                *f,
            )),
            _ => None,
        };
        if let Some((u, _, _)) = yuv_out {
            buffers.push(u);
        }
        let readback = matches!(io, SrIo::Rgb).then(|| Readback::new(d, up_bytes));
        buffers.extend([input, ping[0].clone(), ping[1].clone(), src_buffer]);
        Ok(Self {
            width,
            height,
            scale: net.scale,
            tile,
            tiles: runs,
            kernels: net.kernels.clone(),
            rgb_in,
            up,
            to_yuv,
            readback,
            _buffers: buffers,
        })
    }

    /// The crop size it runs on.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The tile side it uses, and how many tiles a crop takes.
    pub fn tiling(&self) -> (usize, usize) {
        (self.tile, self.tiles.len())
    }

    /// Records the whole network (every tile) into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        let k = &self.kernels.sr;
        for t in &self.tiles {
            let (rw, rh) = t.read;
            dispatch(
                pass,
                k.pack(self.rgb_in.is_some()),
                &t.pack,
                (rw + 2, rh + 2, 1),
            );
            for (group, (pipeline, (gx, gy, gz))) in &t.convs {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(*gx, *gy, *gz);
            }
            match &t.shuffle {
                LastRun::Rgb(group, cout_stride) => dispatch(
                    pass,
                    &k.conv_shuffle,
                    group,
                    (
                        t.core.0.div_ceil(SR_PX),
                        t.core.1,
                        cout_stride / OUT_GROUP as u32,
                    ),
                ),
                LastRun::Yuv(group) => dispatch(
                    pass,
                    &k.conv_to_yuv,
                    group,
                    (t.core.0.div_ceil(SR_FY_PX), t.core.1, 1),
                ),
            }
        }
        if let Some((group, f)) = &self.to_yuv {
            let words = f.gpu_packed_planes()[0].stride;
            dispatch(pass, &k.to_yuv, group, (words, f.height, 3));
        }
    }

    /// Runs the network on planar RGB (`3·w·h`, 0–1) of an upscaler made with [`SrIo::Rgb`];
    /// returns planar RGB `scale`× the size, unclamped.
    pub fn run_rgb(&mut self, ctx: &GpuContext, rgb: &[f32]) -> Result<Vec<f32>, GpuError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (Some(rgb_in), Some(readback), Some(up)) = (&self.rgb_in, &self.readback, &self.up)
        else {
            return Err(GpuError::Validation(
                "run_rgb needs an upscaler made for RGB".into(),
            ));
        };
        if rgb.len() != 3 * w * h {
            return Err(GpuError::FrameSize {
                expected: 3 * w * h * 4,
                got: rgb.len() * 4,
            });
        }
        ctx.queue.write_buffer(rgb_in, 0, bytemuck::cast_slice(rgb));
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            self.record(&mut pass);
        }
        let s = self.scale as usize;
        let bytes = (3 * w * h * s * s * 4) as u64;
        readback.copy_from(&mut enc, up, bytes);
        ctx.queue.submit([enc.finish()]);
        let out = readback.read(&ctx.device, bytes, |b| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::shaders::{NN, wgsl_u32_constant};
    use crate::models::{Conv, Storage};

    /// The tiling on the CPU (what the GPU records per tile): runs `run` (planar RGB of a `w x h` region → planar RGB `scale`× it) over the crop tile by
    /// tile and puts the cores' outputs together.
    fn run_tiled<E>(
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
        assert_eq!(wgsl_u32_constant(&NN, "SR_PX"), SR_PX);
        assert_eq!(wgsl_u32_constant(&NN, "SR_FY_PX"), SR_FY_PX);
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
