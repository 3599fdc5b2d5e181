//! Contract §10 in time and space, in plain Rust: which source time each output frame of a
//! reel shows (trim, speed segments, constant output fps), where the reel's clips sit and
//! overlap (cut, fade, dissolve), and each frame's crop and rotation.

use super::framing_v2::{ReelClip, ReelParams, TransitionKind, Upscale};
use super::params::ParamError;
use super::spline::spline_at;
use super::timeline::{CropRect, FramePlan, Mix, Rotated, clamp_rect};

/// One speed over part of a clip: clip seconds `start..end` shown at `speed`, starting at
/// `out_start` seconds of the clip's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedSegment {
    pub start: f64,
    pub end: f64,
    pub speed: f64,
    pub out_start: f64,
}

impl TimedSegment {
    pub fn out_len(&self) -> f64 {
        (self.end - self.start) / self.speed
    }
}

/// How a clip blends with its neighbour on one output frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Blend {
    /// Toward black by `1 - level` (a fade), `level` 0–1.
    Fade { level: f32 },
    /// Mixed with the previous clip's frame at the same reel time: this clip's weight.
    Dissolve { weight: f32 },
}

/// One clip placed in the reel.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipTimeline {
    /// Source seconds (from the source's first frame) of clip time 0.
    pub source_start: f64,
    pub segments: Vec<TimedSegment>,
    /// Output frames of the clip.
    pub frames: u64,
    /// Reel frame of its first output frame.
    pub offset: u64,
    keyframes: Vec<[f64; 5]>,
    pub rotation: f64,
}

/// The reel: clips in order, their frames and blends, at a constant rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReelTimeline {
    pub fps: f64,
    pub clips: Vec<ClipTimeline>,
    pub transition: TransitionKind,
    /// Frames each transition spans (0 for cuts).
    pub transition_frames: u64,
    pub total_frames: u64,
    pub out_size: (u32, u32),
    /// §10 `"upscale": "ai"`: every crop goes through the AI ×4 network.
    pub upscale_ai: bool,
}

/// The segments covering a clip's trim: the given ones in order, with the gaps between them
/// (and before and after) at speed 1.
pub fn timed_segments(clip: &ReelClip, clip_len: f64) -> Vec<TimedSegment> {
    let (ts, te) = clip.trim();
    let te = te.unwrap_or(clip_len).min(clip_len);
    let mut given = clip.segment_data.segments.clone();
    given.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out = Vec::new();
    let mut at = ts;
    let push = |start: f64, end: f64, speed: f64, out: &mut Vec<TimedSegment>| {
        if end - start > 1e-9 {
            let out_start = out
                .last()
                .map_or(0.0, |s: &TimedSegment| s.out_start + s.out_len());
            out.push(TimedSegment {
                start,
                end,
                speed,
                out_start,
            });
        }
    };
    for s in given {
        let (start, end) = (s.start.max(ts), s.end.min(te));
        if start > at {
            push(at, start, 1.0, &mut out);
        }
        push(start.max(at), end, s.speed, &mut out);
        at = at.max(end);
    }
    if te > at {
        push(at, te, 1.0, &mut out);
    }
    out
}

impl ClipTimeline {
    /// Output length in seconds.
    pub fn out_len(&self) -> f64 {
        self.segments
            .last()
            .map_or(0.0, |s| s.out_start + s.out_len())
    }

    /// The clip time output frame `n` shows: in the segment its time falls in, `start +
    /// (t − out_start)·speed`; past the end, the end.
    pub fn clip_time(&self, n: u64, fps: f64) -> f64 {
        let t = n as f64 / fps;
        let i = self
            .segments
            .partition_point(|s| s.out_start <= t + 1e-9)
            .saturating_sub(1);
        let s = &self.segments[i];
        (s.start + (t - s.out_start) * s.speed).min(s.end)
    }

    /// Source seconds of output frame `n`.
    pub fn source_time(&self, n: u64, fps: f64) -> f64 {
        self.source_start + self.clip_time(n, fps)
    }

    /// The crop at clip time `t` on a `w x h` (rotated) frame for an `ow x oh` output: the
    /// keyframes held before the first and after the last, Catmull-Rom between; none: the
    /// largest centred rectangle of the output's shape. Then clamped as §5.
    pub fn crop_at(&self, t: f64, w: u32, h: u32, (ow, oh): (u32, u32)) -> CropRect {
        let k = &self.keyframes;
        let raw = if k.is_empty() {
            let aspect = ow as f64 / oh as f64;
            let (fw, fh) = (w as f64, h as f64);
            let (cw, ch) = if fw / fh > aspect {
                (fh * aspect, fh)
            } else {
                (fw, fw / aspect)
            };
            [(fw - cw) / 2.0, (fh - ch) / 2.0, cw, ch]
        } else {
            spline_at(
                k.len(),
                |i| k[i][0],
                |i| [k[i][1], k[i][2], k[i][3], k[i][4]],
                t,
            )
            .0
        };
        clamp_rect(raw, w, h)
    }
}

impl ReelTimeline {
    /// Places `params`' clips, given each clip's source length in seconds (`source_len[i]`
    /// for clip `i`). Errors name the field (clips outside their source, a transition longer
    /// than half a clip).
    pub fn new(params: &ReelParams, source_len: &[f64]) -> Result<Self, ParamError> {
        let fps = params.fps;
        let mut clips = Vec::with_capacity(params.clips_data.len());
        let mut elapsed = 0.0f64;
        for (i, c) in params.clips_data.iter().enumerate() {
            params.check_clip(i, source_len[i])?;
            let len = c.length(source_len[i]);
            let segments = timed_segments(c, len);
            let mut keyframes: Vec<[f64; 5]> = c
                .keyframes
                .iter()
                .map(|k| [k.time, k.x, k.y, k.width, k.height])
                .collect();
            keyframes.sort_by(|a, b| a[0].total_cmp(&b[0]));
            let out_len = segments.last().map_or(0.0, |s| s.out_start + s.out_len());
            // rounded where the clip ends in the sum of the clips, so rounding never adds up:
            // the reel is within half a frame of §10's sum
            let before = (elapsed * fps).round() as u64;
            elapsed += out_len;
            let frames = ((elapsed * fps).round() as u64)
                .saturating_sub(before)
                .max(1);
            clips.push(ClipTimeline {
                source_start: c.source_start_time,
                segments,
                frames,
                offset: 0,
                keyframes,
                rotation: c.rotation,
            });
        }
        let transition = if clips.len() > 1 {
            params.transition.kind
        } else {
            TransitionKind::Cut
        };
        let transition_frames = match transition {
            TransitionKind::Cut => 0,
            _ => ((params.transition.duration * fps).round() as u64).max(1),
        };
        if transition != TransitionKind::Cut {
            for (i, c) in clips.iter().enumerate() {
                if 2 * transition_frames > c.frames {
                    return Err(ParamError::new(
                        "params.transition.duration",
                        format!(
                            "must be at most half of every clip: clips_data[{i}] lasts {:.3} s, \
                             the transition {} s",
                            c.frames as f64 / fps,
                            params.transition.duration
                        ),
                    ));
                }
            }
        }
        let mut at = 0u64;
        for c in &mut clips {
            c.offset = at;
            at += c.frames;
            if transition == TransitionKind::Dissolve {
                at -= transition_frames;
            }
        }
        if transition == TransitionKind::Dissolve {
            at += transition_frames;
        }
        Ok(Self {
            fps,
            clips,
            transition,
            transition_frames,
            total_frames: at,
            out_size: (params.target_width as u32, params.target_height as u32),
            upscale_ai: params.upscale == Upscale::Ai,
        })
    }

    /// The reel's length in seconds.
    pub fn duration(&self) -> f64 {
        self.total_frames as f64 / self.fps
    }

    /// How clip `i`'s output frame `n` blends with its neighbours, if at all.
    pub fn blend(&self, i: usize, n: u64) -> Option<Blend> {
        let d = self.transition_frames;
        let c = &self.clips[i];
        let last = i + 1 == self.clips.len();
        let pos = |k: u64| (k as f32 + 0.5) / d as f32;
        match self.transition {
            TransitionKind::Cut => None,
            TransitionKind::Fade => {
                if i > 0 && n < d {
                    Some(Blend::Fade { level: pos(n) })
                } else if !last && n >= c.frames - d {
                    Some(Blend::Fade {
                        level: 1.0 - pos(n - (c.frames - d)),
                    })
                } else {
                    None
                }
            }
            TransitionKind::Dissolve => {
                (i > 0 && n < d).then(|| Blend::Dissolve { weight: pos(n) })
            }
        }
    }

    /// Whether clip `i`'s output frame `n` is held for the next clip to dissolve into
    /// (it is not written by itself).
    pub fn held_for_next(&self, i: usize, n: u64) -> bool {
        self.transition == TransitionKind::Dissolve
            && i + 1 < self.clips.len()
            && n >= self.clips[i].frames - self.transition_frames
    }

    /// Fills `plan` for clip `i`'s output frame `n` from a `w x h` source frame: its crop (or
    /// rotated crop) and its transition's blend (a dissolve's other frame is the previous
    /// clip's output frame `n + frames − transition_frames`).
    pub fn plan_into(&self, i: usize, n: u64, (w, h): (u32, u32), plan: &mut FramePlan) {
        plan.clear();
        let clip = &self.clips[i];
        let crop = clip.crop_at(clip.clip_time(n, self.fps), w, h, self.out_size);
        if clip.rotation.abs() < 1e-9 {
            plan.crop = Some(crop);
        } else {
            plan.rotated = Some(Rotated {
                crop,
                degrees: clip.rotation,
            });
        }
        plan.upscale = self.upscale_ai;
        plan.mix = self.blend(i, n).map(|b| match b {
            Blend::Fade { level } => Mix::Black { level },
            Blend::Dissolve { weight } => Mix::Other { weight },
        });
    }

    /// The size clip `i`'s crops are resampled to for the AI ×4 network on a `w x h` source:
    /// its largest crop width and height over all its output frames, rounded up to even (as
    /// every frame the engine resamples to), so that no crop loses source pixels on the way
    /// in (a smaller one is resampled up to it).
    pub fn network_input(&self, i: usize, (w, h): (u32, u32)) -> (u32, u32) {
        let clip = &self.clips[i];
        let (mw, mh) = (0..clip.frames).fold((1, 1), |(mw, mh), n| {
            let c = clip.crop_at(clip.clip_time(n, self.fps), w, h, self.out_size);
            (mw.max(c.width), mh.max(c.height))
        });
        (mw.next_multiple_of(2), mh.next_multiple_of(2))
    }

    /// The clip and its output frame shown at reel frame `m` (the later clip during a
    /// dissolve, which blends in the earlier one).
    pub fn locate(&self, m: u64) -> (usize, u64) {
        let i = self
            .clips
            .partition_point(|c| c.offset <= m)
            .saturating_sub(1);
        (i, m - self.clips[i].offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::framing_v2::parse;
    use crate::job::params::Limits;
    use serde_json::{Value, json};

    fn reel(v: Value, lens: &[f64]) -> ReelTimeline {
        ReelTimeline::new(&parse(&v, &Limits::default()).unwrap(), lens).unwrap()
    }

    #[test]
    fn segments_fill_the_trim_and_set_each_frames_time() {
        // trim 1..5, 2..3 at half speed: 1..2 (1 s), 2..3 (2 s), 3..5 (2 s) = 5 s of output
        let r = reel(
            json!({"clips_data": [{"source_start_time": 10, "segment_data": {"trim_start": 1, "trim_end": 5,
                "segments": [{"start": 2, "end": 3, "speed": 0.5}]}}]}),
            &[60.0],
        );
        let c = &r.clips[0];
        assert_eq!(c.segments.len(), 3);
        assert_eq!(c.out_len(), 5.0);
        assert_eq!((c.frames, r.total_frames), (150, 150));
        // frame 0 at clip time 1; frame 30 (1 s in) starts the slow part; frame 45 is 0.25 s
        // of clip time into it; frame 90 starts the normal part again
        assert_eq!(c.clip_time(0, 30.0), 1.0);
        assert_eq!(c.clip_time(30, 30.0), 2.0);
        assert!((c.clip_time(45, 30.0) - 2.25).abs() < 1e-9);
        assert!((c.clip_time(90, 30.0) - 3.0).abs() < 1e-9);
        assert!((c.source_time(149, 30.0) - (10.0 + 1.0 + 4.0 - 1.0 / 30.0)).abs() < 1e-9);
        // fast: 4x over 0..4 → 1 s
        let r = reel(
            json!({"clips_data": [{"segment_data": {"trim_end": 4, "segments": [{"start": 0, "end": 4, "speed": 4}]}}]}),
            &[60.0],
        );
        assert_eq!(r.clips[0].frames, 30);
        assert!((r.clips[0].clip_time(1, 30.0) - 4.0 / 30.0).abs() < 1e-9);
    }

    #[test]
    fn joins_place_clips_and_blend_them() {
        let two = |t: &str| {
            reel(
                json!({"clips_data": [{"source_end_time": 2}, {"source_start_time": 5, "source_end_time": 8}],
                    "transition": {"type": t, "duration": 0.5}}),
                &[10.0, 10.0],
            )
        };
        let cut = two("cut");
        assert_eq!((cut.total_frames, cut.clips[1].offset), (150, 60));
        assert_eq!(cut.blend(1, 0), None);
        let fade = two("fade");
        assert_eq!(fade.total_frames, 150);
        assert_eq!(fade.transition_frames, 15);
        assert_eq!(fade.blend(0, 0), None, "the reel's start does not fade");
        assert_eq!(
            fade.blend(0, 59),
            Some(Blend::Fade {
                level: 1.0 - 14.5 / 15.0
            })
        );
        assert_eq!(fade.blend(1, 0), Some(Blend::Fade { level: 0.5 / 15.0 }));
        assert_eq!(fade.blend(1, 89), None, "the reel's end does not fade");
        let dissolve = two("dissolve");
        // 2 s + 3 s − 0.5 s
        assert_eq!(dissolve.total_frames, 135);
        assert_eq!(dissolve.clips[1].offset, 45);
        assert!(dissolve.held_for_next(0, 45) && !dissolve.held_for_next(0, 44));
        assert_eq!(
            dissolve.blend(1, 14),
            Some(Blend::Dissolve {
                weight: 14.5 / 15.0
            })
        );
        assert_eq!(dissolve.locate(50), (1, 5));
        assert_eq!(dissolve.locate(44), (0, 44));
        // longer than half a clip: refused
        let p = parse(
            &json!({"clips_data": [{"source_end_time": 2}, {"source_end_time": 0.8}], "transition": {"type": "fade", "duration": 0.5}}),
            &Limits::default(),
        )
        .unwrap();
        let e = ReelTimeline::new(&p, &[10.0, 10.0]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "params.transition.duration must be at most half of every clip: clips_data[1]"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_crop_follows_the_spline_or_is_centred() {
        let r = reel(
            json!({"clips_data": [
                {"keyframes": [{"time": 0, "x": 0, "y": 0, "width": 540, "height": 960},
                               {"time": 1, "x": 100, "y": 0, "width": 540, "height": 960}]},
                {}], "target_width": 540, "target_height": 960}),
            &[10.0, 10.0],
        );
        let c = &r.clips[0];
        assert_eq!(c.crop_at(0.5, 1920, 1080, (540, 960)).x, 50);
        assert_eq!(c.crop_at(0.0, 1920, 1080, (540, 960)).height, 960);
        // no keyframes: the largest centred 9:16 rectangle
        let d = r.clips[1].crop_at(0.0, 1920, 1080, (540, 960));
        assert_eq!((d.x, d.y, d.width, d.height), (656, 0, 607, 1080));
    }
}
