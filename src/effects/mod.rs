//! The GPU passes: each module owns the uniform layout of one WGSL file and knows how to fill
//! it; [`kernels`] holds the filter definitions shared with the CPU references.

pub mod convert;
pub mod kernels;
pub mod label;
pub mod params;
pub mod reduce;
