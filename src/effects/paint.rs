//! §9's highlight drawing (paint.wgsl): dim outside, boost or fill inside, outline and stroke
//! along an ellipse, each a [`PaintOp`] blended in order, in place on the frame. Only the
//! pixels an op can change are dispatched (the whole frame when one dims the outside).
//! CPU reference: [`crate::reference::paint`].

use super::params::GpuPlane;
use super::pass::{FrameBuffers, Pass, Slot};
use crate::color::Affine3;
use crate::frame::FrameFormat;
use crate::gpu::GpuContext;
use crate::gpu::buffers::{bind, dispatch, sheet_size, storage, uniform};
use crate::job::overlay_v2::MAX_ACTIVE_HIGHLIGHTS;
use crate::job::timeline::{Coverage, FramePlan, PaintOp, PixelBox};

/// Most ops on one frame: (dim or boost), fill, outline and stroke per region.
pub const MAX_PAINT_OPS: usize = 4 * MAX_ACTIVE_HIGHLIGHTS;

/// paint.wgsl `PaintOp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuPaintOp {
    pub ellipse: [f32; 4],
    pub color: [f32; 4],
    pub arc: [f32; 4],
    pub mode: [u32; 4],
    pub size: [f32; 4],
}

/// paint.wgsl `PaintParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PaintParams {
    pub planes: [GpuPlane; 3],
    pub region: [u32; 4],
    pub count: [u32; 4],
}

/// `op` as the shader reads it, its colour converted with `rgb_to_yuv`.
pub fn gpu_op(op: &PaintOp, rgb_to_yuv: &Affine3) -> GpuPaintOp {
    let yuv = rgb_to_yuv.apply(op.rgb.map(f64::from));
    let (mode, width, arc) = match op.coverage {
        Coverage::Outside => (0, 0.0, None),
        Coverage::Inside => (1, 0.0, None),
        Coverage::Ring { width, arc } => (2, width, arc),
    };
    let (rx, ry) = op.reach();
    GpuPaintOp {
        ellipse: [op.cx as f32, op.cy as f32, op.rx as f32, op.ry as f32],
        color: [yuv[0] as f32, yuv[1] as f32, yuv[2] as f32, op.alpha],
        arc: arc.map_or([0.0; 4], |a| [a.from[0], a.from[1], a.to[0], a.to[1]]),
        mode: [mode, arc.is_some() as u32, 0, 0],
        size: [width, rx as f32, ry as f32, 0.0],
    }
}

/// The luma pixels `ops` can change in a `w x h` frame, with even bounds (whole chroma
/// samples): everything when one covers the outside of its ellipse.
pub fn paint_region(ops: &[PaintOp], w: u32, h: u32) -> PixelBox {
    if ops.iter().any(|o| o.coverage == Coverage::Outside) {
        return PixelBox {
            x0: 0,
            y0: 0,
            x1: w,
            y1: h,
        };
    }
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for o in ops {
        let (rx, ry) = o.reach();
        x0 = x0.min(o.cx as i64 - rx as i64);
        y0 = y0.min(o.cy as i64 - ry as i64);
        x1 = x1.max(o.cx as i64 + rx as i64 + 1);
        y1 = y1.max(o.cy as i64 + ry as i64 + 1);
    }
    if ops.is_empty() {
        return PixelBox::default();
    }
    let even_down = |v: i64, hi: u32| (v.clamp(0, hi as i64) as u32) & !1;
    let even_up = |v: i64, hi: u32| ((v.clamp(0, hi as i64) as u32 + 1) & !1).min(hi);
    PixelBox {
        x0: even_down(x0, w),
        y0: even_down(y0, h),
        x1: even_up(x1, w),
        y1: even_up(y1, h),
    }
}

/// The paint pass of one frame format.
pub struct PaintPass {
    format: FrameFormat,
    rgb_to_yuv: Affine3,
    pipeline: wgpu::ComputePipeline,
    ops: wgpu::Buffer,
    params: wgpu::Buffer,
    on_input: wgpu::BindGroup,
    on_mid: wgpu::BindGroup,
    /// Kept between `prepare` and `record`.
    region: PixelBox,
    staging: Box<[GpuPaintOp; MAX_PAINT_OPS]>,
}

impl PaintPass {
    pub fn new(ctx: &GpuContext, frames: &FrameBuffers) -> Self {
        let d = &ctx.device;
        let k = &ctx.kernels;
        let ops = storage(
            d,
            "paint ops",
            (MAX_PAINT_OPS * std::mem::size_of::<GpuPaintOp>()) as u64,
        );
        let params = uniform::<PaintParams>(d, "paint params");
        let group = |label, frame: &wgpu::Buffer| {
            bind(d, label, &k.paint, &[(0, &params), (1, &ops), (2, frame)])
        };
        let format = frames.input_format;
        Self {
            format,
            rgb_to_yuv: format.color.rgb_to_yuv(),
            pipeline: k.paint.clone(),
            on_input: group("paint (input)", &frames.input),
            on_mid: group("paint (mid)", &frames.mid),
            ops,
            params,
            region: PixelBox::default(),
            staging: Box::new([GpuPaintOp::default(); MAX_PAINT_OPS]),
        }
    }
}

impl Pass for PaintPass {
    fn name(&self) -> &'static str {
        "paint"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        // validation caps active regions, and the timeline their ops, at what this holds
        let n = plan.paint.len().min(MAX_PAINT_OPS);
        for (dst, op) in self.staging.iter_mut().zip(&plan.paint[..n]) {
            *dst = gpu_op(op, &self.rgb_to_yuv);
        }
        let (w, h) = (self.format.width, self.format.height);
        self.region = paint_region(&plan.paint[..n], w, h);
        let r = self.region;
        q.write_buffer(
            &self.ops,
            0,
            bytemuck::cast_slice(&self.staging[..n.max(1)]),
        );
        let planes = self.format.gpu_packed_planes();
        q.write_buffer(
            &self.params,
            0,
            bytemuck::bytes_of(&PaintParams {
                planes: planes.map(GpuPlane::from),
                region: [r.x0, r.y0, r.x1, r.y1],
                count: [n as u32, 0, 0, 0],
            }),
        );
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, _plan: &FramePlan, at: Slot) -> Slot {
        let r = self.region;
        if r.is_empty() {
            return at;
        }
        let luma = (r.x1.div_ceil(4) - r.x0 / 4, r.y1 - r.y0);
        let chroma = (
            r.x1.div_ceil(2).div_ceil(4) - r.x0 / 8,
            r.y1.div_ceil(2) - r.y0 / 2,
        );
        let group = match at {
            Slot::Input => &self.on_input,
            Slot::Mid => &self.on_mid,
            Slot::Output => unreachable!("paint runs before the crop"),
        };
        dispatch(pass, &self.pipeline, group, sheet_size(luma, chroma));
        at
    }
}
