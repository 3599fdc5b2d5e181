//! The web app's own render calls (contract Part 3): `{"function", "kwargs"}` exactly as its
//! backend sends them. This layer turns kwargs into the §9/§10 params the engine already takes
//! ([`overlay`], [`clips`]) or a join ([`stitch`]), runs them against storage ([`run`]) and
//! turns the engine's progress into the app's stream items ([`stream`]). Nothing below it knows
//! the app's names.
//!
//! - [`kwargs`]: typed getters naming the kwarg, the known/app-only/near-miss key check.
//! - [`keys`]: objects under the user's prefix, `games/` shared.

pub mod clips;
pub mod compose;
pub mod detect;
pub mod keys;
pub use crate::job::kwargs;
pub mod overlay;
pub mod run;
pub mod stitch;
pub mod stream;

use serde_json::Value;

use crate::job::fields::near_miss;
use crate::job::{Limits, ParamError};

pub use run::{CallContext, run};
pub use stream::{Sink, Stream};

/// `REELGPU_SR=off` resizes `process_clips_ai`'s crops with Lanczos (machines without a GPU).
pub const SR_OFF_ENV: &str = "REELGPU_SR";

/// The functions a call may name.
pub const FUNCTIONS: &[&str] = &[
    "render_overlay",
    "process_clips_ai",
    "stitch_members",
    "detect_players_modal",
    "detect_players_batch_modal",
    "compose_serve_time_modal",
];
/// The contract's Part 1 job fields, which a call never carries (§11).
const JOB_FIELDS: &[&str] = &[
    "type",
    "input_video_key",
    "params",
    "callback_url",
    "job_id",
];

/// A checked call.
#[derive(Debug, Clone)]
pub enum Call {
    RenderOverlay(overlay::OverlayCall),
    ClipsAi(clips::ClipsCall),
    Stitch(stitch::StitchCall),
    Detect(detect::DetectCall),
    Compose(compose::ComposeCall),
}

impl Call {
    pub fn function(&self) -> &'static str {
        match self {
            Call::RenderOverlay(_) => "render_overlay",
            Call::ClipsAi(_) => "process_clips_ai",
            Call::Stitch(_) => "stitch_members",
            Call::Detect(c) if c.batch() => "detect_players_batch_modal",
            Call::Detect(_) => "detect_players_modal",
            Call::Compose(_) => "compose_serve_time_modal",
        }
    }
}

/// Whether a job input is a call (it has `function` or `kwargs`) rather than a §1 job.
pub fn is_call(input: &Value) -> bool {
    input.get("function").is_some() || input.get("kwargs").is_some()
}

/// Parses `{"function", "kwargs"}`; errors name the field (`function`, `kwargs.…`).
pub fn parse(input: &Value, limits: &Limits) -> Result<Call, ParamError> {
    let Some(map) = input.as_object() else {
        return Err(ParamError::new("input", "must be a JSON object"));
    };
    if let Some(f) = JOB_FIELDS.iter().find(|f| map.contains_key(**f)) {
        return Err(ParamError::new(
            *f,
            "is a job field (contract §1): a call is {\"function\", \"kwargs\"} only",
        ));
    }
    for name in map.keys() {
        if name != "function"
            && name != "kwargs"
            && let Some(meant) = near_miss(name, &["function", "kwargs"])
        {
            return Err(ParamError::new(
                name.as_str(),
                format!("is not a field; did you mean {meant}?"),
            ));
        }
    }
    let function = match map.get("function") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => return Err(ParamError::new("function", "is required")),
        Some(_) => return Err(ParamError::new("function", "must be a string")),
    };
    let empty = Value::Object(Default::default());
    let kwargs = match map.get("kwargs") {
        None | Some(Value::Null) => &empty,
        Some(k) => k,
    };
    match function {
        "render_overlay" => Ok(Call::RenderOverlay(overlay::parse(kwargs, limits)?)),
        "process_clips_ai" => Ok(Call::ClipsAi(clips::parse(kwargs, limits)?)),
        "stitch_members" => Ok(Call::Stitch(stitch::parse(kwargs)?)),
        "detect_players_modal" => Ok(Call::Detect(detect::parse(kwargs, false)?)),
        "detect_players_batch_modal" => Ok(Call::Detect(detect::parse(kwargs, true)?)),
        "compose_serve_time_modal" => Ok(Call::Compose(compose::parse(kwargs)?)),
        other => Err(ParamError::new(
            "function",
            format!(
                "must be one of {} (got {other:?})",
                FUNCTIONS
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_call_in_the_job_docs_is_a_valid_call() {
        let doc = include_str!("../../docs/jobs.md");
        let mut functions = std::collections::BTreeSet::new();
        for block in doc.split("```json").skip(1) {
            let text = block.split("```").next().unwrap();
            let v: Value = serde_json::from_str(text).unwrap();
            if v.get("function").is_none() {
                continue;
            }
            let call = parse(&v, &Limits::default())
                .unwrap_or_else(|e| panic!("docs/jobs.md call fails: {e}:{text}"));
            functions.insert(call.function());
        }
        assert_eq!(
            functions.into_iter().collect::<Vec<_>>(),
            [
                "compose_serve_time_modal",
                "detect_players_batch_modal",
                "detect_players_modal",
                "process_clips_ai",
                "render_overlay",
                "stitch_members"
            ],
            "an example of every call"
        );
    }

    #[test]
    fn the_function_is_checked_and_never_mixed_with_job_fields() {
        let l = Limits::default();
        let e = |v: Value| parse(&v, &l).unwrap_err().to_string();
        assert!(
            e(json!({"function": "render_video", "kwargs": {}}))
                .starts_with("function must be one of \"render_overlay\"")
        );
        assert_eq!(e(json!({"kwargs": {}})), "function is required");
        assert!(
            e(json!({"function": "stitch_members", "kwargs": {}, "type": "overlay"}))
                .starts_with("type is a job field")
        );
        assert_eq!(
            e(json!({"function": "stitch_members", "kwarg": {}})),
            "kwarg is not a field; did you mean kwargs?"
        );
        assert!(is_call(&json!({"function": "x"})));
        assert!(!is_call(&json!({"type": "overlay"})));
    }
}
