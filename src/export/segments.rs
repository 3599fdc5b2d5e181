//! What each export type decodes, keeps and where each kept frame lands in the output: a list
//! of segments, joined in order. Nothing here knows how many frames the source has or when
//! they are shown: the decoder's stream tells that while the export runs, and a trim or clip
//! the source cannot satisfy fails then (before the output is renamed into place), with the
//! job field it comes from.

use crate::job::{AnnotateParams, FramingParams, JobParams, JobSpec, OverlayTimeline, ParamError};

/// Which decoded frames of a segment go into the output.
#[derive(Debug, Clone, PartialEq)]
pub enum Keep {
    /// Source frames `first..=last` (0-based indices in presentation order); `last: None`
    /// keeps every frame from `first` on.
    Frames { first: u64, last: Option<u64> },
    /// Frames shown at `start <= t < end` seconds from the source's first frame.
    Times { start: f64, end: f64 },
}

/// Where a segment's output time 0 is, in source time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin {
    /// The source's first frame: output times are source times.
    SourceStart,
    /// The segment's first kept frame.
    FirstKept,
    /// This many seconds after the source's first frame.
    At(f64),
}

/// The job fields a segment's range comes from, named when the source cannot satisfy it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub start: String,
    pub end: String,
}

/// One stretch of the source, processed and appended to the output.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Seconds after the source's first frame to seek to before decoding (the decoder starts
    /// a little earlier and the keep rule picks the frames); `None`: from the beginning, so
    /// frame indices count from the source's first frame.
    pub seek_s: Option<f64>,
    pub keep: Keep,
    pub origin: Origin,
    /// Output seconds this segment spans when the job fixes it (a clip `start..end`); `None`:
    /// up to the end of its last frame.
    pub span_s: Option<f64>,
    /// Per-frame effects and crop, by source frame index.
    pub timeline: OverlayTimeline,
    /// Index in `AnnotateParams::clips` whose label is burned in.
    pub clip: Option<usize>,
    pub fields: Fields,
}

impl Segment {
    /// Whether the frame `index` shown at `t` seconds is kept, and whether every later frame
    /// is past the segment.
    pub fn keeps(&self, index: u64, t: f64) -> (bool, bool) {
        match self.keep {
            Keep::Frames { first, last } => (
                first <= index && last.is_none_or(|l| index <= l),
                last.is_some_and(|l| index >= l),
            ),
            Keep::Times { start, end } => {
                let eps = 1e-9;
                (start - eps <= t && t < end - eps, t >= end - eps)
            }
        }
    }

    /// The error for a source that ended (`frames` decoded, the last ending at `end_s`)
    /// before this segment was satisfied, if it was not.
    pub fn check_end(&self, kept: u64, frames: u64, end_s: f64) -> Result<(), ParamError> {
        match self.keep {
            Keep::Frames { first, last } => {
                if first >= frames {
                    return Err(ParamError::new(
                        &self.fields.start,
                        format!("must be < the video's frame count ({frames}), got {first}"),
                    ));
                }
                if let Some(last) = last.filter(|&l| l >= frames) {
                    return Err(ParamError::new(
                        &self.fields.end,
                        format!("must be < the video's frame count ({frames}), got {last}"),
                    ));
                }
                Ok(())
            }
            Keep::Times { start, end } => {
                if kept == 0 {
                    return Err(ParamError::new(
                        &self.fields.start,
                        format!(
                            "the clip {start}-{end} s holds no frame (the video's frames run \
                             from 0 to {end_s:.3} s)"
                        ),
                    ));
                }
                if end > end_s + 1e-3 {
                    return Err(ParamError::new(
                        &self.fields.end,
                        format!("must be <= the video's end ({end_s:.3} s), got {end}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// How far before a clip the decoder seeks: frames before the clip are decoded and dropped,
/// so a seek that lands a little early loses nothing.
pub const SEEK_MARGIN_S: f64 = 1.0;

/// The segments of `job`.
pub fn plan(job: &JobSpec) -> Vec<Segment> {
    match &job.params {
        JobParams::Overlay(p) => vec![overlay(OverlayTimeline::new(p))],
        JobParams::OverlayV2(p) => vec![overlay(OverlayTimeline::v2(p))],
        JobParams::Framing(p) => vec![framing(p)],
        // a reel's clips are placed by `export::reel`
        JobParams::Reel(_) => Vec::new(),
        JobParams::Annotate(p) => annotate(p),
    }
}

fn overlay(timeline: OverlayTimeline) -> Segment {
    Segment {
        seek_s: None,
        keep: Keep::Frames {
            first: 0,
            last: None,
        },
        origin: Origin::SourceStart,
        span_s: None,
        timeline,
        clip: None,
        fields: Fields::default(),
    }
}

fn framing(p: &FramingParams) -> Segment {
    Segment {
        seek_s: None,
        keep: Keep::Frames {
            first: p.start_frame.unwrap_or(0) as u64,
            last: p.end_frame.map(|e| e as u64),
        },
        origin: Origin::FirstKept,
        span_s: None,
        timeline: OverlayTimeline::crop_only(&p.crop_keyframes),
        clip: None,
        fields: Fields {
            start: "params.start_frame".into(),
            end: "params.end_frame".into(),
        },
    }
}

fn annotate(p: &AnnotateParams) -> Vec<Segment> {
    p.clips
        .iter()
        .enumerate()
        .map(|(i, c)| Segment {
            seek_s: Some(c.start_time),
            keep: Keep::Times {
                start: c.start_time,
                end: c.end_time,
            },
            origin: Origin::At(c.start_time),
            span_s: Some(c.end_time - c.start_time),
            timeline: OverlayTimeline::none(),
            clip: Some(i),
            fields: Fields {
                start: format!("params.clips[{i}].start_time"),
                end: format!("params.clips[{i}].end_time"),
            },
        })
        .collect()
}

/// Frames the segments are expected to keep on a source of about `frames` frames at `fps`,
/// for progress (the decoder's count is the real one).
pub fn expected_frames(segments: &[Segment], frames: Option<u64>, fps: f64) -> u64 {
    segments
        .iter()
        .map(|s| match s.keep {
            Keep::Frames { first, last } => match (last, frames) {
                (Some(l), _) => l + 1 - first.min(l + 1),
                (None, Some(n)) => n.saturating_sub(first),
                (None, None) => 0,
            },
            Keep::Times { start, end } => ((end - start) * fps).round().max(1.0) as u64,
        })
        .sum::<u64>()
        .max(1)
}

/// Whether every segment's seek is known before decoding starts (annotate): then the audio cuts
/// are fixed by the job, else they start at the first kept frame and end with the video.
pub fn needs_source_origin(segments: &[Segment]) -> bool {
    segments.iter().any(|s| s.seek_s.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(v: serde_json::Value) -> JobSpec {
        JobSpec::from_json(&v, &Default::default()).unwrap()
    }

    #[test]
    fn framing_trim_is_checked_against_the_frames_decoded() {
        let j = job(json!({"type": "framing", "params": {
            "crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 90, "height": 160}],
            "output_width": 90, "output_height": 160, "start_frame": 10, "end_frame": 40}}));
        let s = &plan(&j)[0];
        assert_eq!(
            s.keep,
            Keep::Frames {
                first: 10,
                last: Some(40)
            }
        );
        assert_eq!(s.keeps(9, 0.3), (false, false));
        assert_eq!(s.keeps(10, 0.33), (true, false));
        assert_eq!(s.keeps(40, 1.33), (true, true));
        let err = s.check_end(20, 30, 1.0).unwrap_err();
        assert_eq!(err.field, "params.end_frame");
        assert!(err.message.contains("frame count (30)"), "{err}");
        let err = s.check_end(0, 8, 0.3).unwrap_err();
        assert_eq!(err.field, "params.start_frame");
        assert!(s.check_end(31, 60, 2.0).is_ok());
        assert_eq!(expected_frames(&plan(&j), Some(60), 30.0), 31);
    }

    #[test]
    fn annotate_clips_are_checked_against_the_video_while_streaming() {
        let clip =
            |s: f64, e: f64| json!({"start_time": s, "end_time": e, "name": "a", "rating": 3});
        let j =
            job(json!({"type": "annotate", "params": {"clips": [clip(1.5, 2.0), clip(0.0, 0.5)]}}));
        let segs = plan(&j);
        assert_eq!(segs[0].seek_s, Some(1.5));
        assert_eq!(segs[0].keeps(0, 1.4), (false, false));
        assert_eq!(segs[0].keeps(0, 1.5), (true, false));
        assert_eq!(segs[0].keeps(0, 2.0), (false, true));
        assert!(segs[1].check_end(15, 60, 1.9).is_ok());
        let err = segs[0].check_end(12, 57, 1.9).unwrap_err();
        assert!(
            err.to_string().contains("params.clips[0].end_time"),
            "{err}"
        );
        let late = job(json!({"type": "annotate", "params": {"clips": [clip(5.0, 6.0)]}}));
        let err = plan(&late)[0].check_end(0, 60, 2.0).unwrap_err();
        assert_eq!(err.field, "params.clips[0].start_time");
        assert!(err.message.contains("0 to 2.000 s"), "{err}");
        let long = job(json!({"type": "annotate", "params": {"clips": [clip(1.0, 3.0)]}}));
        let err = plan(&long)[0].check_end(30, 60, 2.0).unwrap_err();
        assert_eq!(err.field, "params.clips[0].end_time");
        assert!(needs_source_origin(&segs));
        assert_eq!(expected_frames(&segs, None, 30.0), 30);
    }

    #[test]
    fn overlay_keeps_every_frame_from_the_source_start() {
        let j = job(json!({"type": "overlay", "params": {}}));
        let s = plan(&j);
        assert_eq!(s[0].origin, Origin::SourceStart);
        assert_eq!(s[0].keeps(1_000_000, 1e5), (true, false));
        assert!(!needs_source_origin(&s));
        assert_eq!(expected_frames(&s, Some(45), 30.0), 45);
    }
}
