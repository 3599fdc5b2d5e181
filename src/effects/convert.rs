//! RGBA8 <-> YUV 4:2:0 on the GPU (convert.wgsl), for previews, PNG output and test inputs.

use std::sync::Arc;

use super::params::{ConvertParams, GpuPlane};
use crate::frame::{FrameFormat, YuvFrame};
use crate::gpu::buffers::{Readback, bind, dispatch, storage, uniform};
use crate::gpu::{GpuContext, GpuError};

/// Converts frames of one format between RGBA8 and packed YUV 4:2:0.
pub struct ColorConverter {
    ctx: Arc<GpuContext>,
    format: FrameFormat,
    rgba: wgpu::Buffer,
    yuv: wgpu::Buffer,
    to_yuv_group: wgpu::BindGroup,
    to_rgb_group: wgpu::BindGroup,
    readback: Readback,
}

impl ColorConverter {
    pub fn new(ctx: Arc<GpuContext>, format: FrameFormat) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let rgba_bytes = (format.width * format.height) as u64 * 4;
        let yuv_bytes = format.gpu_packed_words() as u64 * 4;
        let limit = ctx.max_buffer_bytes();
        if rgba_bytes > limit {
            return Err(GpuError::TooLarge {
                width: format.width,
                height: format.height,
                needed: rgba_bytes,
                limit,
            });
        }
        let rgba = storage(d, "rgba", rgba_bytes);
        let yuv = storage(d, "yuv", yuv_bytes);
        let to_yuv_params = uniform::<ConvertParams>(d, "rgba->yuv params");
        let to_rgb_params = uniform::<ConvertParams>(d, "yuv->rgba params");
        let planes = format.gpu_packed_planes().map(GpuPlane::from);
        let size = [format.width, format.height, 0, 0];
        let fwd = ConvertParams {
            rows: format.color.rgb_to_yuv().to_gpu_rows(),
            planes,
            size,
        };
        let inv = ConvertParams {
            rows: format.color.yuv_to_rgb().to_gpu_rows(),
            planes,
            size,
        };
        ctx.queue
            .write_buffer(&to_yuv_params, 0, bytemuck::bytes_of(&fwd));
        ctx.queue
            .write_buffer(&to_rgb_params, 0, bytemuck::bytes_of(&inv));
        let k = &ctx.kernels;
        Ok(Self {
            to_yuv_group: bind(
                d,
                "rgba->yuv",
                &k.rgba_to_yuv,
                &[(0, &to_yuv_params), (1, &rgba), (2, &yuv)],
            ),
            to_rgb_group: bind(
                d,
                "yuv->rgba",
                &k.yuv_to_rgba,
                &[(0, &to_rgb_params), (1, &yuv), (2, &rgba)],
            ),
            readback: Readback::new(d, rgba_bytes.max(yuv_bytes)),
            ctx,
            format,
            rgba,
            yuv,
        })
    }

    /// RGBA8 pixels (`4 * w * h` bytes) to a YUV frame.
    pub fn rgba_to_yuv(&self, rgba: &[u8]) -> Result<YuvFrame, GpuError> {
        let f = self.format;
        let expected = (f.width * f.height * 4) as usize;
        if rgba.len() != expected {
            return Err(GpuError::FrameSize {
                expected,
                got: rgba.len(),
            });
        }
        self.ctx.queue.write_buffer(&self.rgba, 0, rgba);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            let words = f.gpu_packed_planes()[0].stride;
            dispatch(
                &mut pass,
                &self.ctx.kernels.rgba_to_yuv,
                &self.to_yuv_group,
                (words, f.height, 3),
            );
        }
        let bytes = f.gpu_packed_words() as u64 * 4;
        self.readback.copy_from(&mut encoder, &self.yuv, bytes);
        self.ctx.queue.submit([encoder.finish()]);
        let mut frame = YuvFrame::blank(f);
        self.readback.read(&self.ctx.device, bytes, |d| {
            f.gpu_to_host(d, &mut frame.data)
        })?;
        self.ctx.check()?;
        Ok(frame)
    }

    /// A YUV frame to RGBA8 pixels.
    pub fn yuv_to_rgba(&self, frame: &YuvFrame) -> Result<Vec<u8>, GpuError> {
        let f = self.format;
        if frame.format != f {
            return Err(GpuError::FrameSize {
                expected: f.frame_bytes(),
                got: frame.data.len(),
            });
        }
        let bytes = f.gpu_packed_words() as u64 * 4;
        let mut padded = vec![0u8; bytes as usize];
        f.host_to_gpu_rows(&frame.data, |o, row| {
            padded[o..o + row.len()].copy_from_slice(row)
        });
        self.ctx.queue.write_buffer(&self.yuv, 0, &padded);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            dispatch(
                &mut pass,
                &self.ctx.kernels.yuv_to_rgba,
                &self.to_rgb_group,
                (f.width, f.height, 1),
            );
        }
        let rgba_bytes = (f.width * f.height) as u64 * 4;
        self.readback
            .copy_from(&mut encoder, &self.rgba, rgba_bytes);
        self.ctx.queue.submit([encoder.finish()]);
        let out = self.readback.read(&self.ctx.device, rgba_bytes, |d| {
            d[..rgba_bytes as usize].to_vec()
        })?;
        self.ctx.check()?;
        Ok(out)
    }

    pub fn format(&self) -> FrameFormat {
        self.format
    }
}
