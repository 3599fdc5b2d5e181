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
    /// The AI ×4 upscaler's kernels, f32 storage (every adapter).
    pub sr: SrKernels,
    /// The same with f16 storage, where the device has shader-f16.
    pub sr_f16: Option<SrKernels>,
    /// The upscaler's convolution on cooperative matrices for f32 and for f16 storage, where
    /// the device has them in a shape sr_coop.wgsl takes (used once
    /// `effects::sr_coop::verify` has passed on the device).
    pub sr_coop_f32: CoopSlot,
    pub sr_coop_f16: CoopSlot,
}

/// nn.wgsl's entry points (compiled on a device's first network, not at start-up: most
/// exports run none; see [`super::GpuContext::nn_kernels`]).
#[derive(Debug, Clone)]
pub struct NnKernels {
    /// 1x1 and 3x3 convolutions.
    pub conv1: wgpu::ComputePipeline,
    pub conv3: wgpu::ComputePipeline,
    pub maxpool5: wgpu::ComputePipeline,
    pub upsample2: wgpu::ComputePipeline,
    pub letterbox: wgpu::ComputePipeline,
    pub detect: wgpu::ComputePipeline,
}

impl NnKernels {
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        let m = module(device, shaders::NN)?;
        Ok(Self {
            conv1: pipeline(device, &m, "nn_conv1"),
            conv3: pipeline(device, &m, "nn_conv3"),
            maxpool5: pipeline(device, &m, "nn_maxpool5"),
            upsample2: pipeline(device, &m, "nn_upsample2"),
            letterbox: pipeline(device, &m, "nn_letterbox"),
            detect: pipeline(device, &m, "nn_detect"),
        })
    }
}

/// sr_coop.wgsl compiled for one storage type and matrix side.
#[derive(Debug, Clone)]
pub struct SrCoopKernel {
    /// The matrices' side (8 or 16).
    pub side: u32,
    pub conv: wgpu::ComputePipeline,
}

/// A cooperative-matrix kernel the device may have, and the verdict of its start-up
/// comparison with the portable kernel (made once per device, on first use).
#[derive(Debug, Default)]
pub struct CoopSlot {
    pub kernel: Option<SrCoopKernel>,
    pub verdict: std::sync::OnceLock<Result<f32, String>>,
}

/// The square matrix side (16 preferred, else 8) the adapter offers with A and B of f16 (or
/// f32) and an f32 accumulator: the shapes sr_coop.wgsl is written for.
pub fn coop_side(props: &[wgpu::CooperativeMatrixProperties], f16: bool) -> Option<u32> {
    use wgpu::CooperativeScalarType as T;
    let ab = if f16 { T::F16 } else { T::F32 };
    [16, 8].into_iter().find(|&s| {
        props.iter().any(|p| {
            p.m_size == s
                && p.n_size == s
                && p.k_size == s
                && p.ab_type == ab
                && p.cr_type == T::F32
        })
    })
}

impl CoopSlot {
    fn new(device: &wgpu::Device, props: &[wgpu::CooperativeMatrixProperties], f16: bool) -> Self {
        let has = device
            .features()
            .contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX)
            && (!f16 || device.features().contains(wgpu::Features::SHADER_F16));
        let kernel = match coop_side(props, f16).filter(|_| has) {
            Some(side) => {
                let file = shaders::sr_coop(f16, side).expect("a side sr_coop.wgsl has");
                // An experimental feature no adapter here has: its compilation is kept from
                // failing the device (a validation error is caught in an error scope, a
                // panic in the shader compiler is caught too); either leaves the portable
                // kernel, with the reason logged.
                let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    module(device, file).map(|m| pipeline(device, &m, "sr_conv_coop"))
                }));
                let error = pollster::block_on(scope.pop());
                match (built, error) {
                    (Ok(Ok(conv)), None) => Some(SrCoopKernel { side, conv }),
                    (Ok(Ok(_)), Some(e)) => {
                        tracing::warn!("{}: not used: {e}", file.name);
                        None
                    }
                    (Ok(Err(e)), _) => {
                        tracing::warn!("{}: not used: {e}", file.name);
                        None
                    }
                    (Err(_), _) => {
                        tracing::warn!("{}: not used: the shader compiler panicked", file.name);
                        None
                    }
                }
            }
            None => None,
        };
        Self {
            kernel,
            verdict: Default::default(),
        }
    }
}

/// The AI ×4 upscaler's kernels of one storage type (sr.wgsl).
#[derive(Debug, Clone)]
pub struct SrKernels {
    pub conv: wgpu::ComputePipeline,
    /// The last convolution fused with the pixel shuffle and the residual.
    pub conv_shuffle: wgpu::ComputePipeline,
    /// The same for x4 networks, writing the packed YUV frame (the engine's path).
    pub conv_to_yuv: wgpu::ComputePipeline,
    pub pack_yuv: wgpu::ComputePipeline,
    pub pack_rgb: wgpu::ComputePipeline,
    pub to_yuv: wgpu::ComputePipeline,
}

impl SrKernels {
    /// The kernel that packs a tile from planar RGB (`rgb`) or from a YUV frame.
    pub fn pack(&self, rgb: bool) -> &wgpu::ComputePipeline {
        if rgb { &self.pack_rgb } else { &self.pack_yuv }
    }

    fn new(device: &wgpu::Device, file: ShaderFile) -> Result<Self, GpuError> {
        let m = module(device, file)?;
        Ok(Self {
            conv: pipeline(device, &m, "sr_conv"),
            conv_shuffle: pipeline(device, &m, "sr_conv_shuffle"),
            conv_to_yuv: pipeline(device, &m, "sr_conv_to_yuv"),
            pack_yuv: pipeline(device, &m, "sr_pack_yuv"),
            pack_rgb: pipeline(device, &m, "sr_pack_rgb"),
            to_yuv: pipeline(device, &m, "sr_to_yuv"),
        })
    }
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
    pub fn new(
        device: &wgpu::Device,
        coop: &[wgpu::CooperativeMatrixProperties],
    ) -> Result<Self, GpuError> {
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
            sr: SrKernels::new(device, shaders::SR)?,
            sr_f16: match device.features().contains(wgpu::Features::SHADER_F16) {
                true => Some(SrKernels::new(device, shaders::SR_F16)?),
                false => None,
            },
            sr_coop_f32: CoopSlot::new(device, coop, false),
            sr_coop_f16: CoopSlot::new(device, coop, true),
        })
    }
}
