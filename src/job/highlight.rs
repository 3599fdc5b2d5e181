//! Contract §9 per frame, in plain Rust: which regions are active at time `t`, their
//! Catmull-Rom interpolated ellipse, detection-space scaling, the exit fade, the ground
//! transform, the colour, and the blends that draw them ([`PaintOp`]s); which text layers
//! show and how faded.

use super::overlay_v2::{
    HighlightEffect, HighlightKeyframe, HighlightShape, OverlapRule, OverlaySettings,
    OverlayV2Params, parse_color,
};
use super::params::EffectType;
pub use super::spline::catmull_rom;
use super::spline::spline_at;
use super::timeline::{Arc, Coverage, FramePlan, MaskEllipse, PaintOp, TextDraw};

/// Keyframes this far outside a region's time span are ignored (§9.1).
pub const KEYFRAME_SLACK_S: f64 = 0.04;
/// Longest exit fade (§9.3).
pub const EXIT_FADE_S: f64 = 0.25;
/// A text layer fades out over its last quarter second (§9.8).
pub const TEXT_FADE_S: f64 = 0.25;
/// The ground shape's stroked arc, degrees clockwise from +x on the y-down frame (§9.4).
pub const GROUND_ARC_DEG: (f64, f64) = (-30.0, 210.0);
/// The outline's colour factor and opacity (§9.7).
pub const OUTLINE_SHADE: f32 = 0.3;
pub const OUTLINE_OPACITY: f32 = 0.5;
pub const DEFAULT_STROKE_OPACITY: f64 = 0.85;

/// One keyframe with its defaults applied and its colour parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key {
    time: f64,
    /// x, y, radiusX, radiusY, strokeOpacity, fillOpacity
    values: [f64; 6],
    rgb: [u8; 3],
    /// The keyframe has no colour ([`HighlightKeyframe::uncoloured`]).
    uncoloured: bool,
}

/// A region ready to sample: enabled, its keyframes in the window, sorted by time.
#[derive(Debug, Clone, PartialEq)]
struct Track {
    start: f64,
    end: f64,
    keys: Vec<Key>,
    /// Width and height of the frame the keyframes were drawn on, when given.
    space: (Option<f64>, Option<f64>),
}

/// The interpolated ellipse of a region at one time, in source pixels (before truncation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub x: f64,
    pub y: f64,
    pub rx: f64,
    pub ry: f64,
    pub stroke_opacity: f64,
    pub fill_opacity: f64,
    pub rgb: [u8; 3],
    /// No colour at this time: no stroke and no fill, the outline in black.
    pub uncoloured: bool,
    /// The exit fade's factor `q²` (1 outside the fade).
    pub fade: f64,
}

/// The §9 overlay as a function of time.
#[derive(Debug, Clone, PartialEq)]
pub struct HighlightTimeline {
    tracks: Vec<Track>,
    effect: HighlightEffect,
    settings: OverlaySettings,
    /// `(start, end)` of each text layer, in list order.
    texts: Vec<(f64, f64)>,
    overlap: OverlapRule,
}

/// The exit fade's factor at `t` for a span `start..=end`: `q²`, 1 before the fade.
pub fn exit_fade(start: f64, end: f64, t: f64) -> f64 {
    let e = EXIT_FADE_S.min((end - start) / 2.0);
    if e <= 0.0 || t <= end - e {
        return 1.0;
    }
    let q = ((end - t) / e).clamp(0.0, 1.0);
    q * q
}

/// A text layer's opacity at `t` (shown on `start <= t < end`), or `None`.
pub fn text_alpha(start: f64, end: f64, t: f64) -> Option<f64> {
    (start <= t && t < end).then(|| ((end - t) / TEXT_FADE_S).min(1.0))
}

/// Stroke thickness `w` for a frame `height` tall (§9.7), as the web app passes it to OpenCV.
pub fn stroke_px(stroke_width: f64, height: u32) -> i32 {
    ((stroke_width * height as f64 / 1080.0).round() as i32).max(2)
}

/// The width in pixels of the band OpenCV draws for a line of thickness `t` (§9.7): `t ≥ 2` is
/// drawn `2⌈t/2⌉ + 1` pixels wide (2 → 3, 3 → 5, 4 → 5, 5 → 7, 6 → 7), thinner ones 1 pixel.
pub fn opencv_band_px(t: i32) -> i32 {
    if t < 2 { 1 } else { 2 * ((t + 1) / 2) + 1 }
}

impl Track {
    fn new(r: &super::overlay_v2::HighlightRegion, settings: &OverlaySettings) -> Self {
        let mut keys: Vec<Key> = r
            .keyframes
            .iter()
            .filter(|k| {
                r.start_time - KEYFRAME_SLACK_S <= k.time && k.time <= r.end_time + KEYFRAME_SLACK_S
            })
            .map(|k: &HighlightKeyframe| Key {
                time: k.time,
                values: [
                    k.x,
                    k.y,
                    k.radius_x,
                    k.radius_y,
                    k.stroke_opacity.unwrap_or(DEFAULT_STROKE_OPACITY),
                    k.fill_opacity.unwrap_or(settings.fill_opacity()),
                ],
                rgb: if k.uncoloured {
                    [0, 0, 0]
                } else {
                    k.color
                        .as_deref()
                        .and_then(parse_color)
                        .unwrap_or([255, 255, 255])
                },
                uncoloured: k.uncoloured,
            })
            .collect();
        // stable: keyframes at one time keep their list order
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        Self {
            start: r.start_time,
            end: r.end_time,
            keys,
            space: (r.video_width, r.video_height),
        }
    }

    /// The region at `t` on a `w x h` source, or `None` where it draws nothing.
    fn sample(&self, t: f64, w: u32, h: u32) -> Option<Sample> {
        let k = &self.keys;
        if !(self.start <= t && t <= self.end) || k.is_empty() || t > k[k.len() - 1].time {
            return None;
        }
        // the colour is the keyframe's at or before t
        let (mut v, at) = spline_at(k.len(), |i| k[i].time, |i| k[i].values, t);
        let (rgb, uncoloured) = (k[at].rgb, k[at].uncoloured);
        v[4] = v[4].clamp(0.0, 1.0);
        v[5] = v[5].clamp(0.0, 1.0);
        // detection space to source pixels, per axis
        if let Some(vw) = self.space.0
            && vw != w as f64
        {
            let s = w as f64 / vw;
            v[0] *= s;
            v[2] *= s;
        }
        if let Some(vh) = self.space.1
            && vh != h as f64
        {
            let s = h as f64 / vh;
            v[1] *= s;
            v[3] *= s;
        }
        Some(Sample {
            x: v[0],
            y: v[1],
            rx: v[2],
            ry: v[3],
            stroke_opacity: v[4],
            fill_opacity: v[5],
            rgb,
            uncoloured,
            fade: exit_fade(self.start, self.end, t),
        })
    }
}

impl HighlightTimeline {
    pub fn new(p: &OverlayV2Params) -> Self {
        let mut tracks: Vec<Track> = p
            .highlight_regions
            .iter()
            .filter(|r| r.enabled)
            .map(|r| Track::new(r, &p.overlay_settings))
            .collect();
        // drawn in order of start_time (stable: list order among equals)
        tracks.sort_by(|a, b| a.start.total_cmp(&b.start));
        Self {
            tracks,
            effect: p.effect_type,
            settings: p.overlay_settings.clone(),
            texts: p
                .text_layers
                .iter()
                .map(|l| (l.start_time, l.end_time))
                .collect(),
            overlap: p.overlap,
        }
    }

    /// The active regions' samples at `t`, in drawing order.
    pub fn samples(&self, t: f64, w: u32, h: u32) -> impl Iterator<Item = Sample> + '_ {
        let first_only = self.overlap == OverlapRule::FirstStarted;
        self.tracks
            .iter()
            // with FirstStarted, only the first region (by start time) active at `t` counts
            .filter(move |r| r.start <= t && t <= r.end)
            .take(if first_only { 1 } else { usize::MAX })
            .filter_map(move |r| r.sample(t, w, h))
    }

    /// Adds the frame at time `t` of a `w x h` source to `plan` (cleared by the caller).
    pub fn plan_into(&self, t: f64, w: u32, h: u32, plan: &mut FramePlan) {
        plan.effect = match self.effect {
            HighlightEffect::Blur => EffectType::Blur,
            _ => EffectType::Spotlight,
        };
        let ground = self.settings.highlight_shape == HighlightShape::Ground;
        let w_px = stroke_px(self.settings.stroke_width, h);
        // the widths of the bands the web app's exports show (OpenCV's thickness w and w + 2)
        let (stroke, outline) = (opencv_band_px(w_px) as f32, opencv_band_px(w_px + 2) as f32);
        for s in self.samples(t, w, h) {
            let (mut x, mut y, mut rx, mut ry) = (s.x, s.y, s.rx, s.ry);
            if ground {
                y += ry / 1.3;
                rx *= 2.0 / 1.3;
                ry *= 0.3;
            }
            // whole pixels; a radius truncated to 0 is drawn as 1 pixel
            let (cx, cy) = (x.trunc() as i32, y.trunc() as i32);
            let (rx, ry) = ((rx.trunc() as i32).max(1), (ry.trunc() as i32).max(1));
            (x, y) = (cx as f64, cy as f64);
            let outside = x + rx as f64 <= -1.0
                || y + ry as f64 <= -1.0
                || x - rx as f64 >= w as f64
                || y - ry as f64 >= h as f64;
            if outside {
                continue;
            }
            let q2 = s.fade as f32;
            let rgb = s.rgb.map(|c| c as f32);
            let mut op = |coverage, rgb: [f32; 3], alpha: f32| {
                if alpha > 0.0 {
                    plan.paint.push(PaintOp {
                        cx,
                        cy,
                        rx,
                        ry,
                        coverage,
                        rgb,
                        alpha,
                    });
                }
            };
            match self.effect {
                HighlightEffect::DarkOverlay => op(
                    Coverage::Outside,
                    [0.0; 3],
                    self.settings.dim_strength as f32 * q2,
                ),
                HighlightEffect::BrightnessBoost => op(
                    Coverage::Inside,
                    [255.0; 3],
                    self.settings.boost_strength as f32 * q2,
                ),
                HighlightEffect::Blur | HighlightEffect::Spotlight => {}
            }
            if (self.settings.fill_enabled || ground) && !s.uncoloured {
                op(Coverage::Inside, rgb, s.fill_opacity as f32 * q2);
            }
            let arc =
                ground.then(|| Arc::new(GROUND_ARC_DEG.0, GROUND_ARC_DEG.1, rx as f64, ry as f64));
            op(
                Coverage::Ring {
                    width: outline,
                    arc,
                },
                rgb.map(|c| c * OUTLINE_SHADE),
                OUTLINE_OPACITY * q2,
            );
            if !s.uncoloured {
                op(
                    Coverage::Ring { width: stroke, arc },
                    rgb,
                    s.stroke_opacity as f32 * q2,
                );
            }
            if matches!(
                self.effect,
                HighlightEffect::Blur | HighlightEffect::Spotlight
            ) && plan.ellipses.len() < super::overlay_v2::MAX_ACTIVE_HIGHLIGHTS
            {
                plan.ellipses.push(MaskEllipse {
                    cx,
                    cy,
                    rx,
                    ry,
                    opacity: 1.0,
                });
            }
        }
        for (i, &(start, end)) in self.texts.iter().enumerate() {
            if let Some(a) = text_alpha(start, end, t) {
                plan.texts.push(TextDraw {
                    layer: i as u32,
                    alpha: a as f32,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::overlay_v2::parse;
    use crate::job::params::Limits;
    use serde_json::{Value, json};

    fn timeline(params: Value) -> HighlightTimeline {
        HighlightTimeline::new(&parse(&params, &Limits::default()).unwrap())
    }

    fn kf(t: f64, x: f64) -> Value {
        json!({"time": t, "x": x, "y": 100, "radiusX": 20, "radiusY": 40})
    }

    #[test]
    fn catmull_rom_matches_hand_computed_values() {
        // u = 0 and 1 pass through p1 and p2
        assert_eq!(catmull_rom(0.0, 10.0, 20.0, 30.0, 0.0), 10.0);
        assert_eq!(catmull_rom(0.0, 10.0, 20.0, 30.0, 1.0), 20.0);
        // evenly spaced points: a straight line
        assert_eq!(catmull_rom(0.0, 10.0, 20.0, 30.0, 0.5), 15.0);
        // p0=0 p1=0 p2=10 p3=10 at u=0.5: 0.5·(0 + 10·0.5 + 40·0.25 − 30·0.125) = 5.625?
        // (2p0−5p1+4p2−p3) = 30, (3p1−p0−3p2+p3) = −20 → 0.5·(5 + 7.5 − 2.5) = 5
        assert_eq!(catmull_rom(0.0, 0.0, 10.0, 10.0, 0.5), 5.0);
        // p0=p1=0, p2=10, p3=10 at u=0.25: 0.5·(2.5 + 30/16 − 20/64) = 2.03125
        assert_eq!(catmull_rom(0.0, 0.0, 10.0, 10.0, 0.25), 2.03125);
    }

    #[test]
    fn interpolation_holds_before_clamps_neighbours_and_stops_after() {
        let t = timeline(
            json!({"highlight_regions": [{"start_time": 0, "end_time": 10,
            "keyframes": [kf(3.0, 10.0), kf(1.0, 0.0), kf(2.0, 0.0)]}]}),
        );
        let x = |time: f64| t.samples(time, 1920, 1080).next().map(|s| s.x);
        // before the first keyframe: held
        assert_eq!(x(0.0), Some(0.0));
        assert_eq!(x(1.0), Some(0.0));
        // between 2 and 3 (the last pair: p3 clamped to the last, p0 = keyframe at 1):
        // p = (0, 0, 10, 10) at u = 0.25
        assert_eq!(x(2.25), Some(2.03125));
        // at the last keyframe: held; after it: nothing
        assert_eq!(x(3.0), Some(10.0));
        assert_eq!(x(3.01), None);
    }

    #[test]
    fn only_keyframes_near_the_span_count_and_the_colour_is_the_one_before() {
        let mut far = kf(5.0, 500.0);
        far["color"] = json!("#FF0000");
        let mut a = kf(1.0, 0.0);
        a["color"] = json!("#00FF00");
        let mut b = kf(2.0, 100.0);
        b["color"] = json!("#0000FF");
        let t = timeline(
            json!({"highlight_regions": [{"start_time": 0.98, "end_time": 2.02,
            "keyframes": [a, b, far, kf(0.95, -50.0)]}]}),
        );
        let s = |time: f64| t.samples(time, 1920, 1080).next().unwrap();
        // 0.95 is within 0.04 of the start; 5.0 is not (else 2.0..2.02 would be splined to it)
        assert_eq!(s(0.98).rgb, [255, 255, 255]);
        assert_eq!(s(1.5).rgb, [0, 255, 0]);
        assert_eq!(s(2.0).rgb, [0, 0, 255]);
        assert!(
            t.samples(2.01, 1920, 1080).next().is_none(),
            "after the last kept keyframe"
        );
        assert!(
            t.samples(0.97, 1920, 1080).next().is_none(),
            "before start_time"
        );
    }

    #[test]
    fn detection_space_scales_each_axis() {
        let t = timeline(
            json!({"highlight_regions": [{"start_time": 0, "end_time": 1,
            "videoWidth": 3840, "videoHeight": 2160,
            "keyframes": [{"time": 0, "x": 1920, "y": 1080, "radiusX": 100, "radiusY": 300},
                          {"time": 1, "x": 1920, "y": 1080, "radiusX": 100, "radiusY": 300}]}]}),
        );
        let s = t.samples(0.5, 1280, 720).next().unwrap();
        assert_eq!((s.x, s.y, s.ry), (640.0, 360.0, 100.0));
        assert!((s.rx - 100.0 / 3.0).abs() < 1e-9);
        // the same size as the source: unchanged
        let s = t.samples(0.5, 3840, 2160).next().unwrap();
        assert_eq!((s.x, s.rx), (1920.0, 100.0));
    }

    #[test]
    fn exit_fade_is_quadratic_over_the_last_quarter_second() {
        assert_eq!(exit_fade(0.0, 2.0, 1.0), 1.0);
        assert_eq!(exit_fade(0.0, 2.0, 1.75), 1.0);
        assert_eq!(exit_fade(0.0, 2.0, 1.875), 0.25);
        assert_eq!(exit_fade(0.0, 2.0, 2.0), 0.0);
        // a 0.2 s region fades over its second half
        assert!((exit_fade(1.0, 1.2, 1.15) - 0.25).abs() < 1e-12);
        assert_eq!(text_alpha(1.0, 3.0, 3.0), None);
        assert_eq!(text_alpha(1.0, 3.0, 1.0), Some(1.0));
        assert_eq!(text_alpha(1.0, 3.0, 2.875), Some(0.5));
    }

    #[test]
    fn a_body_highlight_dims_fills_outlines_and_strokes_in_order() {
        let t = timeline(json!({
            "overlay_settings": {"fill_enabled": true, "stroke_width": 3, "dim_strength": 0.2},
            "highlight_regions": [{"start_time": 0, "end_time": 4, "keyframes": [
                {"time": 0, "x": 100.7, "y": 50.2, "radiusX": 20.9, "radiusY": 40.1,
                 "color": "#102030", "strokeOpacity": 0.6},
                {"time": 4, "x": 100.7, "y": 50.2, "radiusX": 20.9, "radiusY": 40.1,
                 "color": "#102030", "strokeOpacity": 0.6}]}]}));
        let mut plan = FramePlan::default();
        t.plan_into(1.0, 1280, 720, &mut plan);
        let kinds: Vec<_> = plan.paint.iter().map(|o| (o.coverage, o.alpha)).collect();
        // stroke: OpenCV thickness round(3 · 720/1080) = 2, drawn 3 px wide; the outline's
        // thickness 4 is drawn 5 px wide
        assert_eq!(
            kinds,
            vec![
                (Coverage::Outside, 0.2),
                (Coverage::Inside, 0.05),
                (
                    Coverage::Ring {
                        width: 5.0,
                        arc: None
                    },
                    0.5
                ),
                (
                    Coverage::Ring {
                        width: 3.0,
                        arc: None
                    },
                    0.6
                ),
            ]
        );
        let o = plan.paint[0];
        assert_eq!((o.cx, o.cy, o.rx, o.ry), (100, 50, 20, 40));
        assert_eq!(plan.paint[1].rgb, [16.0, 32.0, 48.0]);
        assert_eq!(plan.paint[2].rgb, [16.0 * 0.3, 32.0 * 0.3, 48.0 * 0.3]);
        assert_eq!(plan.paint[0].rgb, [0.0; 3]);
        assert!(
            plan.ellipses.is_empty(),
            "dark_overlay has no feathered mask"
        );
        // in the exit fade every opacity is multiplied by q² (3.875 s: q = 0.5)
        plan.clear();
        t.plan_into(3.875, 1280, 720, &mut plan);
        assert_eq!(
            plan.paint.iter().map(|o| o.alpha).collect::<Vec<_>>(),
            vec![0.05, 0.0125, 0.125, 0.15]
        );
        // stroke width at 4K
        assert_eq!(stroke_px(3.0, 2160), 6);
        assert_eq!(stroke_px(1.0, 720), 2);
        // OpenCV's band widths (§9.7)
        let bands: Vec<i32> = (1..=8).map(opencv_band_px).collect();
        assert_eq!(bands, vec![1, 3, 5, 5, 7, 7, 9, 9]);
    }

    #[test]
    fn ground_moves_flattens_fills_and_strokes_the_front_arc() {
        let t = timeline(json!({
            "effect_type": "blur",
            "overlay_settings": {"highlight_shape": "ground"},
            "highlight_regions": [{"start_time": 0, "end_time": 4, "keyframes": [
                {"time": 0, "x": 100, "y": 100.5, "radiusX": 26.1, "radiusY": 65},
                {"time": 4, "x": 100, "y": 100.5, "radiusX": 26.1, "radiusY": 65}]}]}));
        let mut plan = FramePlan::default();
        t.plan_into(1.0, 1920, 1080, &mut plan);
        // y += 65/1.3 = 50 → 150.5; rx = 26.1·2/1.3 = 40.15; ry = 65·0.3 = 19.5: truncated
        let o = plan.paint[0];
        assert_eq!((o.cx, o.cy, o.rx, o.ry), (100, 150, 40, 19));
        assert_eq!(o.coverage, Coverage::Inside, "ground always fills");
        assert_eq!(o.alpha, 0.15);
        let Coverage::Ring { arc: Some(arc), .. } = plan.paint[1].coverage else {
            panic!("ground strokes an arc");
        };
        // the gap runs from 210° to 330°: both bounds point up (y < 0), mirrored in x
        assert!(arc.from[1] < 0.0 && arc.to[1] < 0.0);
        assert!((arc.from[0] + arc.to[0]).abs() < 1e-6 && arc.from[0] < 0.0);
        // blur keeps §5's feathered mask for the ellipse, at opacity 1
        assert_eq!(
            plan.ellipses,
            vec![MaskEllipse {
                cx: 100,
                cy: 150,
                rx: 40,
                ry: 19,
                opacity: 1.0
            }]
        );
    }

    #[test]
    fn regions_draw_in_start_order_and_disabled_or_offscreen_ones_not_at_all() {
        let t = timeline(json!({"highlight_regions": [
            {"start_time": 1, "end_time": 5, "keyframes": [kf(1.0, 300.0), kf(5.0, 300.0)]},
            {"start_time": 0, "end_time": 5, "keyframes": [kf(0.0, 200.0), kf(5.0, 200.0)]},
            {"start_time": 0, "end_time": 5, "enabled": false, "keyframes": [kf(0.0, 400.0), kf(5.0, 400.0)]},
            {"start_time": 0, "end_time": 5, "keyframes": [kf(0.0, -100.0), kf(5.0, -100.0)]},
        ]}));
        let mut plan = FramePlan::default();
        t.plan_into(2.0, 640, 360, &mut plan);
        let centres: Vec<i32> = plan
            .paint
            .iter()
            .filter(|o| o.coverage == Coverage::Outside)
            .map(|o| o.cx)
            .collect();
        assert_eq!(centres, vec![200, 300]);
        // nothing active: nothing to do
        plan.clear();
        t.plan_into(6.0, 640, 360, &mut plan);
        assert!(plan.is_identity());
    }
}
