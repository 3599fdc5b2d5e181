//! The frame engine: runs a [`FramePlan`] (mask + background + composite, then crop + Lanczos)
//! on one YUV 4:2:0 frame with buffers, bind groups and pipelines created once per format.
//!
//! Per frame it uploads the packed planes, records every pass into one compute pass, reads the
//! result back through a reused mapped buffer, and allocates nothing on the host. A frame whose
//! plan does nothing never touches the GPU.

pub mod label;
mod resources;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::effects::kernels::{
    BACKGROUND_BLUR, FEATHER_BLUR, ResampleAxis, SPOTLIGHT_FACTOR, background_blur,
    gaussian_weights, reduced_blur,
};
use crate::effects::params::*;
use crate::effects::reduce::{FAST_BLUR_LEVELS, ReducedGeom, planes_len, reduced_planes};
use crate::frame::{FrameFormat, PlaneGeom};
use crate::gpu::buffers::{dispatch, sheet_size};
use crate::gpu::{GpuContext, GpuError};
use crate::job::EffectType;
use crate::job::timeline::{CropRect, FEATHER_RADIUS, FramePlan, PixelBox};
use resources::Resources;

/// Outputs per invocation of blur.wgsl's `blur_h` / `blur_v` (its `OUTPUTS`).
const BLUR_OUTPUTS: u32 = 4;

/// Outputs per invocation of unpack.wgsl's `downsample2` (its `DOWNSAMPLE_OUTPUTS`).
const DOWNSAMPLE_OUTPUTS: u32 = 2;

/// Most ellipses one frame can hold (`job::Limits::max_regions` keeps jobs within it).
pub const MAX_ELLIPSES: usize = 1024;

/// How the background blur is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BlurQuality {
    /// Prefilter + 2x decimation (twice for luma, once for the half-size chroma), a Gaussian
    /// at the reduced size, bilinear upsample: a small fraction of the work, within 45 dB PSNR
    /// of the exact blur (tested). Frames smaller than the kernel in either direction are
    /// blurred exactly.
    #[default]
    Fast,
    /// The full 51-tap separable Gaussian at full resolution.
    Exact,
}

/// Wall-clock time per stage of one frame (measured with a GPU sync after each stage).
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    pub stages: Vec<(&'static str, Duration)>,
}

/// Stages of a frame, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mask,
    Background,
    Composite,
    Crop,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Mask => "mask",
            Stage::Background => "background blur",
            Stage::Composite => "composite",
            Stage::Crop => "crop + lanczos",
        }
    }
}

/// Runs frame plans on frames of one format.
pub struct FrameEngine {
    ctx: Arc<GpuContext>,
    input: FrameFormat,
    output: FrameFormat,
    quality: BlurQuality,
    res: Resources,
    background: BackgroundLayout,
    /// Offset and radius of the feather kernel in the weights buffer.
    feather_kernel: (u32, u32),
}

// The fast path's passes assume luma is decimated twice and chroma once.
const _: () =
    assert!(FAST_BLUR_LEVELS[0] == 2 && FAST_BLUR_LEVELS[1] == 1 && FAST_BLUR_LEVELS[2] == 1);

/// Where the background blur's planes live: fixed per format and quality.
#[derive(Debug, Clone, Copy)]
struct BackgroundLayout {
    /// The blurred planes the composite reads (`bg_a`).
    planes: [PlaneGeom; 3],
    /// The composite's `bg_sampling` per plane: scale and margin of the reduced planes.
    sampling: [[u32; 4]; 3],
    /// Fast path: the first 2x decimation and its margin per plane. Planes decimated more
    /// than once (luma) put it in `bg_b` for `reduce2`; the others (chroma) are then at their
    /// final level and go straight to `planes` in `bg_a`.
    first: [PlaneGeom; 3],
    first_margin: [u32; 3],
    first_is_final: [bool; 3],
}

impl BackgroundLayout {
    fn new(input: &FrameFormat, quality: BlurQuality) -> Self {
        match quality {
            BlurQuality::Fast => {
                let (geoms, planes) = reduced_planes(input, 2);
                let (first_geoms, mut first) = reduced_planes(input, 1);
                let first_is_final = FAST_BLUR_LEVELS.map(|levels| levels == 1);
                for p in 0..3 {
                    if first_is_final[p] {
                        debug_assert_eq!(first_geoms[p], geoms[p]);
                        first[p] = planes[p];
                    }
                }
                Self {
                    planes,
                    sampling: geoms.map(|g: ReducedGeom| [g.scale, g.margin, 0, 0]),
                    first,
                    first_margin: first_geoms.map(|g| g.margin),
                    first_is_final,
                }
            }
            BlurQuality::Exact => {
                let planes = input.gpu_float_planes(0);
                Self {
                    planes,
                    sampling: [[1, 0, 0, 0]; 3],
                    first: planes,
                    first_margin: [0; 3],
                    first_is_final: [true; 3],
                }
            }
        }
    }

    /// `f32` elements each of the two background buffers holds.
    fn buffer_len(&self) -> u32 {
        planes_len(&self.planes).max(planes_len(&self.first))
    }
}

impl FrameEngine {
    /// An engine for `input` frames; `output_size` is the crop's output size (even), used only
    /// by plans with a crop.
    pub fn new(
        ctx: Arc<GpuContext>,
        input: FrameFormat,
        output_size: Option<(u32, u32)>,
        quality: BlurQuality,
    ) -> Result<Self, GpuError> {
        let (ow, oh) = output_size.unwrap_or((input.width, input.height));
        // Frames smaller than the kernel are mostly border reflection, which the decimated
        // path approximates poorly; they are cheap enough to blur exactly.
        let quality = if input.width.min(input.height) < BACKGROUND_BLUR.ksize {
            BlurQuality::Exact
        } else {
            quality
        };
        let output = FrameFormat::new(ow, oh, input.color);
        let mut weights = Vec::new();
        let mut push = |w: Vec<f32>| {
            let off = weights.len() as u32;
            let r = (w.len() / 2) as u32;
            weights.extend(w);
            (off, r)
        };
        let background_kernels: [(u32, u32); 3] = std::array::from_fn(|p| {
            let spec = background_blur(p);
            match quality {
                BlurQuality::Exact => push(spec.weights()),
                BlurQuality::Fast => {
                    let (r, sigma) = reduced_blur(spec, FAST_BLUR_LEVELS[p]);
                    push(gaussian_weights(r, sigma))
                }
            }
        });
        let feather_kernel = push(FEATHER_BLUR.weights());
        let background = BackgroundLayout::new(&input, quality);
        let res = Resources::new(&ctx, input, output, background.buffer_len(), &weights)?;
        let engine = Self {
            ctx,
            input,
            output,
            quality,
            res,
            background,
            feather_kernel,
        };
        engine.write_background_params(background_kernels);
        Ok(engine)
    }

    /// The background passes' parameters depend only on the format and quality: written once.
    fn write_background_params(&self, kernels: [(u32, u32); 3]) {
        let src = self.input.gpu_packed_planes();
        let bg = &self.background;
        let mut blur = BlurParams::default();
        let mut unpack = UnpackParams::default();
        let mut reduce = BlurParams::default();
        for p in 0..3 {
            let g = bg.planes[p];
            let (k, kr) = kernels[p];
            blur.ops[p] = BlurOp {
                src: g.into(),
                dst: g.into(),
                region: [0, 0, g.width, g.height],
                kernel: [k, kr, 0, 0],
            };
            // exact: unpack into the final planes; fast: the first 2x decimation, then
            // `reduce2` takes luma to its final level
            unpack.ops[p] = UnpackOp {
                src: src[p].into(),
                dst: bg.first[p].into(),
                margin: [bg.first_margin[p], bg.first_is_final[p] as u32, 0, 0],
            };
            reduce.ops[p] = BlurOp {
                src: bg.first[p].into(),
                dst: g.into(),
                region: [0, 0, g.width, g.height],
                kernel: [0; 4],
            };
        }
        let (q, r) = (&self.ctx.queue, &self.res);
        q.write_buffer(&r.bg_blur_params, 0, bytemuck::bytes_of(&blur));
        q.write_buffer(&r.unpack_params, 0, bytemuck::bytes_of(&unpack));
        q.write_buffer(&r.reduce_params, 0, bytemuck::bytes_of(&reduce));
    }

    pub fn input_format(&self) -> FrameFormat {
        self.input
    }

    /// Format of frames that went through a crop.
    pub fn output_format(&self) -> FrameFormat {
        self.output
    }

    /// The blur actually used (see [`BlurQuality::Fast`]).
    pub fn quality(&self) -> BlurQuality {
        self.quality
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The format `plan` produces.
    pub fn plan_output(&self, plan: &FramePlan) -> FrameFormat {
        if plan.crop.is_some() {
            self.output
        } else {
            self.input
        }
    }

    /// Processes one tightly packed frame into `out` (sized for [`Self::plan_output`]).
    pub fn process(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
    ) -> Result<(), GpuError> {
        self.run(frame, plan, out, None)
    }

    /// Like [`Self::process`], but syncs after every stage and reports the time of each.
    pub fn process_timed(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
    ) -> Result<StageTimes, GpuError> {
        let mut times = StageTimes::default();
        self.run(frame, plan, out, Some(&mut times))?;
        Ok(times)
    }

    fn run(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
        times: Option<&mut StageTimes>,
    ) -> Result<(), GpuError> {
        self.run_frame(frame, plan, out, times)
            .map_err(|e| self.ctx.explain(e))
    }

    fn run_frame(
        &mut self,
        frame: &[u8],
        plan: &FramePlan,
        out: &mut [u8],
        mut times: Option<&mut StageTimes>,
    ) -> Result<(), GpuError> {
        let expected_in = self.input.frame_bytes();
        let out_format = self.plan_output(plan);
        if frame.len() != expected_in {
            return Err(GpuError::FrameSize {
                expected: expected_in,
                got: frame.len(),
            });
        }
        if out.len() != out_format.frame_bytes() {
            return Err(GpuError::FrameSize {
                expected: out_format.frame_bytes(),
                got: out.len(),
            });
        }
        if plan.is_identity() {
            out.copy_from_slice(frame);
            return Ok(());
        }
        let t0 = Instant::now();
        self.upload(frame)?;
        let stages = self.stages(plan);
        if let Some(t) = times.as_deref_mut() {
            self.ctx.queue.submit([]);
            self.ctx
                .device
                .poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: None,
                })
                .map_err(|e| GpuError::Map(e.to_string()))?;
            t.stages.push(("upload", t0.elapsed()));
        }
        self.write_uniforms(plan);
        let device = &self.ctx.device;
        let mut encoder = device.create_command_encoder(&Default::default());
        for stage in stages.iter().flatten() {
            let started = Instant::now();
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                self.encode(&mut pass, *stage, plan);
            }
            if let Some(t) = times.as_deref_mut() {
                let done = std::mem::replace(
                    &mut encoder,
                    device.create_command_encoder(&Default::default()),
                );
                self.ctx.queue.submit([done.finish()]);
                self.ctx
                    .device
                    .poll(wgpu::PollType::Wait {
                        submission_index: None,
                        timeout: None,
                    })
                    .map_err(|e| GpuError::Map(e.to_string()))?;
                t.stages.push((stage.name(), started.elapsed()));
            }
        }
        let result = if plan.crop.is_some() {
            &self.res.output
        } else {
            &self.res.mid
        };
        let bytes = out_format.gpu_packed_words() as u64 * 4;
        self.res.readback.copy_from(&mut encoder, result, bytes);
        let started = Instant::now();
        self.ctx.queue.submit([encoder.finish()]);
        self.res.readback.read(&self.ctx.device, bytes, |data| {
            out_format.gpu_to_host(data, out)
        })?;
        if let Some(t) = times {
            t.stages.push(("readback", started.elapsed()));
        }
        self.ctx.check()
    }

    /// Stages `plan` needs, in order (`None` entries are skipped).
    fn stages(&self, plan: &FramePlan) -> [Option<Stage>; 4] {
        let overlay = !plan.ellipses.is_empty();
        [
            overlay.then_some(Stage::Mask),
            (overlay && plan.effect == EffectType::Blur).then_some(Stage::Background),
            overlay.then_some(Stage::Composite),
            plan.crop.is_some().then_some(Stage::Crop),
        ]
    }

    fn upload(&self, frame: &[u8]) -> Result<(), GpuError> {
        let words = self.input.gpu_packed_words() as u64;
        let size = wgpu::BufferSize::new(words * 4).expect("frames are never empty");
        let mut view = self
            .ctx
            .queue
            .write_buffer_with(&self.res.input, 0, size)
            .ok_or_else(|| GpuError::Validation("frame upload rejected".into()))?;
        self.input.host_to_gpu_rows(frame, |offset, row| {
            view.slice(offset..offset + row.len()).copy_from_slice(row);
        });
        Ok(())
    }

    fn write_uniforms(&self, plan: &FramePlan) {
        let q = &self.ctx.queue;
        let r = &self.res;
        let (w, h) = (self.input.width, self.input.height);
        if !plan.ellipses.is_empty() {
            // validation caps regions at `Limits::max_regions`, which the buffer holds
            let n = plan.ellipses.len().min(MAX_ELLIPSES);
            let mut buf = [GpuEllipse::default(); MAX_ELLIPSES];
            for (dst, e) in buf.iter_mut().zip(&plan.ellipses[..n]) {
                *dst = GpuEllipse {
                    center: [e.cx, e.cy],
                    radius: [e.rx, e.ry],
                    opacity: e.opacity,
                    _pad: [0.0; 3],
                };
            }
            q.write_buffer(&r.ellipses, 0, bytemuck::cast_slice(&buf[..n]));
            let b = plan.mask_box(w, h);
            let fill_box = grow(b, FEATHER_RADIUS as u32, w, h);
            let mask_plane = PlaneGeom {
                offset: 0,
                stride: w,
                width: w,
                height: h,
            };
            q.write_buffer(
                &r.fill_params,
                0,
                bytemuck::bytes_of(&FillParams {
                    dst: mask_plane.into(),
                    region: [fill_box.x0, fill_box.y0, fill_box.x1, fill_box.y1],
                    count: [n as u32, 0, 0, 0],
                }),
            );
            let (fk, fr) = self.feather_kernel;
            let feather_op = |region: PixelBox| BlurOp {
                src: mask_plane.into(),
                dst: mask_plane.into(),
                region: [region.x0, region.y0, region.x1, region.y1],
                kernel: [fk, fr, 0, 0],
            };
            // horizontal: the box's columns over the rows the vertical pass reads
            let rows = PixelBox {
                x0: b.x0,
                x1: b.x1,
                ..fill_box
            };
            let mut ops = BlurParams::default();
            ops.ops[0] = feather_op(rows);
            q.write_buffer(&r.feather_h_params, 0, bytemuck::bytes_of(&ops));
            ops.ops[0] = feather_op(b);
            q.write_buffer(&r.feather_v_params, 0, bytemuck::bytes_of(&ops));

            let src_planes = self.input.gpu_packed_planes();
            let mode = match (plan.effect, self.quality) {
                (EffectType::Spotlight, _) => CompositeMode::Spotlight,
                (EffectType::Blur, BlurQuality::Exact) => CompositeMode::FullResBackground,
                (EffectType::Blur, BlurQuality::Fast) => CompositeMode::ReducedBackground,
            };
            let cp = CompositeParams {
                planes: std::array::from_fn(|p| CompositePlane {
                    src: src_planes[p].into(),
                    dst: src_planes[p].into(),
                    bg: self.background.planes[p].into(),
                    black: if p == 0 {
                        self.input.color.range.luma_black()
                    } else {
                        128.0
                    },
                    factor: SPOTLIGHT_FACTOR,
                    chroma: (p > 0) as u32,
                    _pad: 0,
                    bg_sampling: self.background.sampling[p],
                }),
                mask: mask_plane.into(),
                mask_box: [b.x0, b.y0, b.x1, b.y1],
                mode: [mode as u32, 0, 0, 0],
            };
            q.write_buffer(&r.composite_params, 0, bytemuck::bytes_of(&cp));
        }
        if let Some(crop) = plan.crop {
            let (wp, rp) = self.resize_params(&crop);
            q.write_buffer(&r.weight_params, 0, bytemuck::bytes_of(&wp));
            q.write_buffer(&r.resize_params, 0, bytemuck::bytes_of(&rp));
        }
    }

    fn resize_params(&self, crop: &CropRect) -> (WeightParams, ResizeParams) {
        let (ow, oh) = (self.output.width, self.output.height);
        let axes = [0u32, 1]
            .map(|shift| crate::reference::resize::plane_axes(crop, &self.input, ow, oh, shift));
        let all: [ResampleAxis; 4] = [axes[0].0, axes[0].1, axes[1].0, axes[1].1];
        let taps = all.iter().map(|a| a.taps()).max().unwrap_or(1);
        let mut wp = WeightParams {
            taps: [taps, 0, 0, 0],
            ..Default::default()
        };
        let mut table = 0u32;
        for (i, a) in all.iter().enumerate() {
            wp.axes[i] = GpuAxis {
                src_start: a.src_start as f32,
                scale: a.scale as f32,
                filter_scale: a.filter_scale() as f32,
                out_len: a.out_len,
                table,
                _pad: [0; 3],
            };
            table += a.out_len * (taps + 1);
        }
        let src = self.input.gpu_packed_planes();
        let dst = self.output.gpu_packed_planes();
        let mut rp = ResizeParams::default();
        let mut tmp_off = 0;
        for p in 0..3 {
            let class = if p == 0 { 0 } else { 2 };
            let ph = self.input.plane_size(p).1;
            let out_w = dst[p].width;
            rp.planes[p] = ResizePlane {
                src: src[p].into(),
                tmp: GpuPlane {
                    offset: tmp_off,
                    stride: out_w,
                    width: out_w,
                    height: ph,
                },
                dst: dst[p].into(),
                tables: [wp.axes[class].table, wp.axes[class + 1].table, taps, 0],
            };
            tmp_off += out_w * ph;
        }
        (wp, rp)
    }

    fn encode(&self, pass: &mut wgpu::ComputePass<'_>, stage: Stage, plan: &FramePlan) {
        let k = &self.ctx.kernels;
        let r = &self.res;
        let (w, h) = (self.input.width, self.input.height);
        match stage {
            Stage::Mask => {
                let b = plan.mask_box(w, h);
                let fill_box = grow(b, FEATHER_RADIUS as u32, w, h);
                dispatch(
                    pass,
                    &k.mask_fill,
                    &r.fill_group,
                    (fill_box.width(), fill_box.height(), 1),
                );
                dispatch(
                    pass,
                    &k.blur_h,
                    &r.feather_h_group,
                    (b.width().div_ceil(BLUR_OUTPUTS), fill_box.height(), 1),
                );
                dispatch(
                    pass,
                    &k.blur_v,
                    &r.feather_v_group,
                    (b.width(), b.height().div_ceil(BLUR_OUTPUTS), 1),
                );
            }
            Stage::Background => {
                let planes = self.background.planes;
                let mw = planes.iter().map(|p| p.width).max().unwrap_or(0);
                let mh = planes.iter().map(|p| p.height).max().unwrap_or(0);
                match self.quality {
                    BlurQuality::Fast => {
                        let f = self.background.first;
                        let pairs = |g: PlaneGeom| (g.width.div_ceil(DOWNSAMPLE_OUTPUTS), g.height);
                        let size = sheet_size(pairs(f[0]), pairs(f[1]));
                        dispatch(pass, &k.downsample2, &r.downsample_group, size);
                        // only luma needs a second level (see `FAST_BLUR_LEVELS`)
                        let luma = planes[0];
                        dispatch(
                            pass,
                            &k.reduce2,
                            &r.reduce_group,
                            (luma.width, luma.height, 1),
                        );
                    }
                    BlurQuality::Exact => {
                        let words = self.input.gpu_packed_planes()[0].stride;
                        dispatch(pass, &k.unpack, &r.unpack_group, (words, h, 3))
                    }
                }
                let groups = (mw.div_ceil(BLUR_OUTPUTS), mh, 3);
                dispatch(pass, &k.blur_h, &r.bg_h_group, groups);
                let groups = (mw, mh.div_ceil(BLUR_OUTPUTS), 3);
                dispatch(pass, &k.blur_v, &r.bg_v_group, groups);
            }
            Stage::Composite => {
                // one invocation per word of a row pair
                let p = self.input.gpu_packed_planes();
                let size = sheet_size(
                    (p[0].stride, p[0].height.div_ceil(2)),
                    (p[1].stride, p[1].height.div_ceil(2)),
                );
                dispatch(pass, &k.composite, &r.composite_group, size);
            }
            Stage::Crop => {
                let (ow, oh) = (self.output.width, self.output.height);
                dispatch(
                    pass,
                    &k.lanczos_weights,
                    &r.weights_group,
                    (ow.max(oh), 1, 4),
                );
                let group = if plan.ellipses.is_empty() {
                    &r.resize_h_from_input
                } else {
                    &r.resize_h_from_mid
                };
                dispatch(pass, &k.resize_h, group, (ow, h, 3));
                let words = self.output.gpu_packed_planes()[0].stride;
                dispatch(pass, &k.resize_v, &r.resize_v_group, (words, oh, 3));
            }
        }
    }

    /// Debug/test access: the feathered luma mask of the last processed frame (`w * h`).
    pub fn read_mask(&self) -> Result<Vec<f32>, GpuError> {
        self.read_f32(
            &self.res.mask,
            (self.input.width * self.input.height) as usize,
        )
    }

    /// Where the blurred background planes sit: full size (exact) or reduced by
    /// [`FAST_BLUR_LEVELS`] with margins (fast, see [`crate::effects::reduce`]).
    pub fn background_planes(&self) -> [PlaneGeom; 3] {
        self.background.planes
    }

    /// Debug/test access: the blurred background planes of the last processed blur frame, in
    /// [`Self::background_planes`] layout.
    pub fn read_background(&self) -> Result<Vec<f32>, GpuError> {
        let len = planes_len(&self.background.planes);
        self.read_f32(&self.res.bg_a, len as usize)
    }

    fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, GpuError> {
        let rb = crate::gpu::buffers::Readback::new(&self.ctx.device, len as u64 * 4);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        rb.copy_from(&mut encoder, buffer, len as u64 * 4);
        self.ctx.queue.submit([encoder.finish()]);
        rb.read(&self.ctx.device, len as u64 * 4, |d| {
            bytemuck::cast_slice::<u8, f32>(d)[..len].to_vec()
        })
    }
}

/// `b` grown by `r` on every side, clamped to `w x h`.
fn grow(b: PixelBox, r: u32, w: u32, h: u32) -> PixelBox {
    PixelBox {
        x0: b.x0.saturating_sub(r),
        y0: b.y0.saturating_sub(r),
        x1: (b.x1 + r).min(w),
        y1: (b.y1 + r).min(h),
    }
}

#[cfg(test)]
mod tests {
    use super::{BLUR_OUTPUTS, DOWNSAMPLE_OUTPUTS};
    use crate::gpu::shaders::{self, ShaderFile};

    fn wgsl_u32_constant(shader: &ShaderFile, name: &str) -> u32 {
        let module = shader.validate().unwrap();
        let (_, c) = module
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} in {}", shader.name));
        match module.global_expressions[c.init] {
            naga::Expression::Literal(naga::Literal::U32(v)) => v,
            ref other => panic!("{name} is {other:?}"),
        }
    }

    /// The dispatch sizes assume the shaders' outputs per invocation.
    #[test]
    fn outputs_per_invocation_match_the_shaders() {
        assert_eq!(wgsl_u32_constant(&shaders::BLUR, "OUTPUTS"), BLUR_OUTPUTS);
        assert_eq!(
            wgsl_u32_constant(&shaders::UNPACK, "DOWNSAMPLE_OUTPUTS"),
            DOWNSAMPLE_OUTPUTS
        );
    }
}
