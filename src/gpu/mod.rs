//! The GPU side: adapter and device selection, WGSL modules (validated with naga), compute
//! pipelines, and buffer helpers shared by the passes.

pub mod buffers;
pub mod context;
pub mod pipelines;
pub mod plane;
pub mod shaders;

pub use context::{AdapterSummary, GpuContext, GpuError, GpuStartup};
