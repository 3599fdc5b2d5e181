//! common.wgsl's `Plane`: where one plane of a packed frame sits in a buffer of `u32` words,
//! the one frame geometry every shader shares.

use crate::frame::PlaneGeom;

/// WGSL `Plane`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuPlane {
    pub offset: u32,
    pub stride: u32,
    pub width: u32,
    pub height: u32,
}

impl From<PlaneGeom> for GpuPlane {
    fn from(p: PlaneGeom) -> Self {
        Self {
            offset: p.offset,
            stride: p.stride,
            width: p.width,
            height: p.height,
        }
    }
}
