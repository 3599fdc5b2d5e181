//! `process_clips_ai` (contract §13): the app's kwargs turned into a §10 reel. What needs the
//! sources (a keyframe given as a frame number, segments reaching past an open trim's end) is
//! resolved in [`ClipsCall::to_reel`] once they are probed; everything else is checked here
//! before any source is opened.

use serde_json::Value;

use super::keys::UserPrefix;
use super::kwargs::{Obj, as_kwarg};
use crate::job::framing_v2::{
    self, ClipKeyframe, ReelClip, ReelParams, SegmentData, SpeedSegment, Transition,
    TransitionKind, Upscale,
};
use crate::job::{Limits, ParamError};

pub const KWARGS: &[&str] = &[
    "job_id",
    "user_id",
    "source_keys",
    "output_key",
    "clips_data",
    "target_width",
    "target_height",
    "fps",
    "include_audio",
    "transition",
];
const CLIP: &[&str] = &[
    "keyframes",
    "segment_data",
    "clipIndex",
    "rotation",
    "source_start_time",
    "source_end_time",
];
/// Keys the app's clips carry that §13 ignores.
const CLIP_APP: &[&str] = &["duration", "clipName"];
const KEYFRAME: &[&str] = &["time", "frame", "x", "y", "width", "height"];
const SEGMENT_DATA: &[&str] = &["trimRange", "trim_start", "trim_end", "segments"];
const SEGMENT: &[&str] = &["start", "end", "speed"];
const TRANSITION: &[&str] = &["type", "duration"];

/// When a crop keyframe is: seconds from the source's first frame, or a frame number at the
/// source's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyTime {
    Seconds(f64),
    Frame(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallKeyframe {
    pub at: KeyTime,
    pub rect: [f64; 4],
}

/// A clip as the app sent it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CallClip {
    /// Index into `source_keys` (`clipIndex`, default the clip's position).
    pub source: usize,
    pub keyframes: Vec<CallKeyframe>,
    pub rotation: f64,
    pub source_start_time: f64,
    pub source_end_time: Option<f64>,
    pub trim_start: Option<f64>,
    pub trim_end: Option<f64>,
    /// Whether the trim came as `trimRange` (for error names).
    pub trim_range: bool,
    pub segments: Vec<SpeedSegment>,
}

/// A checked `process_clips_ai` call.
#[derive(Debug, Clone)]
pub struct ClipsCall {
    pub job_id: Option<String>,
    pub user: UserPrefix,
    /// Full object keys, in `source_keys` order.
    pub sources: Vec<String>,
    pub output: String,
    pub output_key: String,
    pub clips: Vec<CallClip>,
    pub target_width: i64,
    pub target_height: i64,
    pub fps: f64,
    pub include_audio: bool,
    pub transition: Transition,
    pub ignored: Vec<String>,
}

/// What the reel needs to know of a probed source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceFacts {
    /// Frames per second (for keyframes given as frames).
    pub fps: f64,
    /// Seconds from its first frame to its end.
    pub length_s: f64,
}

/// Reads and validates `process_clips_ai`'s kwargs.
pub fn parse(kwargs: &Value, limits: &Limits) -> Result<ClipsCall, ParamError> {
    let kw = Obj::new(kwargs, "kwargs")?;
    let mut ignored = Vec::new();
    kw.check_keys(KWARGS, &[], &mut ignored)?;
    let user = UserPrefix::new(kw.str("user_id")?, "kwargs.user_id")?;
    let output_key = kw.str("output_key")?;
    let output = user.output(output_key, "kwargs.output_key")?;
    let sources = user.objects(&kw, "source_keys")?;
    let mut clips = Vec::new();
    for (i, c) in kw.list("clips_data")?.iter().enumerate() {
        let path = format!("kwargs.clips_data[{i}]");
        clips.push(clip(&Obj::new(c, &path)?, i, sources.len(), &mut ignored)?);
    }
    if clips.is_empty() {
        return Err(ParamError::new(
            "kwargs.clips_data",
            "must hold at least one clip",
        ));
    }
    let transition = match kw.get("transition") {
        None => Transition::default(),
        Some(t) => {
            let t = Obj::new(t, "kwargs.transition")?;
            t.check_keys(TRANSITION, &[], &mut ignored)?;
            let kind = match t.opt_str("type")? {
                None | Some("cut") => TransitionKind::Cut,
                Some("fade") => TransitionKind::Fade,
                Some("dissolve") => TransitionKind::Dissolve,
                Some(other) => {
                    return Err(ParamError::new(
                        "kwargs.transition.type",
                        format!("must be \"cut\", \"fade\" or \"dissolve\" (got {other:?})"),
                    ));
                }
            };
            Transition {
                kind,
                duration: t.opt_num("duration")?.unwrap_or(0.5),
            }
        }
    };
    let call = ClipsCall {
        job_id: kw.opt_str("job_id")?.map(String::from),
        user,
        sources,
        output,
        output_key: output_key.to_string(),
        clips,
        target_width: kw.opt_int("target_width")?.unwrap_or(810),
        target_height: kw.opt_int("target_height")?.unwrap_or(1440),
        fps: kw.opt_num("fps")?.unwrap_or(30.0),
        include_audio: kw.opt_bool("include_audio")?.unwrap_or(true),
        transition,
        ignored,
    };
    // what can be checked without the sources, checked now
    let facts = vec![
        SourceFacts {
            fps: 30.0,
            length_s: f64::INFINITY,
        };
        call.sources.len()
    ];
    call.to_reel(&facts, limits)?;
    Ok(call)
}

fn clip(
    c: &Obj,
    i: usize,
    n_sources: usize,
    ignored: &mut Vec<String>,
) -> Result<CallClip, ParamError> {
    c.check_keys(CLIP, CLIP_APP, ignored)?;
    let source = match c.opt_int("clipIndex")? {
        None => i,
        Some(k) if k >= 0 && (k as usize) < n_sources => k as usize,
        Some(k) => {
            return Err(ParamError::new(
                c.field("clipIndex"),
                format!("must name one of the {n_sources} source_keys (0..{n_sources}), got {k}"),
            ));
        }
    };
    if c.get("clipIndex").is_none() && i >= n_sources {
        return Err(ParamError::new(
            c.field("clipIndex"),
            format!("is required: clip {i} has no source_keys[{i}] ({n_sources} given)"),
        ));
    }
    let mut keyframes = Vec::new();
    for (k, kf) in c.list("keyframes")?.iter().enumerate() {
        let path = format!("{}.keyframes[{k}]", c.path);
        let kf = Obj::new(kf, &path)?;
        kf.check_keys(KEYFRAME, &[], ignored)?;
        let at = match (kf.opt_num("time")?, kf.opt_num("frame")?) {
            (Some(t), _) => KeyTime::Seconds(t),
            (None, Some(f)) => KeyTime::Frame(f),
            (None, None) => {
                return Err(ParamError::new(
                    kf.field("time"),
                    "is required (seconds from the source's first frame; or frame, a frame number)",
                ));
            }
        };
        keyframes.push(CallKeyframe {
            at,
            rect: [
                kf.num("x")?,
                kf.num("y")?,
                kf.num("width")?,
                kf.num("height")?,
            ],
        });
    }
    let (mut trim_start, mut trim_end, mut trim_range) = (None, None, false);
    let mut segments = Vec::new();
    if let Some(d) = c.get("segment_data") {
        let dpath = c.field("segment_data");
        let d = Obj::new(d, &dpath)?;
        d.check_keys(SEGMENT_DATA, &[], ignored)?;
        if d.has("trim_start") || d.has("trim_end") {
            trim_start = d.opt_num("trim_start")?;
            trim_end = d.opt_num("trim_end")?;
        } else if let Some(r) = d.get("trimRange") {
            let rpath = d.field("trimRange");
            let r = Obj::new(r, &rpath)?;
            trim_start = r.opt_num("start")?;
            trim_end = r.opt_num("end")?;
            trim_range = true;
        }
        for (k, s) in d.list("segments")?.iter().enumerate() {
            let spath = format!("{dpath}.segments[{k}]");
            let s = Obj::new(s, &spath)?;
            s.check_keys(SEGMENT, &[], ignored)?;
            segments.push(SpeedSegment {
                start: s.num("start")?,
                end: s.num("end")?,
                speed: s.opt_num("speed")?.unwrap_or(1.0),
            });
        }
    }
    Ok(CallClip {
        source,
        keyframes,
        rotation: c.opt_num("rotation")?.unwrap_or(0.0),
        source_start_time: c.opt_num("source_start_time")?.unwrap_or(0.0),
        source_end_time: c.opt_num("source_end_time")?,
        trim_start,
        trim_end,
        trim_range,
        segments,
    })
}

impl ClipsCall {
    /// The §10 reel on sources with these facts (in `source_keys` order): keyframe times made
    /// clip seconds, frames made seconds, segments cut to the trim. Errors name the kwarg.
    pub fn to_reel(
        &self,
        facts: &[SourceFacts],
        limits: &Limits,
    ) -> Result<ReelParams, ParamError> {
        let mut clips = Vec::with_capacity(self.clips.len());
        for c in &self.clips {
            let f = facts[c.source];
            let start = c.source_start_time;
            let len = c.source_end_time.unwrap_or(f.length_s) - start;
            let keyframes = c
                .keyframes
                .iter()
                .map(|k| {
                    let t = match k.at {
                        KeyTime::Seconds(t) => t,
                        KeyTime::Frame(n) => n / f.fps,
                    };
                    let [x, y, width, height] = k.rect;
                    // §13's times count from the source's first frame, §10's from the clip's
                    ClipKeyframe {
                        time: t - start,
                        x,
                        y,
                        width,
                        height,
                    }
                })
                .collect();
            // segments may cover trimmed-away parts: only what lies inside the trim plays
            let lo = c.trim_start.unwrap_or(0.0);
            let hi = c.trim_end.unwrap_or(f64::INFINITY).min(len);
            let segments = c
                .segments
                .iter()
                .map(|s| SpeedSegment {
                    start: s.start.max(lo),
                    end: s.end.min(hi),
                    speed: s.speed,
                })
                .filter(|s| s.end - s.start > 1e-6)
                .collect();
            clips.push(ReelClip {
                keyframes,
                rotation: c.rotation,
                source_start_time: start,
                source_end_time: c.source_end_time,
                segment_data: SegmentData {
                    trim_start: c.trim_start,
                    trim_end: c.trim_end,
                    trim_range: None,
                    segments,
                },
                input_video_key: Some(self.sources[c.source].clone()),
            });
        }
        let p = ReelParams {
            clips_data: clips,
            source_keys: None,
            target_width: self.target_width,
            target_height: self.target_height,
            fps: self.fps,
            include_audio: self.include_audio,
            transition: self.transition,
            // every crop through the AI x4 network, as the app does (REELGPU_SR=off: Lanczos)
            upscale: Upscale::Ai,
        };
        framing_v2::validate_built(&p, limits).map_err(|e| self.kwarg(e))?;
        Ok(p)
    }

    /// A §10 error (`params.…`) as the kwarg it came from.
    pub fn kwarg(&self, e: ParamError) -> ParamError {
        let mut e = as_kwarg(e, &[]);
        // a clip's source is named by the source_keys entry it reads
        for (i, c) in self.clips.iter().enumerate() {
            let clip = format!("kwargs.clips_data[{i}].");
            let Some(rest) = e.field.strip_prefix(&clip) else {
                continue;
            };
            let renamed = match rest {
                "input_video_key" => format!("kwargs.source_keys[{}]", c.source),
                // a trimRange was carried as trim_start/trim_end
                "segment_data.trim_start" if c.trim_range => {
                    format!("{clip}segment_data.trimRange.start")
                }
                "segment_data.trim_end" if c.trim_range => {
                    format!("{clip}segment_data.trimRange.end")
                }
                _ => continue,
            };
            e.field = renamed;
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::reel::ReelTimeline;
    use serde_json::json;

    fn call(extra: Value) -> Value {
        let mut v = json!({"job_id": "e2", "user_id": "production/users/u/profiles/p1",
            "source_keys": ["temp/a.mp4", "games/g.mp4"], "output_key": "final/reel.mp4",
            "clips_data": [
                {"keyframes": [{"time": 0, "x": 10, "y": 0, "width": 405, "height": 720}],
                 "segment_data": {}, "clipIndex": 0, "duration": 4.0, "clipName": null, "rotation": 0}],
            "target_width": 810, "target_height": 1440, "fps": 30, "include_audio": true,
            "transition": {"type": "cut", "duration": 0}});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    fn parse_ok(extra: Value) -> ClipsCall {
        parse(&call(extra), &Limits::default()).unwrap()
    }

    fn err(extra: Value) -> String {
        parse(&call(extra), &Limits::default())
            .unwrap_err()
            .to_string()
    }

    const TEN_S: SourceFacts = SourceFacts {
        fps: 25.0,
        length_s: 10.0,
    };

    fn reel(c: &ClipsCall) -> ReelParams {
        c.to_reel(&vec![TEN_S; c.sources.len()], &Limits::default())
            .unwrap()
    }

    #[test]
    fn clip_index_picks_the_source_and_games_keys_are_shared() {
        let c = parse_ok(json!({"clips_data": [
            {"clipIndex": 1, "segment_data": {}}, {"clipIndex": 0}]}));
        assert_eq!(
            c.sources,
            vec!["production/users/u/profiles/p1/temp/a.mp4", "games/g.mp4"]
        );
        let p = reel(&c);
        assert_eq!(
            p.clips_data[0].input_video_key.as_deref(),
            Some("games/g.mp4")
        );
        assert_eq!(
            p.clips_data[1].input_video_key.as_deref(),
            Some("production/users/u/profiles/p1/temp/a.mp4")
        );
        assert!(
            c.ignored.is_empty(),
            "duration and clipName are the app's: {:?}",
            c.ignored
        );
        // without clipIndex: the clip's position
        let c = parse_ok(json!({"clips_data": [{}, {}]}));
        assert_eq!(c.clips[1].source, 1);
        assert_eq!(
            err(json!({"clips_data": [{"clipIndex": 2}]})),
            "kwargs.clips_data[0].clipIndex must name one of the 2 source_keys (0..2), got 2"
        );
        assert_eq!(
            err(json!({"source_keys": []})),
            "kwargs.source_keys must hold at least one key"
        );
    }

    #[test]
    fn segment_data_comes_in_three_shapes() {
        for (data, want) in [
            (json!({}), (0.0, 10.0)),
            (json!({"trimRange": null, "segments": []}), (0.0, 10.0)),
            (json!({"trimRange": {"start": 1.0, "end": 4.0}}), (1.0, 4.0)),
            (json!({"trim_start": 2.0, "trim_end": 5.5}), (2.0, 5.5)),
        ] {
            let c = parse_ok(json!({"clips_data": [{"segment_data": data.clone()}]}));
            let p = reel(&c);
            let t = ReelTimeline::new(&p, &[10.0]).unwrap();
            let got = (
                t.clips[0].segments[0].start,
                t.clips[0].segments.last().unwrap().end,
            );
            assert_eq!(got, want, "{data}");
        }
    }

    #[test]
    fn segments_outside_the_trim_are_cut_to_it() {
        let c = parse_ok(json!({"clips_data": [{"segment_data": {
            "trimRange": {"start": 2.0, "end": 6.0},
            "segments": [{"start": 0, "end": 3, "speed": 0.5}, {"start": 3, "end": 5, "speed": 1},
                         {"start": 5, "end": 10, "speed": 2}, {"start": 7, "end": 9, "speed": 4}]}}]}));
        let p = reel(&c);
        let segs: Vec<_> = p.clips_data[0]
            .segment_data
            .segments
            .iter()
            .map(|s| (s.start, s.end, s.speed))
            .collect();
        assert_eq!(
            segs,
            vec![(2.0, 3.0, 0.5), (3.0, 5.0, 1.0), (5.0, 6.0, 2.0)]
        );
        // the reel: 1 s at 0.5 (2 s) + 2 s + 1 s at 2 (0.5 s) = 4.5 s
        let t = ReelTimeline::new(&p, &[10.0]).unwrap();
        assert!((t.duration() - 4.5).abs() < 1.0 / 30.0, "{}", t.duration());
        // an open trim: segments past the clip's end are cut at it once the source is known
        let c = parse_ok(json!({"clips_data": [{"segment_data": {
            "segments": [{"start": 8, "end": 30, "speed": 0.5}]}}]}));
        let p = reel(&c);
        assert_eq!(p.clips_data[0].segment_data.segments[0].end, 10.0);
    }

    #[test]
    fn keyframes_count_from_the_source_and_may_be_frames() {
        let c = parse_ok(
            json!({"clips_data": [{"source_start_time": 2.0, "keyframes": [
            {"time": 2.5, "x": 0, "y": 0, "width": 100, "height": 200},
            {"frame": 100, "x": 50, "y": 0, "width": 100, "height": 200}]}]}),
        );
        let p = reel(&c);
        let times: Vec<f64> = p.clips_data[0].keyframes.iter().map(|k| k.time).collect();
        // 2.5 s of the source is 0.5 s into the clip; frame 100 at 25 fps is 4 s → 2 s
        assert_eq!(times, vec![0.5, 2.0]);
        assert!(
            err(
                json!({"clips_data": [{"keyframes": [{"x": 0, "y": 0, "width": 1, "height": 1}]}]})
            )
            .starts_with("kwargs.clips_data[0].keyframes[0].time is required")
        );
    }

    #[test]
    fn errors_name_the_kwarg() {
        assert!(
            err(json!({"target_width": 811}))
                .starts_with("kwargs.target_width must be an even number")
        );
        assert!(
            err(json!({"transition": {"type": "wipe", "duration": 1}}))
                .starts_with("kwargs.transition.type must be")
        );
        assert!(
            err(json!({"transition": {"type": "fade", "duration": 0}}))
                .starts_with("kwargs.transition.duration must be > 0")
        );
        assert!(
            err(json!({"clips_data": [{"segment_data": {"segments": [{"start": 1, "end": 2, "speed": 9}]}}]}))
                .starts_with("kwargs.clips_data[0].segment_data.segments[0].speed")
        );
        assert_eq!(
            err(json!({"clip_data": []})),
            "kwargs.clip_data is not a known argument; did you mean clips_data?"
        );
        assert!(err(json!({"fps": "30"})).starts_with("kwargs.fps must be a number"));
    }
}
