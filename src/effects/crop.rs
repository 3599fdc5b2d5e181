//! Crop + Lanczos (a = 4) resize to the output size (resize.wgsl): per-axis weight tables
//! (`weights`), a horizontal pass into a temporary float plane (`resize_h`), a vertical pass
//! into the packed output (`resize_v`). Reads the frame where it is, writes `Output`.
//! CPU reference: [`crate::reference::resize`].

use super::kernels::{LANCZOS_A, MAX_FILTER_SCALE, ResampleAxis, plane_axes};
use super::params::GpuPlane;
use super::pass::{FrameBuffers, Pass, Slot, sized_storage};
use crate::frame::FrameFormat;
use crate::gpu::buffers::{bind, dispatch, uniform};
use crate::gpu::{GpuContext, GpuError};
use crate::job::timeline::{CropRect, FramePlan};

/// resize.wgsl `Axis`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuAxis {
    pub src_start: f32,
    pub scale: f32,
    pub filter_scale: f32,
    pub out_len: u32,
    pub table: u32,
    pub _pad: [u32; 3],
}

/// resize.wgsl `WeightParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WeightParams {
    pub axes: [GpuAxis; 4],
    pub taps: [u32; 4],
}

/// resize.wgsl `ResizePlane`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ResizePlane {
    pub src: GpuPlane,
    pub tmp: GpuPlane,
    pub dst: GpuPlane,
    pub tables: [u32; 4],
}

/// resize.wgsl `ResizeParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ResizeParams {
    pub planes: [ResizePlane; 3],
}

/// Widest Lanczos kernel (taps) the tables are sized for.
pub fn max_taps() -> u32 {
    2 * (LANCZOS_A * MAX_FILTER_SCALE).ceil() as u32 + 1
}

/// The crop pass of one input and output format.
pub struct CropPass {
    input: FrameFormat,
    output: FrameFormat,
    weights_pipeline: wgpu::ComputePipeline,
    h_pipeline: wgpu::ComputePipeline,
    v_pipeline: wgpu::ComputePipeline,
    weight_params: wgpu::Buffer,
    resize_params: wgpu::Buffer,
    weights_group: wgpu::BindGroup,
    h_from_input: wgpu::BindGroup,
    h_from_mid: wgpu::BindGroup,
    v_group: wgpu::BindGroup,
}

impl CropPass {
    pub fn new(ctx: &GpuContext, frames: &FrameBuffers) -> Result<Self, GpuError> {
        let (input, output) = (frames.input_format, frames.output_format);
        let d = &ctx.device;
        let k = &ctx.kernels;
        let sized = |label: &str, bytes: u64| sized_storage(ctx, label, bytes, &output);
        let taps = max_taps() as u64;
        let table_bytes = 4 * output.width.max(output.height) as u64 * (taps + 1) * 4;
        let tmp_bytes = (0..3)
            .map(|p| (output.plane_size(p).0 * input.plane_size(p).1) as u64 * 4)
            .sum::<u64>();
        let tables = sized("lanczos tables", table_bytes)?;
        let tmp = sized("resize tmp", tmp_bytes)?;
        let weight_params = uniform::<WeightParams>(d, "lanczos weight params");
        let resize_params = uniform::<ResizeParams>(d, "resize params");
        let h_from = |label, src: &wgpu::Buffer| {
            bind(
                d,
                label,
                &k.resize_h,
                &[(0, &resize_params), (1, src), (2, &tmp), (3, &tables)],
            )
        };
        Ok(Self {
            input,
            output,
            weights_pipeline: k.lanczos_weights.clone(),
            h_pipeline: k.resize_h.clone(),
            v_pipeline: k.resize_v.clone(),
            weights_group: bind(
                d,
                "lanczos weights",
                &k.lanczos_weights,
                &[(0, &weight_params), (1, &tables)],
            ),
            h_from_input: h_from("resize h (input)", &frames.input),
            h_from_mid: h_from("resize h (mid)", &frames.mid),
            v_group: bind(
                d,
                "resize v",
                &k.resize_v,
                &[
                    (0, &resize_params),
                    (2, &tmp),
                    (3, &tables),
                    (4, &frames.output),
                ],
            ),
            weight_params,
            resize_params,
        })
    }

    /// Writes the uniforms for `crop` (the next frames recorded use it).
    pub fn set_crop(&self, q: &wgpu::Queue, crop: &CropRect) {
        let (wp, rp) = self.params(crop);
        q.write_buffer(&self.weight_params, 0, bytemuck::bytes_of(&wp));
        q.write_buffer(&self.resize_params, 0, bytemuck::bytes_of(&rp));
    }

    fn params(&self, crop: &CropRect) -> (WeightParams, ResizeParams) {
        let (ow, oh) = (self.output.width, self.output.height);
        let axes = [0u32, 1].map(|shift| plane_axes(crop, &self.input, ow, oh, shift));
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
}

impl Pass for CropPass {
    fn name(&self) -> &'static str {
        "crop + lanczos"
    }

    fn prepare(&mut self, q: &wgpu::Queue, plan: &FramePlan) {
        if let Some(crop) = plan.crop {
            self.set_crop(q, &crop);
        }
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, _plan: &FramePlan, at: Slot) -> Slot {
        let (ow, oh) = (self.output.width, self.output.height);
        let h = self.input.height;
        dispatch(
            pass,
            &self.weights_pipeline,
            &self.weights_group,
            (ow.max(oh), 1, 4),
        );
        let group = match at {
            Slot::Input => &self.h_from_input,
            Slot::Mid => &self.h_from_mid,
            Slot::Output => unreachable!("the crop reads a frame of the input format"),
        };
        dispatch(pass, &self.h_pipeline, group, (ow, h, 3));
        let words = self.output.gpu_packed_planes()[0].stride;
        dispatch(pass, &self.v_pipeline, &self.v_group, (words, oh, 3));
        Slot::Output
    }
}
