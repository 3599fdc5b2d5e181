//! §5's highlight (and §9's `blur` / `spotlight`): a feathered ellipse mask (mask.wgsl's
//! `fill`, then the 21x21 feather with blur.wgsl), a background (the frame blurred by
//! blur.wgsl, at full size or decimated by unpack.wgsl, or the frame darkened), and
//! composite.wgsl: `frame × mask + background × (1 − mask)`. Reads the input, writes `Mid`.
//! CPU reference: [`crate::reference::overlay`].

use super::kernels::{
    BACKGROUND_BLUR, FEATHER_BLUR, SPOTLIGHT_FACTOR, background_blur, gaussian_weights,
    reduced_blur,
};
use super::params::*;
use super::pass::{FrameBuffers, Pass, Slot, sized_storage};
use super::reduce::{FAST_BLUR_LEVELS, ReducedGeom, planes_len, reduced_planes};
use crate::frame::{FrameFormat, PlaneGeom};
use crate::gpu::buffers::{bind, dispatch, sheet_size, storage, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::job::EffectType;
use crate::job::params::MAX_REGIONS;
use crate::job::timeline::{FEATHER_RADIUS, FramePlan, PixelBox};

/// Outputs per invocation of blur.wgsl's `blur_h` / `blur_v` (its `OUTPUTS`).
pub const BLUR_OUTPUTS: u32 = 4;

/// Outputs per invocation of unpack.wgsl's `downsample2` (its `DOWNSAMPLE_OUTPUTS`).
pub const DOWNSAMPLE_OUTPUTS: u32 = 2;

/// Most ellipses one frame can hold: the job's own limit on regions active on one frame.
pub const MAX_ELLIPSES: usize = MAX_REGIONS;

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

impl BlurQuality {
    /// The blur actually used for `input` frames: small frames are blurred exactly.
    pub fn for_format(self, input: &FrameFormat) -> Self {
        // Frames smaller than the kernel are mostly border reflection, which the decimated
        // path approximates poorly; they are cheap enough to blur exactly.
        if input.width.min(input.height) < BACKGROUND_BLUR.ksize {
            BlurQuality::Exact
        } else {
            self
        }
    }
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

/// The feathered highlight pass of one frame format.
pub struct FeatherPass {
    input: FrameFormat,
    quality: BlurQuality,
    background: BackgroundLayout,
    /// Offset and radius of the feather kernel in the weights buffer.
    feather_kernel: (u32, u32),
    kernels: Kernels,
    ellipses: wgpu::Buffer,
    mask: wgpu::Buffer,
    bg_a: wgpu::Buffer,
    fill_params: wgpu::Buffer,
    feather_h_params: wgpu::Buffer,
    feather_v_params: wgpu::Buffer,
    composite_params: wgpu::Buffer,
    fill_group: wgpu::BindGroup,
    feather_h_group: wgpu::BindGroup,
    feather_v_group: wgpu::BindGroup,
    unpack_group: wgpu::BindGroup,
    downsample_group: wgpu::BindGroup,
    reduce_group: wgpu::BindGroup,
    bg_h_group: wgpu::BindGroup,
    bg_v_group: wgpu::BindGroup,
    composite_group: wgpu::BindGroup,
}

/// The pipelines this pass dispatches (cloned handles).
struct Kernels {
    mask_fill: wgpu::ComputePipeline,
    blur_h: wgpu::ComputePipeline,
    blur_v: wgpu::ComputePipeline,
    unpack: wgpu::ComputePipeline,
    downsample2: wgpu::ComputePipeline,
    reduce2: wgpu::ComputePipeline,
    composite: wgpu::ComputePipeline,
}

impl FeatherPass {
    pub fn new(
        ctx: &GpuContext,
        frames: &FrameBuffers,
        quality: BlurQuality,
    ) -> Result<Self, GpuError> {
        let input = frames.input_format;
        let quality = quality.for_format(&input);
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

        let d = &ctx.device;
        let k = &ctx.kernels;
        let sized = |label: &str, bytes: u64| sized_storage(ctx, label, bytes, &input);
        let luma = (input.width * input.height) as u64 * 4;
        let bg_bytes = background.buffer_len() as u64 * 4;
        let ellipses = storage(
            d,
            "ellipses",
            (MAX_ELLIPSES * std::mem::size_of::<GpuEllipse>()) as u64,
        );
        let mask_fill = sized("mask fill", luma)?;
        let mask_tmp = sized("mask tmp", luma)?;
        let mask = sized("mask", luma)?;
        let bg_a = sized("background a", bg_bytes)?;
        let bg_b = sized("background b", bg_bytes)?;
        let weights_buf = storage(d, "blur kernels", (weights.len() * 4) as u64);
        ctx.queue
            .write_buffer(&weights_buf, 0, bytemuck::cast_slice(&weights));

        let fill_params = uniform::<FillParams>(d, "fill params");
        let feather_h_params = uniform::<BlurParams>(d, "feather h params");
        let feather_v_params = uniform::<BlurParams>(d, "feather v params");
        let bg_blur_params = uniform::<BlurParams>(d, "background blur params");
        let unpack_params = uniform::<UnpackParams>(d, "unpack params");
        let reduce_params = uniform::<BlurParams>(d, "reduce params");
        let composite_params = uniform::<CompositeParams>(d, "composite params");
        let (input_buf, mid) = (&frames.input, &frames.mid);

        let pass = Self {
            input,
            quality,
            background,
            feather_kernel,
            kernels: Kernels {
                mask_fill: k.mask_fill.clone(),
                blur_h: k.blur_h.clone(),
                blur_v: k.blur_v.clone(),
                unpack: k.unpack.clone(),
                downsample2: k.downsample2.clone(),
                reduce2: k.reduce2.clone(),
                composite: k.composite.clone(),
            },
            fill_group: bind(
                d,
                "fill",
                &k.mask_fill,
                &[(0, &fill_params), (1, &ellipses), (2, &mask_fill)],
            ),
            feather_h_group: bind(
                d,
                "feather h",
                &k.blur_h,
                &[
                    (0, &feather_h_params),
                    (1, &mask_fill),
                    (2, &mask_tmp),
                    (3, &weights_buf),
                ],
            ),
            feather_v_group: bind(
                d,
                "feather v",
                &k.blur_v,
                &[
                    (0, &feather_v_params),
                    (1, &mask_tmp),
                    (2, &mask),
                    (3, &weights_buf),
                ],
            ),
            unpack_group: bind(
                d,
                "unpack",
                &k.unpack,
                &[(0, &unpack_params), (1, input_buf), (2, &bg_a)],
            ),
            downsample_group: bind(
                d,
                "downsample",
                &k.downsample2,
                &[(0, &unpack_params), (1, input_buf), (2, &bg_b), (3, &bg_a)],
            ),
            reduce_group: bind(
                d,
                "reduce",
                &k.reduce2,
                &[(0, &reduce_params), (1, &bg_b), (2, &bg_a)],
            ),
            bg_h_group: bind(
                d,
                "background h",
                &k.blur_h,
                &[
                    (0, &bg_blur_params),
                    (1, &bg_a),
                    (2, &bg_b),
                    (3, &weights_buf),
                ],
            ),
            bg_v_group: bind(
                d,
                "background v",
                &k.blur_v,
                &[
                    (0, &bg_blur_params),
                    (1, &bg_b),
                    (2, &bg_a),
                    (3, &weights_buf),
                ],
            ),
            composite_group: bind(
                d,
                "composite",
                &k.composite,
                &[
                    (0, &composite_params),
                    (1, input_buf),
                    (2, mid),
                    (3, &bg_a),
                    (4, &mask),
                ],
            ),
            ellipses,
            mask,
            bg_a,
            fill_params,
            feather_h_params,
            feather_v_params,
            composite_params,
        };
        pass.write_background_params(
            &ctx.queue,
            background_kernels,
            [&bg_blur_params, &unpack_params, &reduce_params],
        );
        Ok(pass)
    }

    /// The background passes' parameters depend only on the format and quality: written once.
    fn write_background_params(
        &self,
        q: &wgpu::Queue,
        kernels: [(u32, u32); 3],
        [blur_buf, unpack_buf, reduce_buf]: [&wgpu::Buffer; 3],
    ) {
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
        q.write_buffer(blur_buf, 0, bytemuck::bytes_of(&blur));
        q.write_buffer(unpack_buf, 0, bytemuck::bytes_of(&unpack));
        q.write_buffer(reduce_buf, 0, bytemuck::bytes_of(&reduce));
    }

    /// The blur actually used (see [`BlurQuality::Fast`]).
    pub fn quality(&self) -> BlurQuality {
        self.quality
    }

    /// Where the blurred background planes sit: full size (exact) or reduced by
    /// [`FAST_BLUR_LEVELS`] with margins (fast, see [`super::reduce`]).
    pub fn background_planes(&self) -> [PlaneGeom; 3] {
        self.background.planes
    }

    /// The mask buffer (`w * h` floats) and the background buffer, for debugging and tests.
    pub fn debug_buffers(&self) -> (&wgpu::Buffer, &wgpu::Buffer) {
        (&self.mask, &self.bg_a)
    }

    fn mask_plane(&self) -> PlaneGeom {
        let w = self.input.width;
        PlaneGeom {
            offset: 0,
            stride: w,
            width: w,
            height: self.input.height,
        }
    }
}

impl Pass for FeatherPass {
    fn name(&self) -> &'static str {
        "feathered highlight"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        let (w, h) = (self.input.width, self.input.height);
        // validation caps regions at `MAX_REGIONS`, which the buffer holds
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
        q.write_buffer(&self.ellipses, 0, bytemuck::cast_slice(&buf[..n.max(1)]));
        let b = plan.mask_box(w, h);
        let fill_box = grow(b, FEATHER_RADIUS as u32, w, h);
        let mask_plane = self.mask_plane();
        q.write_buffer(
            &self.fill_params,
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
        q.write_buffer(&self.feather_h_params, 0, bytemuck::bytes_of(&ops));
        ops.ops[0] = feather_op(b);
        q.write_buffer(&self.feather_v_params, 0, bytemuck::bytes_of(&ops));

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
        q.write_buffer(&self.composite_params, 0, bytemuck::bytes_of(&cp));
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, plan: &FramePlan, at: Slot) -> Slot {
        // the background and the composite read the uploaded frame: this pass comes first
        debug_assert_eq!(at, Slot::Input, "the feathered highlight runs first");
        let k = &self.kernels;
        let (w, h) = (self.input.width, self.input.height);
        let b = plan.mask_box(w, h);
        let fill_box = grow(b, FEATHER_RADIUS as u32, w, h);
        dispatch(
            pass,
            &k.mask_fill,
            &self.fill_group,
            (fill_box.width(), fill_box.height(), 1),
        );
        dispatch(
            pass,
            &k.blur_h,
            &self.feather_h_group,
            (b.width().div_ceil(BLUR_OUTPUTS), fill_box.height(), 1),
        );
        dispatch(
            pass,
            &k.blur_v,
            &self.feather_v_group,
            (b.width(), b.height().div_ceil(BLUR_OUTPUTS), 1),
        );
        if plan.effect == EffectType::Blur {
            let planes = self.background.planes;
            let mw = planes.iter().map(|p| p.width).max().unwrap_or(0);
            let mh = planes.iter().map(|p| p.height).max().unwrap_or(0);
            match self.quality {
                BlurQuality::Fast => {
                    let f = self.background.first;
                    let pairs = |g: PlaneGeom| (g.width.div_ceil(DOWNSAMPLE_OUTPUTS), g.height);
                    let size = sheet_size(pairs(f[0]), pairs(f[1]));
                    dispatch(pass, &k.downsample2, &self.downsample_group, size);
                    // only luma needs a second level (see `FAST_BLUR_LEVELS`)
                    let luma = planes[0];
                    dispatch(
                        pass,
                        &k.reduce2,
                        &self.reduce_group,
                        (luma.width, luma.height, 1),
                    );
                }
                BlurQuality::Exact => {
                    let words = self.input.gpu_packed_planes()[0].stride;
                    dispatch(pass, &k.unpack, &self.unpack_group, (words, h, 3))
                }
            }
            let groups = (mw.div_ceil(BLUR_OUTPUTS), mh, 3);
            dispatch(pass, &k.blur_h, &self.bg_h_group, groups);
            let groups = (mw, mh.div_ceil(BLUR_OUTPUTS), 3);
            dispatch(pass, &k.blur_v, &self.bg_v_group, groups);
        }
        // one invocation per word of a row pair
        let p = self.input.gpu_packed_planes();
        let size = sheet_size(
            (p[0].stride, p[0].height.div_ceil(2)),
            (p[1].stride, p[1].height.div_ceil(2)),
        );
        dispatch(pass, &k.composite, &self.composite_group, size);
        Slot::Mid
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
    use crate::gpu::shaders::{self, wgsl_u32_constant};

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
