//! GPU buffers and bind groups of one [`super::FrameEngine`], created once per format.

use super::MAX_ELLIPSES;
use crate::effects::kernels::{LANCZOS_A, MAX_FILTER_SCALE};
use crate::effects::params::*;
use crate::frame::FrameFormat;
use crate::gpu::buffers::{Readback, bind, storage, uniform};
use crate::gpu::{GpuContext, GpuError};

pub(super) struct Resources {
    pub input: wgpu::Buffer,
    pub mid: wgpu::Buffer,
    pub output: wgpu::Buffer,
    pub readback: Readback,
    pub ellipses: wgpu::Buffer,
    pub mask: wgpu::Buffer,
    pub bg_a: wgpu::Buffer,
    pub fill_params: wgpu::Buffer,
    pub feather_h_params: wgpu::Buffer,
    pub feather_v_params: wgpu::Buffer,
    pub bg_blur_params: wgpu::Buffer,
    pub unpack_params: wgpu::Buffer,
    pub reduce_params: wgpu::Buffer,
    pub composite_params: wgpu::Buffer,
    pub weight_params: wgpu::Buffer,
    pub resize_params: wgpu::Buffer,
    pub fill_group: wgpu::BindGroup,
    pub feather_h_group: wgpu::BindGroup,
    pub feather_v_group: wgpu::BindGroup,
    pub unpack_group: wgpu::BindGroup,
    pub downsample_group: wgpu::BindGroup,
    pub reduce_group: wgpu::BindGroup,
    pub bg_h_group: wgpu::BindGroup,
    pub bg_v_group: wgpu::BindGroup,
    pub composite_group: wgpu::BindGroup,
    pub weights_group: wgpu::BindGroup,
    pub resize_h_from_input: wgpu::BindGroup,
    pub resize_h_from_mid: wgpu::BindGroup,
    pub resize_v_group: wgpu::BindGroup,
}

/// Widest Lanczos kernel (taps) the tables are sized for.
pub fn max_taps() -> u32 {
    2 * (LANCZOS_A * MAX_FILTER_SCALE).ceil() as u32 + 1
}

impl Resources {
    pub fn new(
        ctx: &GpuContext,
        input: FrameFormat,
        output: FrameFormat,
        background_len: u32,
        kernel_weights: &[f32],
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let k = &ctx.kernels;
        let limit = ctx.max_buffer_bytes();
        let sized = |label: &str, bytes: u64, fmt: FrameFormat| {
            if bytes > limit {
                return Err(GpuError::TooLarge {
                    width: fmt.width,
                    height: fmt.height,
                    needed: bytes,
                    limit,
                });
            }
            Ok(storage(d, label, bytes))
        };
        let in_bytes = input.gpu_packed_words() as u64 * 4;
        let out_bytes = output.gpu_packed_words() as u64 * 4;
        let luma = (input.width * input.height) as u64 * 4;
        let bg_bytes = background_len as u64 * 4;
        let taps = max_taps() as u64;
        let table_bytes = 4 * output.width.max(output.height) as u64 * (taps + 1) * 4;
        let tmp_bytes = (0..3)
            .map(|p| (output.plane_size(p).0 * input.plane_size(p).1) as u64 * 4)
            .sum::<u64>();

        let input_buf = sized("frame in", in_bytes, input)?;
        let mid = sized("frame mid", in_bytes, input)?;
        let output_buf = sized("frame out", out_bytes, output)?;
        let readback = Readback::new(d, in_bytes.max(out_bytes));
        let ellipses = storage(
            d,
            "ellipses",
            (MAX_ELLIPSES * std::mem::size_of::<GpuEllipse>()) as u64,
        );
        let mask_fill = sized("mask fill", luma, input)?;
        let mask_tmp = sized("mask tmp", luma, input)?;
        let mask = sized("mask", luma, input)?;
        let bg_a = sized("background a", bg_bytes, input)?;
        let bg_b = sized("background b", bg_bytes, input)?;
        let tables = sized("lanczos tables", table_bytes, output)?;
        let resize_tmp = sized("resize tmp", tmp_bytes, output)?;
        let weights = storage(d, "blur kernels", (kernel_weights.len() * 4) as u64);
        ctx.queue
            .write_buffer(&weights, 0, bytemuck::cast_slice(kernel_weights));

        let fill_params = uniform::<FillParams>(d, "fill params");
        let feather_h_params = uniform::<BlurParams>(d, "feather h params");
        let feather_v_params = uniform::<BlurParams>(d, "feather v params");
        let bg_blur_params = uniform::<BlurParams>(d, "background blur params");
        let unpack_params = uniform::<UnpackParams>(d, "unpack params");
        let reduce_params = uniform::<BlurParams>(d, "reduce params");
        let composite_params = uniform::<CompositeParams>(d, "composite params");
        let weight_params = uniform::<WeightParams>(d, "lanczos weight params");
        let resize_params = uniform::<ResizeParams>(d, "resize params");

        Ok(Self {
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
                    (3, &weights),
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
                    (3, &weights),
                ],
            ),
            unpack_group: bind(
                d,
                "unpack",
                &k.unpack,
                &[(0, &unpack_params), (1, &input_buf), (2, &bg_a)],
            ),
            downsample_group: bind(
                d,
                "downsample",
                &k.downsample2,
                &[(0, &unpack_params), (1, &input_buf), (2, &bg_b), (3, &bg_a)],
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
                &[(0, &bg_blur_params), (1, &bg_a), (2, &bg_b), (3, &weights)],
            ),
            bg_v_group: bind(
                d,
                "background v",
                &k.blur_v,
                &[(0, &bg_blur_params), (1, &bg_b), (2, &bg_a), (3, &weights)],
            ),
            composite_group: bind(
                d,
                "composite",
                &k.composite,
                &[
                    (0, &composite_params),
                    (1, &input_buf),
                    (2, &mid),
                    (3, &bg_a),
                    (4, &mask),
                ],
            ),
            weights_group: bind(
                d,
                "lanczos weights",
                &k.lanczos_weights,
                &[(0, &weight_params), (1, &tables)],
            ),
            resize_h_from_input: bind(
                d,
                "resize h (input)",
                &k.resize_h,
                &[
                    (0, &resize_params),
                    (1, &input_buf),
                    (2, &resize_tmp),
                    (3, &tables),
                ],
            ),
            resize_h_from_mid: bind(
                d,
                "resize h (mid)",
                &k.resize_h,
                &[
                    (0, &resize_params),
                    (1, &mid),
                    (2, &resize_tmp),
                    (3, &tables),
                ],
            ),
            resize_v_group: bind(
                d,
                "resize v",
                &k.resize_v,
                &[
                    (0, &resize_params),
                    (2, &resize_tmp),
                    (3, &tables),
                    (4, &output_buf),
                ],
            ),
            input: input_buf,
            mid,
            output: output_buf,
            readback,
            ellipses,
            mask,
            bg_a,
            fill_params,
            feather_h_params,
            feather_v_params,
            bg_blur_params,
            unpack_params,
            reduce_params,
            composite_params,
            weight_params,
            resize_params,
        })
    }
}
