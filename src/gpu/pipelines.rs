//! Every compute pipeline, compiled once per device (auto layouts from the shaders).

use super::GpuError;
use super::shaders::{self, ShaderFile};

/// The compiled entry points of all shader files.
pub struct Kernels {
    pub blur_h: wgpu::ComputePipeline,
    pub blur_v: wgpu::ComputePipeline,
    pub unpack: wgpu::ComputePipeline,
    pub downsample2: wgpu::ComputePipeline,
    pub reduce2: wgpu::ComputePipeline,
    pub mask_fill: wgpu::ComputePipeline,
    pub composite: wgpu::ComputePipeline,
    pub lanczos_weights: wgpu::ComputePipeline,
    pub resize_h: wgpu::ComputePipeline,
    pub resize_v: wgpu::ComputePipeline,
    pub rgba_to_yuv: wgpu::ComputePipeline,
    pub yuv_to_rgba: wgpu::ComputePipeline,
    pub label_blend: wgpu::ComputePipeline,
    pub paint: wgpu::ComputePipeline,
    pub text_blend: wgpu::ComputePipeline,
    pub rotate: wgpu::ComputePipeline,
    pub mix: wgpu::ComputePipeline,
    pub sr_conv: wgpu::ComputePipeline,
    pub sr_shuffle: wgpu::ComputePipeline,
    pub sr_pack_yuv: wgpu::ComputePipeline,
    pub sr_pack_rgb: wgpu::ComputePipeline,
    pub sr_to_yuv: wgpu::ComputePipeline,
}

fn module(device: &wgpu::Device, file: ShaderFile) -> Result<wgpu::ShaderModule, GpuError> {
    // naga first, so a broken shader is a readable error rather than a wgpu panic.
    file.validate().map_err(|message| GpuError::Shader {
        name: file.name,
        message,
    })?;
    let source = file.source();
    Ok(device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(file.name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    }))
}

fn pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

impl Kernels {
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        let blur = module(device, shaders::BLUR)?;
        let unpack = module(device, shaders::UNPACK)?;
        let mask = module(device, shaders::MASK)?;
        let composite = module(device, shaders::COMPOSITE)?;
        let resize = module(device, shaders::RESIZE)?;
        let convert = module(device, shaders::CONVERT)?;
        let label = module(device, shaders::LABEL)?;
        let paint = module(device, shaders::PAINT)?;
        let text = module(device, shaders::TEXT)?;
        let rotate = module(device, shaders::ROTATE)?;
        let mix = module(device, shaders::MIX)?;
        let sr = module(device, shaders::SR)?;
        Ok(Self {
            blur_h: pipeline(device, &blur, "blur_h"),
            blur_v: pipeline(device, &blur, "blur_v"),
            unpack: pipeline(device, &unpack, "unpack"),
            downsample2: pipeline(device, &unpack, "downsample2"),
            reduce2: pipeline(device, &blur, "reduce2"),
            mask_fill: pipeline(device, &mask, "fill"),
            composite: pipeline(device, &composite, "composite"),
            lanczos_weights: pipeline(device, &resize, "weights"),
            resize_h: pipeline(device, &resize, "resize_h"),
            resize_v: pipeline(device, &resize, "resize_v"),
            rgba_to_yuv: pipeline(device, &convert, "rgba_to_yuv"),
            yuv_to_rgba: pipeline(device, &convert, "yuv_to_rgba"),
            label_blend: pipeline(device, &label, "blend"),
            paint: pipeline(device, &paint, "paint"),
            text_blend: pipeline(device, &text, "blend"),
            rotate: pipeline(device, &rotate, "rotate"),
            mix: pipeline(device, &mix, "mix_frames"),
            sr_conv: pipeline(device, &sr, "sr_conv"),
            sr_shuffle: pipeline(device, &sr, "sr_shuffle"),
            sr_pack_yuv: pipeline(device, &sr, "sr_pack_yuv"),
            sr_pack_rgb: pipeline(device, &sr, "sr_pack_rgb"),
            sr_to_yuv: pipeline(device, &sr, "sr_to_yuv"),
        })
    }
}
