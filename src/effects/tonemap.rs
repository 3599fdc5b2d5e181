//! HDR to SDR (tonemap.wgsl, contract §17): the first pass of an HDR source's frames, from the
//! decoder's planar 10-bit 4:2:0 samples to the engine's 8-bit BT.709 limited frame, so every
//! other pass works on SDR. CPU reference: [`crate::reference::hdr`].

use std::sync::Arc;

use super::params::GpuPlane;
use crate::color::{ColorSpec, HdrTransfer};
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::buffers::{Readback, bind, storage, uniform};
use crate::gpu::{GpuContext, GpuError};

/// SDR white (cd/m²): BT.2408's HDR reference white, which becomes SDR white (§17).
pub const SDR_WHITE: f32 = 203.0;

/// tonemap.wgsl `ToneMap`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ToneMapUniform {
    pub size: [u32; 4],
    pub src: [u32; 4],
    pub levels: [f32; 4],
    pub planes: [GpuPlane; 3],
    pub rows: [[f32; 4]; 3],
}

/// Maps 10-bit frames of one size and transfer to 8-bit BT.709 frames.
pub struct ToneMapper {
    ctx: Arc<GpuContext>,
    format: FrameFormat,
    src: wgpu::Buffer,
    out: wgpu::Buffer,
    group: wgpu::BindGroup,
    readback: Readback,
    samples: usize,
    staged: Vec<u8>,
}

impl ToneMapper {
    /// For `width × height` frames of `transfer`, mapped from `peak` cd/m² to SDR white.
    pub fn new(
        ctx: Arc<GpuContext>,
        width: u32,
        height: u32,
        transfer: HdrTransfer,
        peak: f64,
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let format = FrameFormat::new(width, height, ColorSpec::default());
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let samples = (width * height + 2 * cw * ch) as usize;
        let src = storage(d, "tonemap src", (samples as u64 * 2).next_multiple_of(4));
        let out_bytes = format.gpu_packed_words() as u64 * 4;
        let out = storage(d, "tonemap out", out_bytes);
        let u = uniform::<ToneMapUniform>(d, "tonemap");
        ctx.queue.write_buffer(
            &u,
            0,
            bytemuck::bytes_of(&ToneMapUniform {
                size: [
                    width,
                    height,
                    match transfer {
                        HdrTransfer::Pq => 0,
                        HdrTransfer::Hlg => 1,
                    },
                    cw,
                ],
                src: [0, width * height, width * height + cw * ch, ch],
                levels: [peak as f32, SDR_WHITE, 0.0, 0.0],
                planes: format.gpu_packed_planes().map(GpuPlane::from),
                rows: format.color.rgb_to_yuv().to_gpu_rows(),
            }),
        );
        let group = bind(
            d,
            "tonemap",
            &ctx.kernels.tonemap,
            &[(0, &u), (1, &src), (2, &out)],
        );
        Ok(Self {
            readback: Readback::new(d, out_bytes),
            staged: vec![0; (samples * 2).next_multiple_of(4)],
            ctx,
            format,
            src,
            out,
            group,
            samples,
        })
    }

    /// The 8-bit frames it makes.
    pub fn format(&self) -> FrameFormat {
        self.format
    }

    /// Maps one frame: `samples` the 10-bit planes one after the other (`yuv420p10le` as the
    /// decoder writes it, little-endian), into `out`.
    pub fn map(&mut self, samples: &[u8], out: &mut YuvFrame) -> Result<(), GpuError> {
        if samples.len() != self.samples * 2 {
            return Err(GpuError::FrameSize {
                expected: self.samples * 2,
                got: samples.len(),
            });
        }
        self.staged[..samples.len()].copy_from_slice(samples);
        let q = &self.ctx.queue;
        q.write_buffer(&self.src, 0, &self.staged);
        let f = self.format;
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.ctx.kernels.tonemap);
            pass.set_bind_group(0, &self.group, &[]);
            pass.dispatch_workgroups(
                f.width.div_ceil(8).div_ceil(8),
                f.height.div_ceil(2).div_ceil(8),
                1,
            );
        }
        let bytes = f.gpu_packed_words() as u64 * 4;
        self.readback.copy_from(&mut enc, &self.out, bytes);
        q.submit([enc.finish()]);
        self.readback
            .read(&self.ctx.device, bytes, |d| f.gpu_to_host(d, &mut out.data))?;
        self.ctx.check()
    }
}
