//! Per-frame decisions in plain Rust: which regions are active on frame `i`, the interpolated
//! and clamped crop rectangle, and the mask's bounding box. The GPU only ever sees the result.

use super::params::{CropKeyframe, EffectType, OverlayParams, Region};

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

/// Everything the engine does to one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FramePlan {
    /// Active ellipses in list order (later ones overwrite earlier ones). Empty: no effect.
    pub ellipses: Vec<MaskEllipse>,
    pub effect: EffectType,
    pub crop: Option<CropRect>,
}

impl FramePlan {
    /// True when the frame goes out exactly as it came in.
    pub fn is_identity(&self) -> bool {
        self.ellipses.is_empty() && self.crop.is_none()
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

/// The overlay job as a function of the frame index.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayTimeline {
    regions: Vec<Region>,
    effect: EffectType,
    crop: Option<CropTrack>,
}

impl OverlayTimeline {
    pub fn new(p: &OverlayParams) -> Self {
        Self {
            regions: p.highlight_regions.clone(),
            effect: p.effect_type,
            crop: p
                .crop_keyframes
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(CropTrack::new),
        }
    }

    /// A timeline with nothing to do on any frame.
    pub fn none() -> Self {
        Self {
            regions: Vec::new(),
            effect: EffectType::Blur,
            crop: None,
        }
    }

    /// A crop-only timeline (the `framing` export).
    pub fn crop_only(keyframes: &[CropKeyframe]) -> Self {
        Self {
            regions: Vec::new(),
            effect: EffectType::Blur,
            crop: Some(CropTrack::new(keyframes)),
        }
    }

    /// Fills `plan` for frame `i` of a `w x h` source, reusing its allocation.
    pub fn plan_into(&self, i: u64, w: u32, h: u32, plan: &mut FramePlan) {
        plan.ellipses.clear();
        let f = i as i64;
        plan.ellipses.extend(
            self.regions
                .iter()
                .filter(|r| r.start_frame <= f && f <= r.end_frame)
                .map(MaskEllipse::from_region),
        );
        plan.effect = self.effect;
        plan.crop = self.crop.as_ref().map(|c| c.rect_at(i, w, h));
    }

    pub fn plan(&self, i: u64, w: u32, h: u32) -> FramePlan {
        let mut p = FramePlan::default();
        self.plan_into(i, w, h, &mut p);
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
        assert_eq!(t.plan(0, 64, 64).ellipses.len(), 1);
        let p4 = t.plan(4, 64, 64);
        assert_eq!(
            p4.ellipses.iter().map(|e| e.cx).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!((p4.ellipses[0].cy, p4.ellipses[0].rx), (5, 3));
        assert!(t.plan(9, 64, 64).is_identity());
        let b = p4.mask_box(64, 64);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (0, 0, 16, 18));
    }
}
