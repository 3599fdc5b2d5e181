//! §10's transitions (mix.wgsl): the output frame faded toward black, or dissolved with a
//! second output-size frame, in place. CPU reference: [`crate::reference::mix`].

use super::params::GpuPlane;
use super::pass::{FrameBuffers, Pass, Slot};
use crate::frame::FrameFormat;
use crate::gpu::GpuContext;
use crate::gpu::buffers::{bind, dispatch, sheet_size, uniform};
use crate::job::timeline::{FramePlan, Mix};

/// mix.wgsl `MixParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MixParams {
    pub planes: [GpuPlane; 3],
    pub black: [f32; 4],
    pub mode: [u32; 4],
    pub weight: [f32; 4],
}

/// The mix pass on output frames.
pub struct MixPass {
    format: FrameFormat,
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    group: wgpu::BindGroup,
}

impl MixPass {
    pub fn new(ctx: &GpuContext, frames: &FrameBuffers) -> Self {
        let d = &ctx.device;
        let params = uniform::<MixParams>(d, "mix params");
        Self {
            format: frames.output_format,
            pipeline: ctx.kernels.mix.clone(),
            group: bind(
                d,
                "mix",
                &ctx.kernels.mix,
                &[(0, &params), (1, &frames.other), (2, &frames.output)],
            ),
            params,
        }
    }
}

impl Pass for MixPass {
    fn name(&self) -> &'static str {
        "mix"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        let (mode, weight) = match plan.mix {
            Some(Mix::Black { level }) => (0, level),
            Some(Mix::Other { weight }) => (1, weight),
            None => (0, 1.0),
        };
        let p = MixParams {
            planes: self.format.gpu_packed_planes().map(GpuPlane::from),
            black: [self.format.color.range.luma_black(), 128.0, 0.0, 0.0],
            mode: [mode, 0, 0, 0],
            weight: [weight, 0.0, 0.0, 0.0],
        };
        q.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, _plan: &FramePlan, at: Slot) -> Slot {
        debug_assert_eq!(at, Slot::Output, "the engine mixes only resized frames");
        let p = self.format.gpu_packed_planes();
        let size = sheet_size((p[0].stride, p[0].height), (p[1].stride, p[1].height));
        dispatch(pass, &self.pipeline, &self.group, size);
        Slot::Output
    }
}
