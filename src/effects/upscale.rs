//! §10's `"upscale": "ai"` as one engine pass: the crop (made at the source's resolution by the
//! crop or rotate pass into the network's input frame) through the AI ×4 network
//! ([`super::sr::SrUpscaler`], YUV in and out), then Lanczos from the network's output to the
//! output size ([`super::crop::CropPass`] over the whole upscaled frame). Writes `Output`.
//! CPU reference: [`crate::reference::sr::upscale_yuv`], then [`crate::reference::resize`].

use std::sync::Arc;

use super::crop::CropPass;
use super::pass::{FrameBuffers, Pass, Slot, sized_storage};
use crate::frame::FrameFormat;
use crate::gpu::{GpuContext, GpuError};
use crate::job::timeline::{CropRect, FramePlan};
use crate::nn::srvgg::{SrIo, SrNetwork, SrUpscaler};

/// The upscale pass of one network-input size and output format.
pub struct UpscalePass {
    net: Arc<SrNetwork>,
    sr: SrUpscaler,
    resize: CropPass,
    upscaled: FrameFormat,
    _frame: wgpu::Buffer,
}

impl UpscalePass {
    /// The pass from `input` (a packed frame of `input_format`, what the crop wrote) to the
    /// output frames of `frames`.
    pub fn new(
        ctx: &Arc<GpuContext>,
        net: Arc<SrNetwork>,
        input: &wgpu::Buffer,
        input_format: FrameFormat,
        frames: &FrameBuffers,
        tile: Option<usize>,
    ) -> Result<Self, GpuError> {
        let s = net.scale;
        let upscaled = FrameFormat::new(
            input_format.width * s,
            input_format.height * s,
            input_format.color,
        );
        let frame = sized_storage(
            ctx,
            "upscaled frame",
            upscaled.gpu_packed_words() as u64 * 4,
            &upscaled,
        )?;
        let sr = SrUpscaler::new(
            ctx,
            &net,
            (input_format.width, input_format.height),
            tile,
            SrIo::Yuv {
                src: input,
                dst: &frame,
                color: input_format.color,
            },
        )?;
        // Lanczos over the whole upscaled frame into the engine's output
        let view = FrameBuffers {
            input_format: upscaled,
            output_format: frames.output_format,
            input: frame.clone(),
            mid: frame.clone(),
            output: frames.output.clone(),
            other: frames.other.clone(),
        };
        let resize = CropPass::new(ctx, &view)?;
        resize.set_crop(
            &ctx.queue,
            &CropRect {
                x: 0,
                y: 0,
                width: upscaled.width,
                height: upscaled.height,
            },
        );
        Ok(Self {
            net,
            sr,
            resize,
            upscaled,
            _frame: frame,
        })
    }

    /// The network's input size (the crop is resampled to it).
    pub fn input_size(&self) -> (u32, u32) {
        self.sr.size()
    }

    /// The network's output size.
    pub fn upscaled_size(&self) -> (u32, u32) {
        (self.upscaled.width, self.upscaled.height)
    }

    pub fn network(&self) -> &SrNetwork {
        &self.net
    }

    /// The tile side and tiles per frame.
    pub fn tiling(&self) -> (usize, usize) {
        self.sr.tiling()
    }
}

impl Pass for UpscalePass {
    fn name(&self) -> &'static str {
        "ai x4 + lanczos"
    }

    fn prepare(&mut self, _q: &wgpu::Queue, _plan: &FramePlan) {}

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, plan: &FramePlan, at: Slot) -> Slot {
        debug_assert_eq!(at, Slot::Output, "the network takes the crop's result");
        self.sr.record(pass);
        self.resize.record(pass, plan, Slot::Input)
    }
}
