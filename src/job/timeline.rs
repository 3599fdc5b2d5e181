//! Per-frame decisions in plain Rust: which regions are active on a frame, the interpolated
//! and clamped crop rectangle, the mask's bounding box, and the ordered passes that make up
//! the frame's [`FramePlan`]. The GPU only ever sees the result.

use super::highlight::HighlightTimeline;
use super::overlay_v2::OverlayV2Params;
use super::params::{CropKeyframe, EffectType, OverlayParams, Region};

/// A decoded frame's place in its source: its index and its time in seconds from the
/// source's first frame (both read from the decoded stream).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameAt {
    pub index: u64,
    pub time: f64,
}

impl FrameAt {
    pub fn new(index: u64, time: f64) -> Self {
        Self { index, time }
    }
}

/// Radius (in pixels) of the 21x21 feather kernel: the mask is non-zero at most this far
/// outside the union of the ellipses.
pub const FEATHER_RADIUS: i32 = 10;

/// An ellipse in whole pixels, as the contract truncates it (`int(x)`, `int(radius_x)`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskEllipse {
    pub cx: i32,
    pub cy: i32,
    pub rx: i32,
    pub ry: i32,
    pub opacity: f32,
}

impl MaskEllipse {
    pub fn from_region(r: &Region) -> Self {
        Self {
            cx: r.x.trunc() as i32,
            cy: r.y.trunc() as i32,
            rx: r.radius_x.trunc() as i32,
            ry: r.radius_y.trunc() as i32,
            opacity: r.opacity as f32,
        }
    }

    /// Whether pixel `(px, py)` is inside the filled ellipse: `dx²/rx² + dy²/ry² <= 1`, in
    /// exact integer arithmetic.
    pub fn contains(&self, px: i32, py: i32) -> bool {
        let (dx, dy) = ((px - self.cx) as i64, (py - self.cy) as i64);
        let (rx, ry) = (self.rx as i64, self.ry as i64);
        if dx.abs() > rx || dy.abs() > ry {
            return false;
        }
        dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry
    }
}

/// An integer rectangle inside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// `[x0, x1) x [y0, y1)` in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PixelBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl PixelBox {
    pub fn is_empty(&self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
}

/// Which pixels of an ellipse a [`PaintOp`] covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coverage {
    /// Everything outside the filled ellipse (anti-aliased edge).
    Outside,
    /// The filled ellipse.
    Inside,
    /// A line `width` pixels wide centred on the ellipse; with `arc`, only the part of it
    /// on the arc (see [`Arc`]).
    Ring { width: f32, arc: Option<Arc> },
}

/// The part of an ellipse from parametric angle `a0` to `a1` (degrees, clockwise on the
/// y-down frame: the point at angle `t` is `(cx + rx cos t, cy + ry sin t)`). The part left
/// out must span less than 180°; it is held as the two unit directions from the centre that
/// bound it (`from`: the arc's end, `to`: its start, a turn later), whose half-planes the
/// coverage is anti-aliased against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arc {
    pub from: [f32; 2],
    pub to: [f32; 2],
}

impl Arc {
    /// The arc from `a0` to `a1` degrees of the ellipse with radii `rx`, `ry`.
    pub fn new(a0: f64, a1: f64, rx: f64, ry: f64) -> Self {
        assert!(a1 - a0 > 180.0 && a1 - a0 < 360.0, "the gap must be convex");
        let dir = |deg: f64| {
            let (s, c) = deg.to_radians().sin_cos();
            let (x, y) = (rx * c, ry * s);
            let n = x.hypot(y);
            [(x / n) as f32, (y / n) as f32]
        };
        Self {
            from: dir(a1),
            to: dir(a0),
        }
    }
}

/// One blend of a frame toward a colour over part of an ellipse:
/// `v + (colour − v) · alpha · coverage` on every plane (YUV is affine in RGB, so this is
/// the same blend done in RGB). Centre and radii are whole pixels; pixel centres sit at
/// integer coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaintOp {
    pub cx: i32,
    pub cy: i32,
    pub rx: i32,
    pub ry: i32,
    pub coverage: Coverage,
    /// Target colour, RGB 0–255.
    pub rgb: [f32; 3],
    pub alpha: f32,
}

impl PaintOp {
    /// The op's reach: a pixel farther than this from the centre along x or y is not
    /// covered by an inside or line op and wholly covered by an outside op (by definition,
    /// which both the shader and the CPU reference follow; the margin keeps it exact).
    pub fn reach(&self) -> (i32, i32) {
        let pad = match self.coverage {
            Coverage::Ring { width, .. } => (width / 2.0).ceil() as i32 + 2,
            _ => 2,
        };
        (self.rx + pad, self.ry + pad)
    }
}

/// A text layer drawn on a frame: which (in the job's list) and at what opacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextDraw {
    pub layer: u32,
    pub alpha: f32,
}

/// A rotated crop (§10): the frame rotated `degrees` counter-clockwise about its centre
/// (black outside it), `crop` taken from the rotated frame, resized to the output, all in
/// one Lanczos resample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotated {
    pub crop: CropRect,
    pub degrees: f64,
}

/// A blend of the output frame (§10 transitions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mix {
    /// `frame · level` toward black (fades).
    Black { level: f32 },
    /// `other · (1 − weight) + frame · weight`, `other` a second output-size frame given
    /// with the frame (dissolves).
    Other { weight: f32 },
}

/// The engine's passes, in the order a frame goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassKind {
    /// §5: feathered ellipse mask, blurred or darkened background, composite.
    Feather,
    /// §9: dim/boost, fill, outline and stroke of ellipses ([`PaintOp`]s).
    Paint,
    /// §9: text layers alpha-blended on top.
    Text,
    /// Crop and Lanczos resize to the output size.
    Crop,
    /// Rotation + crop + Lanczos resize in one resample (§10).
    Rotate,
    /// The AI ×4 network on the crop, then Lanczos to the output size (§10 `"upscale":
    /// "ai"`).
    Upscale,
    /// Blend with black or a second frame (§10 transitions).
    Mix,
}

/// Everything the engine does to one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FramePlan {
    /// Active ellipses in list order (later ones overwrite earlier ones). Empty: no effect.
    pub ellipses: Vec<MaskEllipse>,
    pub effect: EffectType,
    /// Blends in order, after the feathered effect.
    pub paint: Vec<PaintOp>,
    /// Text layers in order, after the paint.
    pub texts: Vec<TextDraw>,
    pub crop: Option<CropRect>,
    /// Instead of `crop`: a rotated crop.
    pub rotated: Option<Rotated>,
    /// After the crop (which then keeps the source's resolution): the AI ×4 network and
    /// Lanczos to the output size.
    pub upscale: bool,
    /// After the crop: a transition's blend.
    pub mix: Option<Mix>,
}

impl FramePlan {
    /// True when the frame goes out exactly as it came in.
    pub fn is_identity(&self) -> bool {
        self.passes().next().is_none()
    }

    /// The passes this frame needs, in order: one line per pass.
    pub fn passes(&self) -> impl Iterator<Item = PassKind> {
        [
            (!self.ellipses.is_empty()).then_some(PassKind::Feather),
            (!self.paint.is_empty()).then_some(PassKind::Paint),
            (!self.texts.is_empty()).then_some(PassKind::Text),
            self.crop.is_some().then_some(PassKind::Crop),
            self.rotated.is_some().then_some(PassKind::Rotate),
            (self.upscale && self.resizes()).then_some(PassKind::Upscale),
            self.mix.is_some().then_some(PassKind::Mix),
        ]
        .into_iter()
        .flatten()
    }

    /// Empties the plan, keeping its allocations.
    pub fn clear(&mut self) {
        self.ellipses.clear();
        self.paint.clear();
        self.texts.clear();
        self.crop = None;
        self.rotated = None;
        self.upscale = false;
        self.mix = None;
    }

    /// Whether the frame leaves at the output size.
    pub fn resizes(&self) -> bool {
        self.crop.is_some() || self.rotated.is_some()
    }

    /// Pixels where the feathered mask can be non-zero, clamped to a `w x h` frame.
    pub fn mask_box(&self, w: u32, h: u32) -> PixelBox {
        mask_box(&self.ellipses, w, h)
    }
}

/// Bounding box of the ellipses grown by the feather radius, clamped to the frame.
pub fn mask_box(ellipses: &[MaskEllipse], w: u32, h: u32) -> PixelBox {
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for e in ellipses {
        let r = FEATHER_RADIUS as i64;
        x0 = x0.min(e.cx as i64 - e.rx as i64 - r);
        y0 = y0.min(e.cy as i64 - e.ry as i64 - r);
        x1 = x1.max(e.cx as i64 + e.rx as i64 + r + 1);
        y1 = y1.max(e.cy as i64 + e.ry as i64 + r + 1);
    }
    if ellipses.is_empty() {
        return PixelBox::default();
    }
    let c = |v: i64, hi: u32| v.clamp(0, hi as i64) as u32;
    PixelBox {
        x0: c(x0, w),
        y0: c(y0, h),
        x1: c(x1, w),
        y1: c(y1, h),
    }
}

/// Interpolates crop keyframes and clamps the result to a frame (contract §5).
#[derive(Debug, Clone, PartialEq)]
pub struct CropTrack {
    keyframes: Vec<CropKeyframe>,
}

impl CropTrack {
    /// `keyframes` must be non-empty (validated parameters guarantee it).
    pub fn new(keyframes: &[CropKeyframe]) -> Self {
        let mut keyframes = keyframes.to_vec();
        keyframes.sort_by_key(|k| k.frame); // stable: equal frames keep list order
        Self { keyframes }
    }

    /// The interpolated `(x, y, width, height)` before clamping.
    pub fn raw_at(&self, frame: u64) -> [f64; 4] {
        let k = &self.keyframes;
        let f = frame as i64;
        let idx = k.partition_point(|kf| kf.frame <= f);
        let v = |kf: &CropKeyframe| [kf.x, kf.y, kf.width, kf.height];
        if idx == 0 {
            return v(&k[0]);
        }
        if idx == k.len() {
            return v(&k[k.len() - 1]);
        }
        let (a, b) = (&k[idx - 1], &k[idx]);
        let t = (f - a.frame) as f64 / (b.frame - a.frame) as f64;
        let (va, vb) = (v(a), v(b));
        std::array::from_fn(|i| va[i] + (vb[i] - va[i]) * t)
    }

    /// The crop for `frame` in a `frame_w x frame_h` source: shrunk uniformly about its centre
    /// if larger than the frame, truncated to integers, then moved inside.
    pub fn rect_at(&self, frame: u64, frame_w: u32, frame_h: u32) -> CropRect {
        clamp_rect(self.raw_at(frame), frame_w, frame_h)
    }
}

/// Contract §5 clamping of a float rectangle to a frame.
pub fn clamp_rect([mut x, mut y, mut w, mut h]: [f64; 4], fw: u32, fh: u32) -> CropRect {
    let (fwf, fhf) = (fw as f64, fh as f64);
    if w > fwf || h > fhf {
        let s = (fwf / w).min(fhf / h);
        let (cx, cy) = (x + w / 2.0, y + h / 2.0);
        w *= s;
        h *= s;
        x = cx - w / 2.0;
        y = cy - h / 2.0;
    }
    let width = (w.trunc() as i64).clamp(1, fw as i64) as u32;
    let height = (h.trunc() as i64).clamp(1, fh as i64) as u32;
    let xi = (x.trunc() as i64).clamp(0, (fw - width) as i64) as u32;
    let yi = (y.trunc() as i64).clamp(0, (fh - height) as i64) as u32;
    CropRect {
        x: xi,
        y: yi,
        width,
        height,
    }
}

/// What draws on a frame before the crop.
#[derive(Debug, Clone, PartialEq)]
enum Drawing {
    /// §5 regions by frame index.
    Regions {
        regions: Vec<Region>,
        effect: EffectType,
    },
    /// §9 keyframed highlights and text layers by time.
    Highlights(HighlightTimeline),
}

/// An overlay (or crop-only) job as a function of the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayTimeline {
    drawing: Drawing,
    crop: Option<CropTrack>,
}

fn crop_track(keyframes: Option<&[CropKeyframe]>) -> Option<CropTrack> {
    keyframes.filter(|k| !k.is_empty()).map(CropTrack::new)
}

impl OverlayTimeline {
    pub fn new(p: &OverlayParams) -> Self {
        Self {
            drawing: Drawing::Regions {
                regions: p.highlight_regions.clone(),
                effect: p.effect_type,
            },
            crop: crop_track(p.crop_keyframes.as_deref()),
        }
    }

    /// A §9 overlay.
    pub fn v2(p: &OverlayV2Params) -> Self {
        Self {
            drawing: Drawing::Highlights(HighlightTimeline::new(p)),
            crop: crop_track(p.crop_keyframes.as_deref()),
        }
    }

    /// A timeline with nothing to do on any frame.
    pub fn none() -> Self {
        Self {
            drawing: Drawing::Regions {
                regions: Vec::new(),
                effect: EffectType::Blur,
            },
            crop: None,
        }
    }

    /// A crop-only timeline (the `framing` export).
    pub fn crop_only(keyframes: &[CropKeyframe]) -> Self {
        Self {
            crop: Some(CropTrack::new(keyframes)),
            ..Self::none()
        }
    }

    /// Fills `plan` for frame `at` of a `w x h` source, reusing its allocations.
    pub fn plan_into(&self, at: FrameAt, w: u32, h: u32, plan: &mut FramePlan) {
        plan.clear();
        match &self.drawing {
            Drawing::Regions { regions, effect } => {
                let f = at.index as i64;
                plan.ellipses.extend(
                    regions
                        .iter()
                        .filter(|r| r.start_frame <= f && f <= r.end_frame)
                        .map(MaskEllipse::from_region),
                );
                plan.effect = *effect;
            }
            Drawing::Highlights(t) => t.plan_into(at.time, w, h, plan),
        }
        plan.crop = self.crop.as_ref().map(|c| c.rect_at(at.index, w, h));
    }

    pub fn plan(&self, at: FrameAt, w: u32, h: u32) -> FramePlan {
        let mut p = FramePlan::default();
        self.plan_into(at, w, h, &mut p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kf(frame: i64, x: f64, y: f64, w: f64, h: f64) -> CropKeyframe {
        CropKeyframe {
            frame,
            x,
            y,
            width: w,
            height: h,
        }
    }

    #[test]
    fn crop_interpolates_holds_and_sorts() {
        let t = CropTrack::new(&[
            kf(10, 100.0, 0.0, 50.0, 100.0),
            kf(0, 0.0, 0.0, 50.0, 100.0),
        ]);
        assert_eq!(t.raw_at(0)[0], 0.0);
        assert_eq!(t.raw_at(5)[0], 50.0);
        assert_eq!(t.raw_at(10)[0], 100.0);
        assert_eq!(t.raw_at(99)[0], 100.0);
        assert_eq!(t.rect_at(3, 320, 180).x, 30);
    }

    #[test]
    fn crop_is_moved_inside_and_shrunk_keeping_aspect() {
        assert_eq!(
            clamp_rect([-5.7, 170.0, 100.0, 20.0], 320, 180),
            CropRect {
                x: 0,
                y: 160,
                width: 100,
                height: 20
            }
        );
        // 9:16 rectangle taller than the frame: shrunk to the frame height, aspect kept.
        let r = clamp_rect([100.0, -50.0, 180.0, 320.0], 320, 180);
        assert_eq!((r.width, r.height), (101, 180));
        assert_eq!(r.y, 0);
        // twice the frame in both directions: exactly the frame
        assert_eq!(
            clamp_rect([-320.0, -180.0, 640.0, 360.0], 320, 180),
            CropRect {
                x: 0,
                y: 0,
                width: 320,
                height: 180
            }
        );
    }

    #[test]
    fn active_regions_are_inclusive_and_ordered() {
        let r = |s, e, x| Region {
            start_frame: s,
            end_frame: e,
            x,
            y: 5.9,
            radius_x: 3.9,
            radius_y: 2.0,
            opacity: 0.5,
        };
        let p = OverlayParams {
            highlight_regions: vec![r(0, 4, 1.0), r(4, 8, 2.0)],
            effect_type: EffectType::Spotlight,
            crop_keyframes: None,
            output_width: 1080,
            output_height: 1920,
        };
        let t = OverlayTimeline::new(&p);
        let at = |i| FrameAt::new(i, i as f64 / 25.0);
        assert_eq!(t.plan(at(0), 64, 64).ellipses.len(), 1);
        let p4 = t.plan(at(4), 64, 64);
        assert_eq!(
            p4.ellipses.iter().map(|e| e.cx).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!((p4.ellipses[0].cy, p4.ellipses[0].rx), (5, 3));
        assert!(t.plan(at(9), 64, 64).is_identity());
        let b = p4.mask_box(64, 64);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (0, 0, 16, 18));
    }
}
