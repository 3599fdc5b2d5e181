//! Contract §10: the web app's multi-clip reels (`clips_data`): params, defaults and the
//! checks that need no video. Checks against each source's length are [`ReelParams::check_clip`]
//! once the sources are probed.

use serde::Deserialize;
use serde_json::Value;

use super::params::{Limits, ParamError, finite};

/// Fastest and slowest segment speeds.
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 4.0;
/// Most clips in one reel.
pub const MAX_CLIPS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    #[default]
    Cut,
    Fade,
    Dissolve,
}

fn half() -> f64 {
    0.5
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Transition {
    #[serde(rename = "type", default)]
    pub kind: TransitionKind,
    #[serde(default = "half")]
    pub duration: f64,
}

impl Default for Transition {
    fn default() -> Self {
        Self {
            kind: TransitionKind::Cut,
            duration: 0.5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Upscale {
    #[default]
    Lanczos,
    Ai,
}

/// A crop rectangle at a clip time (seconds from the clip's `source_start_time`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ClipKeyframe {
    pub time: f64,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A speed over part of the trim, clip seconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct SpeedSegment {
    pub start: f64,
    pub end: f64,
    #[serde(default = "one")]
    pub speed: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TrimRange {
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct SegmentData {
    #[serde(default)]
    pub trim_start: Option<f64>,
    #[serde(default)]
    pub trim_end: Option<f64>,
    #[serde(rename = "trimRange", default)]
    pub trim_range: Option<TrimRange>,
    #[serde(default)]
    pub segments: Vec<SpeedSegment>,
}

/// One clip of the reel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReelClip {
    #[serde(default)]
    pub keyframes: Vec<ClipKeyframe>,
    #[serde(default)]
    pub rotation: f64,
    #[serde(default)]
    pub source_start_time: f64,
    /// `None`: the end of the source.
    #[serde(default)]
    pub source_end_time: Option<f64>,
    #[serde(default)]
    pub segment_data: SegmentData,
    /// This clip's own source key (wins over `source_keys`).
    #[serde(default)]
    pub input_video_key: Option<String>,
}

/// Validated §10 params.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReelParams {
    pub clips_data: Vec<ReelClip>,
    #[serde(default)]
    pub source_keys: Option<Vec<String>>,
    #[serde(default = "default_w")]
    pub target_width: i64,
    #[serde(default = "default_h")]
    pub target_height: i64,
    #[serde(default = "default_fps")]
    pub fps: f64,
    #[serde(default = "yes")]
    pub include_audio: bool,
    #[serde(default)]
    pub transition: Transition,
    #[serde(default)]
    pub upscale: Upscale,
}

fn default_w() -> i64 {
    810
}
fn default_h() -> i64 {
    1440
}
fn default_fps() -> f64 {
    30.0
}
fn yes() -> bool {
    true
}

/// Contract Part 2: a framing params object is §10 when it has `clips_data`.
pub fn is_v2(params: &Value) -> bool {
    params.get("clips_data").is_some()
}

/// Parses and validates §10 params (what can be checked without the sources).
pub fn parse(params: &Value, limits: &Limits) -> Result<ReelParams, ParamError> {
    let p: ReelParams = super::params::parse(params)?;
    validate(&p, limits)?;
    Ok(p)
}

impl ReelClip {
    /// The trim in clip seconds: `(start, end)`, `end` `None` for the end of the clip.
    pub fn trim(&self) -> (f64, Option<f64>) {
        let d = &self.segment_data;
        match d.trim_range {
            Some(r) => (r.start, Some(r.end)),
            None => (d.trim_start.unwrap_or(0.0), d.trim_end),
        }
    }

    /// The clip's length in clip seconds, given where its source ends (seconds).
    pub fn length(&self, source_end: f64) -> f64 {
        self.source_end_time.unwrap_or(source_end) - self.source_start_time
    }
}

impl ReelParams {
    /// Clip `i`'s source key: its own, else `source_keys[i]`, else the job's input.
    pub fn source_key<'a>(&'a self, i: usize, input: &'a str) -> &'a str {
        self.clips_data[i]
            .input_video_key
            .as_deref()
            .or_else(|| {
                self.source_keys
                    .as_ref()
                    .and_then(|k| k.get(i))
                    .map(String::as_str)
            })
            .unwrap_or(input)
    }

    /// The field that names clip `i`'s source, for errors: its own `input_video_key`, else
    /// `source_keys[i]`, else the job's `input_video_key`.
    pub fn source_field(&self, i: usize) -> String {
        if self.clips_data[i].input_video_key.is_some() {
            format!("params.clips_data[{i}].input_video_key")
        } else if self.source_keys.as_ref().is_some_and(|k| k.len() > i) {
            format!("params.source_keys[{i}]")
        } else {
            "input_video_key".into()
        }
    }

    /// Checks clip `i` against its source's length (seconds from its first frame).
    pub fn check_clip(&self, i: usize, source_len: f64) -> Result<(), ParamError> {
        let c = &self.clips_data[i];
        let f = |n: &str| format!("params.clips_data[{i}].{n}");
        if c.source_start_time >= source_len {
            return Err(ParamError::new(
                f("source_start_time"),
                format!(
                    "must be before the end of its source ({source_len:.3} s), got {}",
                    c.source_start_time
                ),
            ));
        }
        if let Some(e) = c.source_end_time
            && e > source_len + 1e-3
        {
            return Err(ParamError::new(
                f("source_end_time"),
                format!("must be <= the end of its source ({source_len:.3} s), got {e}"),
            ));
        }
        let len = c.length(source_len);
        let (ts, te) = c.trim();
        let te_v = te.unwrap_or(len);
        if te_v > len + 1e-3 {
            return Err(ParamError::new(
                f(trim_field(c, false)),
                format!("must be inside the clip (0..{len:.3} s), got {te_v}"),
            ));
        }
        if ts >= te_v.min(len) {
            return Err(ParamError::new(
                f(trim_field(c, true)),
                format!(
                    "must be before the trim's end ({:.3} s), got {ts}",
                    te_v.min(len)
                ),
            ));
        }
        for (k, s) in c.segment_data.segments.iter().enumerate() {
            if s.start < ts - 1e-6 || s.end > te_v.min(len) + 1e-6 {
                return Err(ParamError::new(
                    f(&format!("segment_data.segments[{k}]")),
                    format!(
                        "must lie inside the trim ({ts:.3}..{:.3} s), got {}..{}",
                        te_v.min(len),
                        s.start,
                        s.end
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn trim_field(c: &ReelClip, start: bool) -> &'static str {
    match (c.segment_data.trim_range.is_some(), start) {
        (true, true) => "segment_data.trimRange.start",
        (true, false) => "segment_data.trimRange.end",
        (false, true) => "segment_data.trim_start",
        (false, false) => "segment_data.trim_end",
    }
}

/// Validates §10 params built by code rather than parsed (the app's calls, contract §13).
pub fn validate_built(p: &ReelParams, limits: &Limits) -> Result<(), ParamError> {
    validate(p, limits)
}

fn validate(p: &ReelParams, limits: &Limits) -> Result<(), ParamError> {
    if p.clips_data.is_empty() {
        return Err(ParamError::new(
            "params.clips_data",
            "must hold at least one clip",
        ));
    }
    if p.clips_data.len() > MAX_CLIPS {
        return Err(ParamError::new(
            "params.clips_data",
            format!("holds {} clips: at most {MAX_CLIPS}", p.clips_data.len()),
        ));
    }
    for (name, v) in [
        ("target_width", p.target_width),
        ("target_height", p.target_height),
    ] {
        let field = format!("params.{name}");
        if v <= 0 || v % 2 != 0 {
            return Err(ParamError::new(
                field,
                format!("must be an even number > 0 (got {v})"),
            ));
        }
        if v > limits.max_dimension as i64 {
            return Err(ParamError::new(
                field,
                format!("must be <= {} (got {v})", limits.max_dimension),
            ));
        }
    }
    finite("params.fps", p.fps)?;
    if !(p.fps > 0.0 && p.fps <= 120.0) {
        return Err(ParamError::new(
            "params.fps",
            format!("must be > 0 and <= 120 (got {})", p.fps),
        ));
    }
    finite("params.transition.duration", p.transition.duration)?;
    if p.transition.kind != TransitionKind::Cut && p.transition.duration <= 0.0 {
        return Err(ParamError::new(
            "params.transition.duration",
            format!("must be > 0 (got {})", p.transition.duration),
        ));
    }
    if let Some(keys) = &p.source_keys {
        for (i, k) in keys.iter().enumerate() {
            crate::storage::check_key(k)
                .map_err(|e| ParamError::new(format!("params.source_keys[{i}]"), e))?;
        }
    }
    for (i, c) in p.clips_data.iter().enumerate() {
        let f = |n: &str| format!("params.clips_data[{i}].{n}");
        finite(&f("rotation"), c.rotation)?;
        if c.rotation.abs() > 360.0 {
            return Err(ParamError::new(
                f("rotation"),
                format!("must be between -360 and 360 degrees (got {})", c.rotation),
            ));
        }
        finite(&f("source_start_time"), c.source_start_time)?;
        if c.source_start_time < 0.0 {
            return Err(ParamError::new(f("source_start_time"), "must be >= 0"));
        }
        if let Some(e) = c.source_end_time {
            finite(&f("source_end_time"), e)?;
            if e <= c.source_start_time {
                return Err(ParamError::new(
                    f("source_end_time"),
                    format!("must be > source_start_time ({})", c.source_start_time),
                ));
            }
        }
        if let Some(k) = &c.input_video_key {
            crate::storage::check_key(k).map_err(|e| ParamError::new(f("input_video_key"), e))?;
        }
        let d = &c.segment_data;
        if d.trim_range.is_some() && (d.trim_start.is_some() || d.trim_end.is_some()) {
            return Err(ParamError::new(
                f("segment_data.trimRange"),
                "must not be given with trim_start/trim_end (one trim per clip)",
            ));
        }
        let (ts, te) = c.trim();
        finite(&f(trim_field(c, true)), ts)?;
        if ts < 0.0 {
            return Err(ParamError::new(f(trim_field(c, true)), "must be >= 0"));
        }
        if let Some(te) = te {
            finite(&f(trim_field(c, false)), te)?;
            if te <= ts {
                return Err(ParamError::new(
                    f(trim_field(c, false)),
                    format!("must be > the trim's start ({ts})"),
                ));
            }
        }
        if let Some(e) = c.source_end_time
            && let Some(te) = te
            && te > e - c.source_start_time + 1e-3
        {
            return Err(ParamError::new(
                f(trim_field(c, false)),
                format!(
                    "must be inside the clip (0..{:.3} s), got {te}",
                    e - c.source_start_time
                ),
            ));
        }
        let mut segs: Vec<(usize, SpeedSegment)> = d.segments.iter().copied().enumerate().collect();
        for (k, s) in &segs {
            let g = |n: &str| f(&format!("segment_data.segments[{k}].{n}"));
            finite(&g("start"), s.start)?;
            finite(&g("end"), s.end)?;
            finite(&g("speed"), s.speed)?;
            if s.end <= s.start {
                return Err(ParamError::new(
                    g("end"),
                    format!("must be > start ({})", s.start),
                ));
            }
            if !(MIN_SPEED..=MAX_SPEED).contains(&s.speed) {
                return Err(ParamError::new(
                    g("speed"),
                    format!(
                        "must be between {MIN_SPEED} and {MAX_SPEED} (got {})",
                        s.speed
                    ),
                ));
            }
            if s.start < ts - 1e-6 || te.is_some_and(|te| s.end > te + 1e-6) {
                return Err(ParamError::new(
                    f(&format!("segment_data.segments[{k}]")),
                    format!(
                        "must lie inside the trim ({ts}..{}), got {}..{}",
                        te.map_or("end".into(), |t| t.to_string()),
                        s.start,
                        s.end
                    ),
                ));
            }
        }
        segs.sort_by(|a, b| a.1.start.total_cmp(&b.1.start));
        for w in segs.windows(2) {
            if w[1].1.start < w[0].1.end - 1e-9 {
                return Err(ParamError::new(
                    f(&format!("segment_data.segments[{}]", w[1].0)),
                    format!(
                        "overlaps segments[{}] ({}..{})",
                        w[0].0, w[0].1.start, w[0].1.end
                    ),
                ));
            }
        }
        for (k, kf) in c.keyframes.iter().enumerate() {
            let g = |n: &str| f(&format!("keyframes[{k}].{n}"));
            for (n, v) in [
                ("time", kf.time),
                ("x", kf.x),
                ("y", kf.y),
                ("width", kf.width),
                ("height", kf.height),
            ] {
                finite(&g(n), v)?;
            }
            if kf.width < 1.0 {
                return Err(ParamError::new(g("width"), "must be >= 1"));
            }
            if kf.height < 1.0 {
                return Err(ParamError::new(g("height"), "must be >= 1"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse(&v, &Limits::default()).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let p = parse(&json!({"clips_data": [{}]}), &Limits::default()).unwrap();
        assert_eq!((p.target_width, p.target_height, p.fps), (810, 1440, 30.0));
        assert!(p.include_audio);
        assert_eq!(p.transition, Transition::default());
        assert_eq!(p.upscale, Upscale::Lanczos);
        let c = &p.clips_data[0];
        assert_eq!(
            (c.rotation, c.source_start_time, c.source_end_time),
            (0.0, 0.0, None)
        );
        assert_eq!(c.trim(), (0.0, None));
        let p = parse(
            &json!({"clips_data": [{"segment_data": {"trimRange": {"start": 1, "end": 2}}}]}),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(p.clips_data[0].trim(), (1.0, Some(2.0)));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err(json!({"clips_data": []})).starts_with("params.clips_data must hold"));
        assert!(
            err(json!({"clips_data": [{}], "upscale": "bicubic"})).starts_with("params.upscale"),
            "{}",
            err(json!({"clips_data": [{}], "upscale": "bicubic"}))
        );
        let ai = parse(
            &json!({"clips_data": [{}], "upscale": "ai"}),
            &Limits::default(),
        );
        assert_eq!(ai.unwrap().upscale, Upscale::Ai);
        assert!(
            err(json!({"clips_data": [{}], "target_width": 811}))
                .starts_with("params.target_width must be an even")
        );
        assert!(err(json!({"clips_data": [{}], "fps": 0})).starts_with("params.fps"));
        assert!(
            err(json!({"clips_data": [{}], "transition": {"type": "wipe"}}))
                .starts_with("params.transition.type")
        );
        assert!(
            err(json!({"clips_data": [{"source_start_time": 5, "source_end_time": 4}]}))
                .starts_with("params.clips_data[0].source_end_time must be >")
        );
        assert!(
            err(json!({"clips_data": [{}, {"segment_data": {"trim_start": 3, "trim_end": 2}}]}))
                .starts_with("params.clips_data[1].segment_data.trim_end must be >")
        );
        assert!(err(json!({"clips_data": [{"segment_data": {"trimRange": {"start": 0, "end": 2}, "trim_start": 1}}]})).starts_with("params.clips_data[0].segment_data.trimRange must not"));
        assert!(err(json!({"clips_data": [{"segment_data": {"segments": [{"start": 0, "end": 1, "speed": 5}]}}]})).starts_with("params.clips_data[0].segment_data.segments[0].speed must be between 0.25 and 4"));
        assert!(err(json!({"clips_data": [{"segment_data": {"segments": [{"start": 0, "end": 2, "speed": 2}, {"start": 1, "end": 3}]}}]})).starts_with("params.clips_data[0].segment_data.segments[1] overlaps segments[0]"));
        assert!(err(json!({"clips_data": [{"segment_data": {"trim_start": 1, "trim_end": 3, "segments": [{"start": 0.5, "end": 2}]}}]})).starts_with("params.clips_data[0].segment_data.segments[0] must lie inside the trim"));
        assert!(err(json!({"clips_data": [{"keyframes": [{"time": 0, "x": 0, "y": 0, "width": 0, "height": 5}]}]})).starts_with("params.clips_data[0].keyframes[0].width must be >= 1"));
        assert!(
            err(json!({"clips_data": [{"rotation": "left"}]}))
                .starts_with("params.clips_data[0].rotation")
        );
        assert!(
            err(json!({"clips_data": [{}], "source_keys": ["../x"]}))
                .starts_with("params.source_keys[0]")
        );
    }

    #[test]
    fn clips_are_checked_against_their_source() {
        let p = parse(
            &json!({"clips_data": [
                {"source_start_time": 2, "source_end_time": 6, "segment_data": {"trim_start": 1, "trim_end": 3}},
                {"source_start_time": 9},
                {"source_start_time": 1, "segment_data": {"trimRange": {"start": 0, "end": 20}}}]}),
            &Limits::default(),
        )
        .unwrap();
        p.check_clip(0, 10.0).unwrap();
        assert!(p.check_clip(0, 5.0).unwrap_err().to_string().starts_with(
            "params.clips_data[0].source_end_time must be <= the end of its source (5.000 s)"
        ));
        assert!(
            p.check_clip(1, 8.0)
                .unwrap_err()
                .to_string()
                .starts_with("params.clips_data[1].source_start_time must be before")
        );
        assert!(p.check_clip(2, 10.0).unwrap_err().to_string().starts_with(
            "params.clips_data[2].segment_data.trimRange.end must be inside the clip (0..9.000 s)"
        ));
        assert_eq!(p.source_key(0, "in.mp4"), "in.mp4");
    }
}
