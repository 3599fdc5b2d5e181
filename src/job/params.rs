//! Contract §1 and §5–§8: parameter types, defaults and validation.
//!
//! Parsing goes through `serde_path_to_error` so a mistyped field is reported by its path
//! (`params.highlight_regions[2].radius_x: invalid type ...`); semantic checks produce the same
//! shape of message (`params.highlight_regions[2].radius_x must be >= 1`).

use serde::Deserialize;
use serde_json::Value;

/// A contract violation: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} {message}")]
pub struct ParamError {
    pub field: String,
    pub message: String,
}

impl ParamError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Most v1 regions active on one frame (the engine's ellipse buffer is sized for it).
pub const MAX_REGIONS: usize = 1024;

/// Limits on what a job may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest output (and source) width and height in pixels.
    pub max_dimension: u32,
    /// Most highlight regions active on one frame (a job may hold any number in all).
    pub max_regions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_dimension: 4096,
            max_regions: MAX_REGIONS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectType {
    #[default]
    Blur,
    Spotlight,
}

fn default_opacity() -> f64 {
    1.0
}
pub(super) fn default_output_width() -> i64 {
    1080
}
pub(super) fn default_output_height() -> i64 {
    1920
}

/// A highlighted ellipse active on frames `start_frame..=end_frame`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Region {
    pub start_frame: i64,
    pub end_frame: i64,
    pub x: f64,
    pub y: f64,
    pub radius_x: f64,
    pub radius_y: f64,
    #[serde(default = "default_opacity")]
    pub opacity: f64,
}

/// A crop rectangle pinned to a frame; values between keyframes are interpolated.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CropKeyframe {
    pub frame: i64,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OverlayParams {
    #[serde(default)]
    pub highlight_regions: Vec<Region>,
    #[serde(default)]
    pub effect_type: EffectType,
    #[serde(default)]
    pub crop_keyframes: Option<Vec<CropKeyframe>>,
    #[serde(default = "default_output_width")]
    pub output_width: i64,
    #[serde(default = "default_output_height")]
    pub output_height: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FramingParams {
    pub crop_keyframes: Vec<CropKeyframe>,
    #[serde(default = "default_output_width")]
    pub output_width: i64,
    #[serde(default = "default_output_height")]
    pub output_height: i64,
    #[serde(default)]
    pub start_frame: Option<i64>,
    #[serde(default)]
    pub end_frame: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnnotateClip {
    pub start_time: f64,
    pub end_time: f64,
    pub name: String,
    #[serde(default)]
    pub notes: Option<String>,
    pub rating: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnnotateParams {
    pub clips: Vec<AnnotateClip>,
}

/// Validated parameters of one export.
#[derive(Debug, Clone, PartialEq)]
pub enum JobParams {
    Overlay(OverlayParams),
    /// Contract §9: the web app's keyframed highlight with stroke, fill, dimming and text.
    OverlayV2(super::overlay_v2::OverlayV2Params),
    Framing(FramingParams),
    /// Contract §10: the web app's multi-clip reels.
    Reel(super::framing_v2::ReelParams),
    Annotate(AnnotateParams),
}

/// What the engine needs from a job: its type and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub params: JobParams,
    /// `params.tolerate_decode_errors`: a source that decodes with errors is exported
    /// anyway (the errors are counted in the result) instead of failing the job.
    pub tolerate_decode_errors: bool,
    /// Fields the contract does not know (dotted paths), accepted and ignored.
    pub ignored_fields: Vec<String>,
    /// The job input's `input_video_key`, when the job came as a full input object.
    pub input_key: Option<String>,
}

impl JobSpec {
    /// Whether any frame of this job can need the GPU: an overlay with no region and no crop
    /// passes every frame through untouched.
    pub fn draws(&self) -> bool {
        match &self.params {
            JobParams::Overlay(p) => {
                !p.highlight_regions.is_empty()
                    || p.crop_keyframes.as_ref().is_some_and(|k| !k.is_empty())
            }
            JobParams::OverlayV2(p) => p.draws(),
            JobParams::Framing(_) | JobParams::Reel(_) | JobParams::Annotate(_) => true,
        }
    }

    /// Parses `{"type", "params"}`, a full contract input object, or a RunPod envelope
    /// `{"id", "input": {...}}`, and validates the parameters against `limits`.
    pub fn from_json(value: &Value, limits: &Limits) -> Result<Self, ParamError> {
        let (obj, prefix) = match value.get("input") {
            Some(input) if input.is_object() && value.get("type").is_none() => (input, "input."),
            _ => (value, ""),
        };
        let Some(map) = obj.as_object() else {
            return Err(ParamError::new("input", "must be a JSON object"));
        };
        let kind = match map.get("type") {
            None => return Err(ParamError::new(format!("{prefix}type"), "is required")),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(ParamError::new(format!("{prefix}type"), "must be a string")),
        };
        let empty = Value::Object(Default::default());
        let params = match map.get("params") {
            None | Some(Value::Null) => &empty,
            Some(p @ Value::Object(_)) => p,
            Some(_) => return Err(ParamError::new("params", "must be an object")),
        };
        let raw = params;
        // typos of known fields first: they explain what the typed parse would miss
        let ignored_fields = super::fields::check(kind, params, Some((map, prefix)))?;
        let params = match kind {
            "overlay" if super::overlay_v2::is_v2(params) => {
                JobParams::OverlayV2(super::overlay_v2::parse(params, limits)?)
            }
            "overlay" => {
                let p: OverlayParams = parse(params)?;
                validate_overlay(&p, limits)?;
                JobParams::Overlay(p)
            }
            "framing" if super::framing_v2::is_v2(params) => {
                JobParams::Reel(super::framing_v2::parse(params, limits)?)
            }
            "framing" => {
                let p: FramingParams = parse(params)?;
                validate_framing(&p, limits)?;
                JobParams::Framing(p)
            }
            "annotate" => {
                let p: AnnotateParams = parse(params)?;
                validate_annotate(&p)?;
                JobParams::Annotate(p)
            }
            other => {
                return Err(ParamError::new(
                    format!("{prefix}type"),
                    format!(
                        "must be one of \"overlay\", \"framing\", \"annotate\" (got {other:?})"
                    ),
                ));
            }
        };
        let tolerate_decode_errors = match raw.get("tolerate_decode_errors") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ParamError::new(
                    "params.tolerate_decode_errors",
                    "must be true or false",
                ));
            }
        };
        let input_key = map
            .get("input_video_key")
            .and_then(Value::as_str)
            .map(String::from);
        Ok(JobSpec {
            params,
            tolerate_decode_errors,
            ignored_fields,
            input_key,
        })
    }

    /// The crop's output size, when the job crops.
    pub fn output_size(&self) -> Option<(u32, u32)> {
        let crop = |k: &Option<Vec<CropKeyframe>>, w: i64, h: i64| {
            k.as_ref()
                .is_some_and(|k| !k.is_empty())
                .then_some((w as u32, h as u32))
        };
        match &self.params {
            JobParams::Overlay(p) => crop(&p.crop_keyframes, p.output_width, p.output_height),
            JobParams::OverlayV2(p) => crop(&p.crop_keyframes, p.output_width, p.output_height),
            JobParams::Framing(p) => Some((p.output_width as u32, p.output_height as u32)),
            JobParams::Reel(p) => Some((p.target_width as u32, p.target_height as u32)),
            JobParams::Annotate(_) => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.params {
            JobParams::Overlay(_) | JobParams::OverlayV2(_) => "overlay",
            JobParams::Framing(_) | JobParams::Reel(_) => "framing",
            JobParams::Annotate(_) => "annotate",
        }
    }
}

pub(super) fn parse<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, ParamError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "params".to_string()
        } else {
            format!("params.{path}")
        };
        // serde's "missing field `x`" is reported at the parent: name the field itself.
        let inner = e.into_inner().to_string();
        if let Some(rest) = inner.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            return ParamError::new(format!("{field}.{name}"), "is required");
        }
        ParamError::new(field, format!(": {inner}"))
    })
}

pub(super) fn finite(field: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(ParamError::new(field, "must be a finite number"))
    }
}

pub(super) fn validate_output_size(w: i64, h: i64, limits: &Limits) -> Result<(), ParamError> {
    for (name, v) in [("output_width", w), ("output_height", h)] {
        let field = format!("params.{name}");
        if v <= 0 {
            return Err(ParamError::new(field, "must be > 0"));
        }
        if v % 2 != 0 {
            return Err(ParamError::new(field, format!("must be even (got {v})")));
        }
        if v > limits.max_dimension as i64 {
            return Err(ParamError::new(
                field,
                format!("must be <= {} (got {v})", limits.max_dimension),
            ));
        }
    }
    Ok(())
}

pub(super) fn validate_keyframes(kfs: &[CropKeyframe], required: bool) -> Result<(), ParamError> {
    if required && kfs.is_empty() {
        return Err(ParamError::new(
            "params.crop_keyframes",
            "must hold at least one keyframe",
        ));
    }
    for (i, k) in kfs.iter().enumerate() {
        let f = |n: &str| format!("params.crop_keyframes[{i}].{n}");
        if k.frame < 0 {
            return Err(ParamError::new(f("frame"), "must be >= 0"));
        }
        finite(&f("x"), k.x)?;
        finite(&f("y"), k.y)?;
        finite(&f("width"), k.width)?;
        finite(&f("height"), k.height)?;
        if k.width < 1.0 {
            return Err(ParamError::new(f("width"), "must be >= 1"));
        }
        if k.height < 1.0 {
            return Err(ParamError::new(f("height"), "must be >= 1"));
        }
    }
    Ok(())
}

/// The frame with the most regions active on it, and how many (a sweep over the regions'
/// start and end frames: `O(n log n)` for any number of regions).
fn busiest_frame(regions: &[Region]) -> Option<(i64, usize)> {
    let mut events: Vec<(i64, i32)> = Vec::with_capacity(regions.len() * 2);
    for r in regions {
        events.push((r.start_frame, 1));
        events.push((r.end_frame.saturating_add(1), -1));
    }
    // at one frame, ends (-1) sort before starts (+1)
    events.sort_unstable();
    let (mut active, mut best) = (0usize, None::<(i64, usize)>);
    for (frame, delta) in events {
        if delta > 0 {
            active += 1;
            if best.is_none_or(|(_, n)| active > n) {
                best = Some((frame, active));
            }
        } else {
            active -= 1;
        }
    }
    best
}

fn validate_overlay(p: &OverlayParams, limits: &Limits) -> Result<(), ParamError> {
    for (i, r) in p.highlight_regions.iter().enumerate() {
        let f = |n: &str| format!("params.highlight_regions[{i}].{n}");
        if r.start_frame < 0 {
            return Err(ParamError::new(f("start_frame"), "must be >= 0"));
        }
        if r.end_frame < r.start_frame {
            return Err(ParamError::new(
                f("end_frame"),
                format!("must be >= start_frame ({})", r.start_frame),
            ));
        }
        finite(&f("x"), r.x)?;
        finite(&f("y"), r.y)?;
        // The contract truncates radii to whole pixels: anything below 1 would be empty.
        for (name, v) in [("radius_x", r.radius_x), ("radius_y", r.radius_y)] {
            finite(&f(name), v)?;
            if v <= 0.0 {
                return Err(ParamError::new(f(name), "must be > 0"));
            }
            if v < 1.0 {
                return Err(ParamError::new(
                    f(name),
                    "must be >= 1 (radii are truncated to whole pixels)",
                ));
            }
        }
        if !(0.0..=1.0).contains(&r.opacity) {
            return Err(ParamError::new(f("opacity"), "must be between 0 and 1"));
        }
    }
    if let Some((frame, active)) = busiest_frame(&p.highlight_regions)
        && active > limits.max_regions
    {
        return Err(ParamError::new(
            "params.highlight_regions",
            format!(
                "has {active} regions active on frame {frame}: at most {} may be active on one \
                 frame (a job may hold any number in all)",
                limits.max_regions
            ),
        ));
    }
    if let Some(kfs) = &p.crop_keyframes {
        validate_keyframes(kfs, false)?;
        validate_output_size(p.output_width, p.output_height, limits)?;
    }
    Ok(())
}

fn validate_framing(p: &FramingParams, limits: &Limits) -> Result<(), ParamError> {
    validate_keyframes(&p.crop_keyframes, true)?;
    validate_output_size(p.output_width, p.output_height, limits)?;
    if let Some(s) = p.start_frame
        && s < 0
    {
        return Err(ParamError::new("params.start_frame", "must be >= 0"));
    }
    if let Some(e) = p.end_frame {
        if e < 0 {
            return Err(ParamError::new("params.end_frame", "must be >= 0"));
        }
        if let Some(s) = p.start_frame
            && e < s
        {
            return Err(ParamError::new(
                "params.end_frame",
                format!("must be >= start_frame ({s})"),
            ));
        }
    }
    Ok(())
}

fn validate_annotate(p: &AnnotateParams) -> Result<(), ParamError> {
    if p.clips.is_empty() {
        return Err(ParamError::new(
            "params.clips",
            "must hold at least one clip",
        ));
    }
    for (i, c) in p.clips.iter().enumerate() {
        let f = |n: &str| format!("params.clips[{i}].{n}");
        finite(&f("start_time"), c.start_time)?;
        finite(&f("end_time"), c.end_time)?;
        if c.start_time < 0.0 {
            return Err(ParamError::new(f("start_time"), "must be >= 0"));
        }
        if c.end_time <= c.start_time {
            return Err(ParamError::new(
                f("end_time"),
                format!("must be > start_time ({})", c.start_time),
            ));
        }
        if !(1..=5).contains(&c.rating) {
            return Err(ParamError::new(
                f("rating"),
                "must be an integer from 1 to 5",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        JobSpec::from_json(&v, &Limits::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_region_limit_is_per_frame_not_per_job() {
        let region = |s: i64, e: i64| json!({"start_frame": s, "end_frame": e, "x": 10, "y": 10, "radius_x": 5, "radius_y": 5});
        // a tracked player: 10,000 one-frame regions
        let track: Vec<Value> = (0..10_000).map(|i| region(i, i)).collect();
        let job = json!({"type": "overlay", "params": {"highlight_regions": track}});
        assert!(JobSpec::from_json(&job, &Limits::default()).is_ok());
        // touching ranges do not overlap: [0,4] and [5,9]
        let limits = Limits {
            max_regions: 2,
            ..Limits::default()
        };
        let ok = json!({"type": "overlay", "params": {"highlight_regions":
            [region(0, 4), region(5, 9), region(3, 6)]}});
        assert!(JobSpec::from_json(&ok, &limits).is_ok());
        let crowded = json!({"type": "overlay", "params": {"highlight_regions":
            [region(0, 4), region(5, 9), region(3, 6), region(6, 6)]}});
        let e = JobSpec::from_json(&crowded, &limits)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "params.highlight_regions has 3 regions active on frame 6: at most 2 may be active \
             on one frame (a job may hold any number in all)"
        );
        assert_eq!(busiest_frame(&[]), None);
    }

    #[test]
    fn a_field_is_named_once_in_the_error_chain() {
        let e = crate::job::JobFileError::from(ParamError::new("params.x", "must be > 0"));
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(chain, "invalid job: params.x must be > 0");
    }

    #[test]
    fn every_example_in_the_job_docs_is_a_valid_job() {
        let doc = include_str!("../../docs/jobs.md");
        let mut types = std::collections::BTreeSet::new();
        for block in doc.split("```json").skip(1) {
            let text = block.split("```").next().unwrap();
            let v: Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("docs/jobs.md example is not JSON ({e}):{text}"));
            if v.get("function").is_some() {
                // one of the app's calls (Part 3): checked by the calls layer's own test
                continue;
            }
            let spec = JobSpec::from_json(&v, &Limits::default())
                .unwrap_or_else(|e| panic!("docs/jobs.md example fails: {e}:{text}"));
            assert!(spec.ignored_fields.is_empty(), "{text}");
            types.insert(spec.type_name());
        }
        assert_eq!(
            types.into_iter().collect::<Vec<_>>(),
            ["annotate", "framing", "overlay"],
            "an example of every export type"
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jobs");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                // as the CLI loads it: image keys read next to the job file
                let spec = crate::job::load_job(&path, &Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(spec.ignored_fields.is_empty(), "{}", path.display());
            }
        }
    }

    #[test]
    fn defaults_apply() {
        let spec = JobSpec::from_json(&json!({"type": "overlay"}), &Limits::default()).unwrap();
        let JobParams::Overlay(p) = spec.params else {
            panic!()
        };
        assert_eq!(p.effect_type, EffectType::Blur);
        assert!(p.highlight_regions.is_empty());
        assert_eq!((p.output_width, p.output_height), (1080, 1920));
    }

    #[test]
    fn only_an_overlay_without_regions_or_crop_draws_nothing() {
        let draws = |v: Value| JobSpec::from_json(&v, &Limits::default()).unwrap().draws();
        assert!(!draws(json!({"type": "overlay"})));
        assert!(!draws(
            json!({"type": "overlay", "params": {"crop_keyframes": []}})
        ));
        assert!(draws(
            json!({"type": "overlay", "params": {"highlight_regions": [
            {"start_frame": 0, "end_frame": 1, "x": 5, "y": 5, "radius_x": 2, "radius_y": 2}]}})
        ));
        assert!(draws(
            json!({"type": "overlay", "params": {"crop_keyframes": [
            {"frame": 0, "x": 0, "y": 0, "width": 10, "height": 20}]}})
        ));
        assert!(draws(
            json!({"type": "framing", "params": {"crop_keyframes": [
            {"frame": 0, "x": 0, "y": 0, "width": 10, "height": 20}]}})
        ));
    }

    #[test]
    fn full_contract_input_and_runpod_envelope_parse() {
        let input = json!({"job_id": "a", "type": "framing", "input_video_key": "k",
            "params": {"crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 10, "height": 20}]}});
        assert!(JobSpec::from_json(&input, &Limits::default()).is_ok());
        let env = json!({"id": "rp", "input": input});
        assert_eq!(
            JobSpec::from_json(&env, &Limits::default())
                .unwrap()
                .type_name(),
            "framing"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let region = |k: &str, v: Value| {
            let mut r = json!({"start_frame": 0, "end_frame": 5, "x": 1, "y": 2, "radius_x": 3, "radius_y": 4});
            r[k] = v;
            json!({"type": "overlay", "params": {"highlight_regions": [r.clone(), r.clone(), r]}})
        };
        assert_eq!(
            err(region("radius_x", json!(0))),
            "params.highlight_regions[0].radius_x must be > 0"
        );
        assert!(
            err(region("opacity", json!(1.5))).starts_with("params.highlight_regions[0].opacity")
        );
        assert!(
            err(region("end_frame", json!(-1)))
                .starts_with("params.highlight_regions[0].end_frame")
        );
        assert!(err(region("x", json!("a"))).starts_with("params.highlight_regions[0].x"));
        let mut missing = region("x", json!(1));
        missing["params"]["highlight_regions"][2]
            .as_object_mut()
            .unwrap()
            .remove("radius_y");
        assert_eq!(
            err(missing),
            "params.highlight_regions[2].radius_y is required"
        );
        assert!(
            err(json!({"type": "overlay", "params": {"effect_type": "glow"}}))
                .starts_with("params.effect_type")
        );
        assert!(err(json!({"type": "zoom"})).starts_with("type must be one of"));
        assert_eq!(err(json!({"params": {}})), "type is required");
        assert!(
            err(json!({"type": "framing", "params": {"crop_keyframes": []}}))
                .starts_with("params.crop_keyframes")
        );
        let kf = json!([{"frame": 0, "x": 0, "y": 0, "width": 10, "height": 20}]);
        assert!(
            err(json!({"type": "framing", "params": {"crop_keyframes": kf, "output_width": 1081}}))
                .starts_with("params.output_width must be even")
        );
        assert!(
            err(
                json!({"type": "framing", "params": {"crop_keyframes": kf, "output_height": 8192}})
            )
            .starts_with("params.output_height must be <=")
        );
        assert!(err(json!({"type": "annotate", "params": {"clips": [{"start_time": 3, "end_time": 2, "name": "a", "rating": 3}]}})).starts_with("params.clips[0].end_time"));
        assert!(err(json!({"type": "annotate", "params": {"clips": [{"start_time": 1, "end_time": 2, "name": "a", "rating": 6}]}})).starts_with("params.clips[0].rating"));
    }
}
