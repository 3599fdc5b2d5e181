//! What each export type decodes, keeps and where each kept frame lands in the output: a list
//! of segments, joined in order. Checked against the source (frame ranges, clip times) before
//! any output is written.

use crate::job::{
    AnnotateParams, FramingParams, JobParams, JobSpec, OverlayParams, OverlayTimeline, ParamError,
};

/// Which decoded frames of a segment go into the output.
#[derive(Debug, Clone, PartialEq)]
pub enum Keep {
    /// Source frames `first..=last` (0-based indices in presentation order).
    Frames { first: u64, last: u64 },
    /// Frames shown at `start <= t < end` seconds.
    Times { start: f64, end: f64 },
}

/// One stretch of the source, processed and appended to the output.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Seconds to decode (`[start, end)`, the decoder seeks); `None`: from the beginning.
    pub window: Option<(f64, f64)>,
    pub keep: Keep,
    /// Source time that lands at this segment's start in the output (`None`: the source's own
    /// timestamps are kept).
    pub origin_s: Option<f64>,
    /// Output seconds this segment spans (the offset of the next one).
    pub span_s: f64,
    /// Per-frame effects and crop, by source frame index.
    pub timeline: OverlayTimeline,
    /// Index in `AnnotateParams::clips` whose label is burned in.
    pub clip: Option<usize>,
}

/// The segments of `job` on a source whose frames are shown at `times` (seconds, duration).
pub fn plan(job: &JobSpec, times: &[(f64, f64)]) -> Result<Vec<Segment>, ParamError> {
    let n = times.len() as u64;
    let end_of = |i: u64| {
        let (t, d) = times[i as usize];
        times.get(i as usize + 1).map(|n| n.0).unwrap_or(t + d)
    };
    match &job.params {
        JobParams::Overlay(p) => Ok(vec![overlay(p, n, end_of(n.saturating_sub(1)))]),
        JobParams::Framing(p) => framing(p, times, n, end_of),
        JobParams::Annotate(p) => annotate(p, times),
    }
}

fn overlay(p: &OverlayParams, n: u64, end: f64) -> Segment {
    Segment {
        window: None,
        keep: Keep::Frames {
            first: 0,
            last: n.saturating_sub(1),
        },
        origin_s: None,
        span_s: end,
        timeline: OverlayTimeline::new(p),
        clip: None,
    }
}

fn framing(
    p: &FramingParams,
    times: &[(f64, f64)],
    n: u64,
    end_of: impl Fn(u64) -> f64,
) -> Result<Vec<Segment>, ParamError> {
    let first = p.start_frame.unwrap_or(0) as u64;
    let last = p.end_frame.map(|e| e as u64).unwrap_or(n.saturating_sub(1));
    if first >= n {
        return Err(ParamError::new(
            "params.start_frame",
            format!("must be < the video's frame count ({n}), got {first}"),
        ));
    }
    if last >= n {
        return Err(ParamError::new(
            "params.end_frame",
            format!("must be < the video's frame count ({n}), got {last}"),
        ));
    }
    let start = times[first as usize].0;
    Ok(vec![Segment {
        window: None,
        keep: Keep::Frames { first, last },
        origin_s: Some(start),
        span_s: end_of(last) - start,
        timeline: OverlayTimeline::crop_only(&p.crop_keyframes),
        clip: None,
    }])
}

fn annotate(p: &AnnotateParams, times: &[(f64, f64)]) -> Result<Vec<Segment>, ParamError> {
    let video_end = times.last().map(|(t, d)| t + d).unwrap_or(0.0);
    let video_start = times.first().map(|(t, _)| *t).unwrap_or(0.0);
    let mut segments = Vec::new();
    for (i, c) in p.clips.iter().enumerate() {
        let f = |n: &str| format!("params.clips[{i}].{n}");
        if c.start_time < video_start || c.start_time >= video_end {
            return Err(ParamError::new(
                f("start_time"),
                format!(
                    "must lie inside the video ({video_start:.3}-{video_end:.3} s), got {}",
                    c.start_time
                ),
            ));
        }
        if c.end_time > video_end + 1e-6 {
            return Err(ParamError::new(
                f("end_time"),
                format!(
                    "must be <= the video's end ({video_end:.3} s), got {}",
                    c.end_time
                ),
            ));
        }
        if !times
            .iter()
            .any(|(t, _)| c.start_time <= *t && *t < c.end_time)
        {
            return Err(ParamError::new(
                f("end_time"),
                format!("the clip {}-{} s holds no frame", c.start_time, c.end_time),
            ));
        }
        segments.push(Segment {
            window: Some((c.start_time, c.end_time)),
            keep: Keep::Times {
                start: c.start_time,
                end: c.end_time,
            },
            origin_s: Some(c.start_time),
            span_s: c.end_time - c.start_time,
            timeline: OverlayTimeline::none(),
            clip: Some(i),
        });
    }
    Ok(segments)
}

/// Frames the segments keep, for progress.
pub fn kept_frames(segments: &[Segment], times: &[(f64, f64)]) -> u64 {
    segments
        .iter()
        .map(|s| match s.keep {
            Keep::Frames { first, last } => last + 1 - first,
            Keep::Times { start, end } => times
                .iter()
                .filter(|(t, _)| start <= *t && *t < end)
                .count() as u64,
        })
        .sum()
}

/// The audio the output carries: the source's, cut like the video.
pub fn audio_cuts(segments: &[Segment]) -> Vec<(f64, f64)> {
    if segments.iter().all(|s| s.origin_s.is_none()) {
        return Vec::new();
    }
    segments
        .iter()
        .map(|s| {
            let start = s.origin_s.unwrap_or(0.0);
            (start, start + s.span_s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn times(n: usize, fps: f64) -> Vec<(f64, f64)> {
        (0..n).map(|i| (i as f64 / fps, 1.0 / fps)).collect()
    }

    fn job(v: serde_json::Value) -> JobSpec {
        JobSpec::from_json(&v, &Default::default()).unwrap()
    }

    #[test]
    fn framing_trim_is_checked_against_the_frame_count() {
        let j = job(json!({"type": "framing", "params": {
            "crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 90, "height": 160}],
            "output_width": 90, "output_height": 160, "start_frame": 10, "end_frame": 40}}));
        let err = plan(&j, &times(30, 30.0)).unwrap_err();
        assert_eq!(err.field, "params.end_frame");
        let s = plan(&j, &times(60, 30.0)).unwrap();
        assert_eq!(
            s[0].keep,
            Keep::Frames {
                first: 10,
                last: 40
            }
        );
        assert!((s[0].span_s - 31.0 / 30.0).abs() < 1e-9);
        assert_eq!(audio_cuts(&s), vec![(10.0 / 30.0, 41.0 / 30.0)]);
    }

    #[test]
    fn annotate_clips_must_lie_inside_the_video() {
        let clip =
            |s: f64, e: f64| json!({"start_time": s, "end_time": e, "name": "a", "rating": 3});
        let j =
            job(json!({"type": "annotate", "params": {"clips": [clip(0.5, 1.0), clip(1.5, 3.0)]}}));
        let err = plan(&j, &times(60, 30.0)).unwrap_err();
        assert_eq!(err.field, "params.clips[1].end_time");
        let j =
            job(json!({"type": "annotate", "params": {"clips": [clip(1.5, 2.0), clip(0.0, 0.5)]}}));
        let s = plan(&j, &times(60, 30.0)).unwrap();
        assert_eq!(kept_frames(&s, &times(60, 30.0)), 30);
        assert_eq!(audio_cuts(&s), vec![(1.5, 2.0), (0.0, 0.5)]);
    }

    #[test]
    fn overlay_keeps_source_timestamps_and_all_audio() {
        let j = job(json!({"type": "overlay", "params": {}}));
        let s = plan(&j, &times(45, 30.0)).unwrap();
        assert_eq!(s[0].origin_s, None);
        assert!(audio_cuts(&s).is_empty());
        assert_eq!(kept_frames(&s, &times(45, 30.0)), 45);
    }
}
