//! The job contract (`shared/contract.md`): typed parameters, validation that names the failing
//! field, and the per-frame timeline (active regions, interpolated crop) in plain Rust.

pub mod params;
pub mod timeline;

pub use params::{
    AnnotateClip, AnnotateParams, CropKeyframe, EffectType, FramingParams, JobParams, JobSpec,
    Limits, OverlayParams, ParamError, Region,
};
pub use timeline::{CropRect, FramePlan, OverlayTimeline};
