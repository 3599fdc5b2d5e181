//! The job contract (`shared/contract.md`): typed parameters, validation that names the failing
//! field, and the per-frame timeline (active regions, interpolated crop) in plain Rust.

pub mod card;
pub mod fields;
pub mod framing_v2;
pub mod highlight;
pub mod kwargs;
pub mod overlay_v2;
pub mod params;
pub mod reel;
pub mod spline;
pub mod timeline;

pub use params::{
    AnnotateClip, AnnotateParams, CropKeyframe, EffectType, FramingParams, JobParams, JobSpec,
    Limits, OverlayParams, ParamError, Region,
};
pub use timeline::{CropRect, FramePlan, OverlayTimeline};

use std::path::{Path, PathBuf};

/// Why a job file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JobFileError {
    #[error("job file {path}: {message}")]
    File { path: PathBuf, message: String },
    /// (not a `source`: the message already holds it, and error chains would say it twice)
    #[error("invalid job: {0}")]
    Invalid(ParamError),
}

impl From<ParamError> for JobFileError {
    fn from(e: ParamError) -> Self {
        JobFileError::Invalid(e)
    }
}

/// Reads a job file (`{"type", "params"}` or a full contract input object) and validates it
/// against `limits`. §9 text layers given by `image_key` are read as files relative to the
/// job file's folder (the worker reads them from the job's bucket instead).
pub fn load_job(path: &Path, limits: &Limits) -> Result<JobSpec, JobFileError> {
    let file_error = |message: String| JobFileError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| file_error(format!("not valid JSON: {e}")))?;
    let mut spec = JobSpec::from_json(&value, limits)?;
    if let JobParams::OverlayV2(p) = &mut spec.params {
        let dir = path.parent().unwrap_or(Path::new("."));
        p.resolve_image_keys(|key| {
            let file = dir.join(key);
            std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
        })?;
    }
    Ok(spec)
}
