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
    /// The intro card's layers, straight into a YUV frame (card.wgsl).
    pub card_render: wgpu::ComputePipeline,
    /// HDR to SDR (tonemap.wgsl).
    pub tonemap: wgpu::ComputePipeline,
    /// The 3x3 convolution on cooperative matrices for f32 and for f16 storage, where the
    /// device has them in a shape nn_coop.wgsl takes (used once `nn::coop::verify` has
    /// passed on the device).
    pub coop_f32: CoopSlot,
    pub coop_f16: CoopSlot,
}

/// The storage type of a network's activations and weights (arithmetic is f32 in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32: every adapter.
    F32,
    /// f16 (`shader-f16`): half the memory traffic.
    F16,
}

impl Precision {
    /// As summaries report it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// Bytes of one stored activation or weight.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// f16 where the device has it and is a real GPU; the variable `env` (`f32` or `f16`)
    /// overrides (`f16` asks for it on a CPU adapter too, where every half is converted in
    /// software: lavapipe ran the upscaler 27% slower with f16, BENCHMARKS.md).
    pub fn best(device: &wgpu::Device, software: bool, env: &str) -> Self {
        let asked = std::env::var(env).unwrap_or_default().to_ascii_lowercase();
        let has = device.features().contains(wgpu::Features::SHADER_F16);
        match asked.as_str() {
            "f32" => Precision::F32,
            "f16" if has => Precision::F16,
            _ if has && !software => Precision::F16,
            _ => Precision::F32,
        }
    }

    /// The values as a storage buffer of this type holds them (f16: an odd count leaves the
    /// last half of the last word zero).
    pub fn encode(self, values: &[f32]) -> Vec<u8> {
        match self {
            Precision::F32 => bytemuck::cast_slice(values).to_vec(),
            Precision::F16 => {
                let mut bytes: Vec<u8> = values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes())
                    .collect();
                bytes.resize(bytes.len().next_multiple_of(4), 0);
                bytes
            }
        }
    }

    /// The first `n` values of a buffer of this type, as f32.
    pub fn decode(self, bytes: &[u8], n: usize) -> Vec<f32> {
        match self {
            Precision::F32 => bytemuck::cast_slice::<u8, f32>(&bytes[..n * 4]).to_vec(),
            Precision::F16 => bytes[..n * 2]
                .chunks_exact(2)
                .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
                .collect(),
        }
    }
}

/// nn.wgsl's entry points for one storage type: the tensor operations, and each model's own
/// kernels (compiled on a device's first network, not at start-up: most exports run none;
/// see [`super::GpuContext::nn_kernels`]).
#[derive(Debug, Clone)]
pub struct NnKernels {
    pub precision: Precision,
    /// 1x1 and 3x3 convolutions.
    pub conv1: wgpu::ComputePipeline,
    pub conv3: wgpu::ComputePipeline,
    pub maxpool5: wgpu::ComputePipeline,
    pub upsample2: wgpu::ComputePipeline,
    /// The detector's (yolo.wgsl).
    pub letterbox: wgpu::ComputePipeline,
    pub detect: wgpu::ComputePipeline,
    /// The AI ×4 upscaler's (sr.wgsl).
    pub sr: SrKernels,
}

impl NnKernels {
    /// The portable convolution for `k`×`k` kernels (1 or 3).
    pub fn conv(&self, k: u32) -> &wgpu::ComputePipeline {
        if k == 1 { &self.conv1 } else { &self.conv3 }
    }

    pub fn new(device: &wgpu::Device, precision: Precision) -> Result<Self, GpuError> {
        let m = module(
            device,
            match precision {
                Precision::F32 => shaders::NN,
                Precision::F16 => shaders::NN_F16,
            },
        )?;
        Ok(Self {
            precision,
            conv1: pipeline(device, &m, "nn_conv1"),
            conv3: pipeline(device, &m, "nn_conv3"),
            maxpool5: pipeline(device, &m, "nn_maxpool5"),
            upsample2: pipeline(device, &m, "nn_upsample2"),
            letterbox: pipeline(device, &m, "yolo_letterbox"),
            detect: pipeline(device, &m, "yolo_detect"),
            sr: SrKernels {
                conv_shuffle: pipeline(device, &m, "sr_conv_shuffle"),
                conv_to_yuv: pipeline(device, &m, "sr_conv_to_yuv"),
                pack_yuv: pipeline(device, &m, "sr_pack_yuv"),
                pack_rgb: pipeline(device, &m, "sr_pack_rgb"),
                to_yuv: pipeline(device, &m, "sr_to_yuv"),
            },
        })
    }
}

/// nn_coop.wgsl compiled for one storage type and matrix side.
#[derive(Debug, Clone)]
pub struct CoopKernel {
    /// The matrices' side (8 or 16).
    pub side: u32,
    /// `nn_conv_coop`: 3×3 stride-1 layers between dense bordered tensors.
    pub conv: wgpu::ComputePipeline,
    /// `nn_conv_coop_any`: any of nn.wgsl's convolutions.
    pub any: wgpu::ComputePipeline,
}

/// A cooperative-matrix kernel the device may have, and the verdict of its start-up
/// comparison with the portable kernel (made once per device, on first use).
#[derive(Debug, Default)]
pub struct CoopSlot {
    pub kernel: Option<CoopKernel>,
    /// `nn_conv_coop`'s verdict.
    pub verdict: std::sync::OnceLock<Result<f32, String>>,
    /// `nn_conv_coop_any`'s.
    pub any_verdict: std::sync::OnceLock<Result<f32, String>>,
}

/// The square matrix side (16 preferred, else 8) the adapter offers with A and B of f16 (or
/// f32) and an f32 accumulator: the shapes nn_coop.wgsl is written for.
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
                let file = shaders::nn_coop(f16, side).expect("a side nn_coop.wgsl has");
                // An experimental feature no adapter here has: its compilation is kept from
                // failing the device (a validation error is caught in an error scope, a
                // panic in the shader compiler is caught too); either leaves the portable
                // kernel, with the reason logged.
                let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    module(device, file).map(|m| {
                        (
                            pipeline(device, &m, "nn_conv_coop"),
                            pipeline(device, &m, "nn_conv_coop_any"),
                        )
                    })
                }));
                let error = pollster::block_on(scope.pop());
                match (built, error) {
                    (Ok(Ok((conv, any))), None) => Some(CoopKernel { side, conv, any }),
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
            any_verdict: Default::default(),
        }
    }
}

/// The AI ×4 upscaler's own kernels of one storage type (sr.wgsl); its body convolutions are
/// nn.wgsl's.
#[derive(Debug, Clone)]
pub struct SrKernels {
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
        let card = module(device, shaders::CARD)?;
        let tonemap = module(device, shaders::TONEMAP)?;
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
            card_render: pipeline(device, &card, "card_render"),
            tonemap: pipeline(device, &tonemap, "tonemap"),
            coop_f32: CoopSlot::new(device, coop, false),
            coop_f16: CoopSlot::new(device, coop, true),
        })
    }
}
