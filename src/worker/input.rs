//! A RunPod job's `input` (contract §1): the web app's job id, the export type and parameters,
//! the source's key and the optional callback URL — all checked before any work, with errors
//! that name the field.

use serde_json::Value;

use crate::job::{JobSpec, Limits, ParamError};
use crate::storage::check_key;

/// A checked job input.
#[derive(Debug, Clone)]
pub struct JobInput {
    pub job_id: String,
    pub input_video_key: String,
    pub spec: JobSpec,
}

impl JobInput {
    /// Where the export goes (contract §1): `output/<job_id>/video.mp4`.
    pub fn output_key(&self) -> String {
        format!("output/{}/video.mp4", self.job_id)
    }

    /// Parses and validates `input` (the `callback_url` is checked separately, see
    /// [`super::callbacks::CallbackPolicy::check`], so that a bad job can still be reported
    /// to it).
    pub fn parse(input: &Value, limits: &Limits) -> Result<Self, ParamError> {
        let Some(map) = input.as_object() else {
            return Err(ParamError::new("input", "must be a JSON object"));
        };
        let string = |name: &str| -> Result<&str, ParamError> {
            match map.get(name) {
                None | Some(Value::Null) => Err(ParamError::new(name, "is required")),
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(ParamError::new(name, "must be a string")),
            }
        };
        let job_id = string("job_id")?;
        check_job_id(job_id).map_err(|m| ParamError::new("job_id", m))?;
        let spec = JobSpec::from_json(input, limits)?;
        let input_video_key = string("input_video_key")?;
        check_key(input_video_key).map_err(|m| ParamError::new("input_video_key", m))?;
        Ok(Self {
            job_id: job_id.to_string(),
            input_video_key: input_video_key.to_string(),
            spec,
        })
    }
}

/// The job id's shape (contract §1): 1–128 chars of `[A-Za-z0-9._-]`, not `.` or `..` (it
/// becomes a path segment of the output key).
fn check_job_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err("must be 1-128 characters".into());
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("may only contain A-Z, a-z, 0-9, '.', '_' and '-'".into());
    }
    if id == "." || id == ".." {
        return Err("must not be '.' or '..'".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<JobInput, String> {
        JobInput::parse(&v, &Limits::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_input_parses() {
        let job = parse(json!({"job_id": "j-1.a_b", "type": "overlay",
            "input_video_key": "input/j-1/video.mp4"}))
        .unwrap();
        assert_eq!(job.output_key(), "output/j-1.a_b/video.mp4");
        assert_eq!(job.spec.type_name(), "overlay");
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = json!({"job_id": "j1", "type": "overlay", "input_video_key": "in/v.mp4"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            parse(b).unwrap_err()
        };
        let without = |k: &str| {
            let mut b = base.clone();
            b.as_object_mut().unwrap().remove(k);
            parse(b).unwrap_err()
        };
        assert_eq!(without("job_id"), "job_id is required");
        assert_eq!(without("type"), "type is required");
        assert_eq!(without("input_video_key"), "input_video_key is required");
        assert!(with("job_id", json!("a/b")).starts_with("job_id may only"));
        assert!(with("job_id", json!("..")).starts_with("job_id must not"));
        assert!(with("job_id", json!("x".repeat(129))).starts_with("job_id must be 1-128"));
        assert!(with("job_id", json!(7)).starts_with("job_id must be a string"));
        assert!(with("type", json!("sepia")).starts_with("type must be one of"));
        assert!(with("input_video_key", json!("/abs")).starts_with("input_video_key must not"));
        assert!(with("input_video_key", json!("a/../b")).starts_with("input_video_key must not"));
        assert!(with("params", json!({"effect_type": "x"})).starts_with("params.effect_type"));
        assert_eq!(
            parse(json!([1])).unwrap_err(),
            "input must be a JSON object"
        );
    }
}
