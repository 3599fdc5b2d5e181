//! What every engine pass has in common: the frame buffers it reads and writes, and the two
//! steps of a frame (write this frame's uniforms, then record the dispatches).

use crate::frame::FrameFormat;
use crate::gpu::buffers::storage;
use crate::gpu::{GpuContext, GpuError};
use crate::job::FramePlan;

/// A storage buffer of `bytes` for frames of `format`, or [`GpuError::TooLarge`] when the
/// adapter cannot bind one that large.
pub fn sized_storage(
    ctx: &GpuContext,
    label: &str,
    bytes: u64,
    format: &FrameFormat,
) -> Result<wgpu::Buffer, GpuError> {
    let limit = ctx.max_buffer_bytes();
    if bytes > limit {
        return Err(GpuError::TooLarge {
            width: format.width,
            height: format.height,
            needed: bytes,
            limit,
        });
    }
    Ok(storage(&ctx.device, label, bytes))
}

/// Which of the engine's frame buffers holds the frame between passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The uploaded frame (passes may change it in place: it is re-uploaded every frame).
    Input,
    /// The feathered composite's result (input format).
    Mid,
    /// The crop's result (output format).
    Output,
}

/// The packed frame buffers every pass works on, created once per format.
pub struct FrameBuffers {
    pub input_format: FrameFormat,
    pub output_format: FrameFormat,
    pub input: wgpu::Buffer,
    pub mid: wgpu::Buffer,
    pub output: wgpu::Buffer,
    /// A second output-format frame a dissolve mixes with (uploaded only then).
    pub other: wgpu::Buffer,
}

impl FrameBuffers {
    pub fn new(ctx: &GpuContext, input: FrameFormat, output: FrameFormat) -> Self {
        let d = &ctx.device;
        let in_bytes = input.gpu_packed_words() as u64 * 4;
        let out_bytes = output.gpu_packed_words() as u64 * 4;
        Self {
            input_format: input,
            output_format: output,
            input: storage(d, "frame in", in_bytes),
            mid: storage(d, "frame mid", in_bytes),
            output: storage(d, "frame out", out_bytes),
            other: storage(d, "frame other", out_bytes),
        }
    }

    pub fn get(&self, slot: Slot) -> &wgpu::Buffer {
        match slot {
            Slot::Input => &self.input,
            Slot::Mid => &self.mid,
            Slot::Output => &self.output,
        }
    }
}

/// One effect on the GPU: its WGSL, its uniform layout, and how to fill and record it.
pub trait Pass {
    /// Stage name for timings.
    fn name(&self) -> &'static str;
    /// Writes the uniforms `plan` needs (before the frame's commands are submitted).
    fn prepare(&mut self, queue: &wgpu::Queue, plan: &FramePlan);
    /// Records the pass on the frame held in `at`; returns where it leaves the frame.
    fn record(&self, pass: &mut wgpu::ComputePass<'_>, plan: &FramePlan, at: Slot) -> Slot;
}
