//! Host mirrors of the WGSL uniform structs shared by several passes (`#[repr(C)]`, 16-byte
//! aligned like WGSL); a pass's own structs live in its module. The size test covers all.

use bytemuck::{Pod, Zeroable};

pub use crate::gpu::plane::GpuPlane;

/// blur.wgsl `BlurOp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct BlurOp {
    pub src: GpuPlane,
    pub dst: GpuPlane,
    pub region: [u32; 4],
    pub kernel: [u32; 4],
}

/// blur.wgsl `BlurParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct BlurParams {
    pub ops: [BlurOp; 3],
}

/// unpack.wgsl `UnpackOp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct UnpackOp {
    pub src: GpuPlane,
    pub dst: GpuPlane,
    pub margin: [u32; 4],
}

/// unpack.wgsl `UnpackParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct UnpackParams {
    pub ops: [UnpackOp; 3],
}

/// mask.wgsl `Ellipse`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct GpuEllipse {
    pub center: [i32; 2],
    pub radius: [i32; 2],
    pub opacity: f32,
    pub _pad: [f32; 3],
}

/// mask.wgsl `FillParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct FillParams {
    pub dst: GpuPlane,
    pub region: [u32; 4],
    pub count: [u32; 4],
}

/// composite.wgsl `CompositePlane`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct CompositePlane {
    pub src: GpuPlane,
    pub dst: GpuPlane,
    pub bg: GpuPlane,
    pub black: f32,
    pub factor: f32,
    pub chroma: u32,
    pub _pad: u32,
    /// Mode 2: plane pixels per background sample, background samples before the plane's
    /// first pixel.
    pub bg_sampling: [u32; 4],
}

/// composite.wgsl `CompositeParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct CompositeParams {
    pub planes: [CompositePlane; 3],
    pub mask: GpuPlane,
    pub mask_box: [u32; 4],
    pub mode: [u32; 4],
}

/// Background source of the composite pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CompositeMode {
    Spotlight = 0,
    FullResBackground = 1,
    ReducedBackground = 2,
}

/// convert.wgsl `ConvertParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub struct ConvertParams {
    pub rows: [[f32; 4]; 3],
    pub planes: [GpuPlane; 3],
    pub size: [u32; 4],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::shaders::{self, ShaderFile};
    use std::mem::size_of;

    /// Size in bytes of struct `name` in `file`, as naga lays it out.
    fn wgsl_size(file: ShaderFile, name: &str) -> usize {
        let module = file.validate().unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let (handle, _) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in {}", file.name));
        layouter[handle].size as usize
    }

    /// Every Rust mirror has exactly the size naga gives its WGSL struct.
    #[test]
    fn uniform_sizes_match_wgsl_layouts() {
        let cases = [
            (shaders::BLUR, "BlurParams", size_of::<BlurParams>()),
            (shaders::UNPACK, "UnpackParams", size_of::<UnpackParams>()),
            (shaders::MASK, "Ellipse", size_of::<GpuEllipse>()),
            (shaders::MASK, "FillParams", size_of::<FillParams>()),
            (
                shaders::COMPOSITE,
                "CompositeParams",
                size_of::<CompositeParams>(),
            ),
            (
                shaders::RESIZE,
                "WeightParams",
                size_of::<crate::effects::crop::WeightParams>(),
            ),
            (
                shaders::RESIZE,
                "ResizeParams",
                size_of::<crate::effects::crop::ResizeParams>(),
            ),
            (
                shaders::PAINT,
                "PaintOp",
                size_of::<crate::effects::paint::GpuPaintOp>(),
            ),
            (
                shaders::PAINT,
                "PaintParams",
                size_of::<crate::effects::paint::PaintParams>(),
            ),
            (
                shaders::TEXT,
                "TextParams",
                size_of::<crate::effects::text::TextParams>(),
            ),
            (
                shaders::ROTATE,
                "RotateParams",
                size_of::<crate::effects::rotate::RotateParams>(),
            ),
            (
                shaders::MIX,
                "MixParams",
                size_of::<crate::effects::mix::MixParams>(),
            ),
            (
                shaders::CONVERT,
                "ConvertParams",
                size_of::<ConvertParams>(),
            ),
            (shaders::NN, "NnConv", size_of::<crate::nn::ConvUniform>()),
            (
                shaders::TONEMAP,
                "ToneMap",
                size_of::<crate::effects::tonemap::ToneMapUniform>(),
            ),
            (
                shaders::CARD,
                "CardFrame",
                size_of::<crate::effects::card::CardUniform>(),
            ),
            (
                shaders::CARD,
                "CardLayer",
                size_of::<crate::effects::card::GpuCardLayer>(),
            ),
            (shaders::NN, "NnMove", size_of::<crate::nn::MoveUniform>()),
            (
                shaders::NN,
                "NnLetterbox",
                size_of::<crate::nn::LetterboxUniform>(),
            ),
            (
                shaders::NN,
                "NnDetect",
                size_of::<crate::nn::DetectUniform>(),
            ),
            (
                shaders::NN_COOP_F32_16,
                "CoopConv",
                size_of::<crate::nn::ConvUniform>(),
            ),
            (
                shaders::NN_COOP_F32_8,
                "CoopLayer",
                size_of::<crate::nn::coop::CoopLayer>(),
            ),
            (
                shaders::NN,
                "SrShuffle",
                size_of::<crate::nn::srvgg::ShuffleUniform>(),
            ),
            (
                shaders::NN,
                "SrPack",
                size_of::<crate::nn::srvgg::PackUniform>(),
            ),
            (
                shaders::NN,
                "SrToYuv",
                size_of::<crate::nn::srvgg::ToYuvUniform>(),
            ),
        ];
        for (file, name, rust) in cases {
            assert_eq!(rust, wgsl_size(file, name), "{name} in {}", file.name);
        }
    }
}
