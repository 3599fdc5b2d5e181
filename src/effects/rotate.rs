//! §10's rotated crop (rotate.wgsl): rotation about the frame's centre, crop and Lanczos
//! resize to the output in one resample from the source frame, with no rotated canvas in
//! between. Reads the frame where it is, writes `Output`. CPU reference:
//! [`crate::reference::rotate`].

use super::kernels::{LANCZOS_A, MAX_FILTER_SCALE};
use super::params::GpuPlane;
use super::pass::{FrameBuffers, Pass, Slot};
use crate::frame::FrameFormat;
use crate::gpu::GpuContext;
use crate::gpu::buffers::{bind, dispatch, uniform};
use crate::job::timeline::{FramePlan, Rotated};

/// rotate.wgsl `RotateParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RotateParams {
    pub src: [GpuPlane; 3],
    pub dst: [GpuPlane; 3],
    pub origin: [[f32; 4]; 2],
    pub axes: [f32; 4],
    pub rot: [f32; 4],
    pub reach: [f32; 4],
    pub black: [f32; 4],
}

/// The uniforms for `r` from `src` frames to `out` frames.
pub fn rotate_params(r: &Rotated, src: &FrameFormat, out: &FrameFormat) -> RotateParams {
    let (w, h) = (src.width as f64, src.height as f64);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (sn, cs) = r.degrees.to_radians().sin_cos();
    let (sx, sy) = (
        r.crop.width as f64 / out.width as f64,
        r.crop.height as f64 / out.height as f64,
    );
    // source = C + Mᵀ (rotated − C), Mᵀ = [[cos, −sin], [sin, cos]]; rotated = crop + S·o
    let (qx, qy) = (r.crop.x as f64 - cx, r.crop.y as f64 - cy);
    let bx = cx + cs * qx - sn * qy;
    let by = cy + sn * qx + cs * qy;
    let (fx, fy) = (
        sx.clamp(1.0, MAX_FILTER_SCALE),
        sy.clamp(1.0, MAX_FILTER_SCALE),
    );
    let a = LANCZOS_A;
    let (ac, asn) = (cs.abs(), sn.abs());
    RotateParams {
        src: src.gpu_packed_planes().map(GpuPlane::from),
        dst: out.gpu_packed_planes().map(GpuPlane::from),
        origin: [
            [bx as f32, by as f32, 0.0, 0.0],
            [(bx / 2.0) as f32, (by / 2.0) as f32, 0.0, 0.0],
        ],
        axes: [
            (cs * sx) as f32,
            (sn * sx) as f32,
            (-sn * sy) as f32,
            (cs * sy) as f32,
        ],
        rot: [cs as f32, sn as f32, (1.0 / fx) as f32, (1.0 / fy) as f32],
        reach: [
            (a * (fx * ac + fy * asn)) as f32,
            (a * (fx * asn + fy * ac)) as f32,
            sx.max(sy) as f32,
            0.0,
        ],
        black: [src.color.range.luma_black(), 128.0, 0.0, 0.0],
    }
}

/// The rotated-crop pass of one input and output format.
pub struct RotatePass {
    input: FrameFormat,
    output: FrameFormat,
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    from_input: wgpu::BindGroup,
    from_mid: wgpu::BindGroup,
}

impl RotatePass {
    pub fn new(ctx: &GpuContext, frames: &FrameBuffers) -> Self {
        let d = &ctx.device;
        let k = &ctx.kernels;
        let params = uniform::<RotateParams>(d, "rotate params");
        let group = |label, src: &wgpu::Buffer| {
            bind(
                d,
                label,
                &k.rotate,
                &[(0, &params), (1, src), (2, &frames.output)],
            )
        };
        Self {
            input: frames.input_format,
            output: frames.output_format,
            pipeline: k.rotate.clone(),
            from_input: group("rotate (input)", &frames.input),
            from_mid: group("rotate (mid)", &frames.mid),
            params,
        }
    }
}

impl Pass for RotatePass {
    fn name(&self) -> &'static str {
        "rotate + crop + lanczos"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        if let Some(r) = &plan.rotated {
            let p = rotate_params(r, &self.input, &self.output);
            q.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        }
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, _plan: &FramePlan, at: Slot) -> Slot {
        let group = match at {
            Slot::Input => &self.from_input,
            Slot::Mid => &self.from_mid,
            Slot::Output => unreachable!("the rotated crop reads a frame of the input format"),
        };
        let words = self.output.gpu_packed_planes()[0].stride;
        dispatch(pass, &self.pipeline, group, (words, self.output.height, 3));
        Slot::Output
    }
}
