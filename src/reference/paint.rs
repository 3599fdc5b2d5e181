//! CPU reference of paint.wgsl: §9's blends over parts of ellipses, pixel by pixel, in order.

use super::to_u8;
use crate::frame::YuvFrame;
use crate::job::timeline::{Coverage, PaintOp};

/// The first-order signed distance from `(qx, qy)` (relative to the centre) to the ellipse
/// with radii `(rx, ry)`: `k1 (k1 − 1) / k2`, `k1 = |q / r|`, `k2 = |q / r²|`.
pub fn ellipse_distance(qx: f32, qy: f32, rx: f32, ry: f32) -> f32 {
    let k1 = ((qx / rx).powi(2) + (qy / ry).powi(2)).sqrt();
    let k2 = ((qx / (rx * rx)).powi(2) + (qy / (ry * ry)).powi(2)).sqrt();
    if k2 == 0.0 {
        return -rx.min(ry);
    }
    k1 * (k1 - 1.0) / k2
}

/// How much of the pixel centred at `(px, py)` (luma coordinates) `op` covers, 0–1.
pub fn coverage(op: &PaintOp, px: f32, py: f32) -> f32 {
    let (qx, qy) = (px - op.cx as f32, py - op.cy as f32);
    let (reach_x, reach_y) = op.reach();
    if qx.abs() > reach_x as f32 || qy.abs() > reach_y as f32 {
        return if op.coverage == Coverage::Outside {
            1.0
        } else {
            0.0
        };
    }
    let d = ellipse_distance(qx, qy, op.rx as f32, op.ry as f32);
    let clamp01 = |v: f32| v.clamp(0.0, 1.0);
    match op.coverage {
        Coverage::Outside => clamp01(0.5 + d),
        Coverage::Inside => clamp01(0.5 - d),
        Coverage::Ring { width, arc } => {
            let mut c = clamp01(0.5 * width + 0.5 - d.abs());
            if let Some(a) = arc
                && c > 0.0
            {
                // the gap between the arc's ends: inside both half-planes
                let s1 = a.from[0] * qy - a.from[1] * qx;
                let s2 = qx * a.to[1] - qy * a.to[0];
                c *= 1.0 - clamp01(0.5 + s1).min(clamp01(0.5 + s2));
            }
            c
        }
    }
}

/// Applies `ops` in order to `frame`: every sample moves toward the op's colour (converted
/// with the frame's matrix) by `alpha × coverage`; a chroma sample's coverage is the mean of
/// its 2x2 luma pixels' (clamped at the frame's edge).
pub fn apply(frame: &YuvFrame, ops: &[PaintOp]) -> YuvFrame {
    let fmt = frame.format;
    let (w, h) = (fmt.width, fmt.height);
    let t = fmt.color.rgb_to_yuv();
    let targets: Vec<[f32; 3]> = ops
        .iter()
        .map(|o| t.apply(o.rgb.map(f64::from)).map(|v| v as f32))
        .collect();
    let mut out = frame.clone();
    for p in 0..3 {
        let (pw, ph) = fmt.plane_size(p);
        let src = frame.plane(p);
        let mut values: Vec<f32> = src.iter().map(|&v| v as f32).collect();
        for (op, target) in ops.iter().zip(&targets) {
            for y in 0..ph {
                for x in 0..pw {
                    let c = if p == 0 {
                        coverage(op, x as f32, y as f32)
                    } else {
                        let (xa, ya) = (2 * x, 2 * y);
                        let (xb, yb) = ((xa + 1).min(w - 1), (ya + 1).min(h - 1));
                        0.25 * (coverage(op, xa as f32, ya as f32)
                            + coverage(op, xb as f32, ya as f32)
                            + coverage(op, xa as f32, yb as f32)
                            + coverage(op, xb as f32, yb as f32))
                    };
                    let v = &mut values[(y * pw + x) as usize];
                    *v += (target[p] - *v) * op.alpha * c;
                }
            }
        }
        for (dst, v) in out.plane_mut(p).iter_mut().zip(&values) {
            *dst = to_u8(*v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::timeline::Arc;

    fn ring(width: f32, arc: Option<Arc>) -> PaintOp {
        PaintOp {
            cx: 100,
            cy: 80,
            rx: 60,
            ry: 20,
            coverage: Coverage::Ring { width, arc },
            rgb: [255.0; 3],
            alpha: 1.0,
        }
    }

    /// The stroke against §9's geometry: centred on the ellipse, `w` pixels wide across it
    /// (the coverage summed along a normal), on the axes and off them.
    #[test]
    fn the_line_is_centred_on_the_ellipse_and_w_wide() {
        for w in [2.0f32, 4.0, 6.0] {
            let op = ring(w, None);
            // across the right end (normal = +x) and the bottom (normal = +y)
            let across_x: f32 = (120..200).map(|x| coverage(&op, x as f32, 80.0)).sum();
            let across_y: f32 = (80..120).map(|y| coverage(&op, 100.0, y as f32)).sum();
            assert!((across_x - w).abs() < 0.01, "w {w}: {across_x} across x");
            assert!((across_y - w).abs() < 0.01, "w {w}: {across_y} across y");
            assert_eq!(coverage(&op, 160.0, 80.0), 1.0, "on the curve");
            assert_eq!(coverage(&op, 100.0, 100.0), 1.0, "on the curve");
            assert_eq!(coverage(&op, 100.0, 80.0), 0.0, "the centre");
            // off the axes, at 45° of the parameter: on the curve, fully covered
            let (s, c) = 45f32.to_radians().sin_cos();
            let (px, py) = (100.0 + 60.0 * c, 80.0 + 20.0 * s);
            assert!(coverage(&op, px, py) > 0.99, "w {w} at 45°");
        }
        // inside and outside split at the curve, anti-aliased over one pixel
        let inside = PaintOp {
            coverage: Coverage::Inside,
            ..ring(2.0, None)
        };
        assert_eq!(coverage(&inside, 100.0, 80.0), 1.0);
        assert_eq!(coverage(&inside, 160.0, 80.0), 0.5);
        assert_eq!(coverage(&inside, 162.0, 80.0), 0.0);
        let outside = PaintOp {
            coverage: Coverage::Outside,
            ..inside
        };
        assert_eq!(coverage(&outside, 160.0, 80.0), 0.5);
        assert_eq!(coverage(&outside, 0.0, 0.0), 1.0);
    }

    /// The ground arc: −30° to 210° clockwise from +x on the y-down frame, i.e. the front
    /// (bottom) of the ellipse and a third of the way up each side; nothing on top.
    #[test]
    fn the_ground_arc_covers_the_front() {
        let op = ring(4.0, Some(Arc::new(-30.0, 210.0, 60.0, 20.0)));
        let at = |deg: f32| {
            let (s, c) = deg.to_radians().sin_cos();
            coverage(&op, 100.0 + 60.0 * c, 80.0 + 20.0 * s)
        };
        for deg in [-20.0, 0.0, 45.0, 90.0, 135.0, 180.0, 200.0] {
            assert!(at(deg) > 0.99, "{deg}° is on the arc: {}", at(deg));
        }
        for deg in [-45.0, -90.0, -135.0, 225.0] {
            assert_eq!(at(deg), 0.0, "{deg}° is in the gap");
        }
        // the ends are cut across the line, anti-aliased: half covered on the end ray
        assert!((at(-30.0) - 0.5).abs() < 0.05, "{}", at(-30.0));
        assert!((at(210.0) - 0.5).abs() < 0.05, "{}", at(210.0));
    }

    use crate::job::FramePlan;
    use crate::job::highlight::{HighlightTimeline, opencv_band_px, stroke_px};
    use crate::job::overlay_v2::parse;
    use crate::job::params::Limits;
    use serde_json::json;

    /// The drawn band, measured on the CPU reference's pixels: at several stroke widths and
    /// frame heights the stroke's and outline's bands are OpenCV's widths (§9.7), measured as
    /// the summed coverage across the line where it crosses the horizontal axis.
    #[test]
    fn drawn_bands_have_opencvs_widths() {
        for (sw, h) in [
            (1.0, 720u32),
            (2.0, 1080),
            (3.0, 1080),
            (4.5, 1080),
            (5.0, 1080),
            (6.0, 1080),
            (3.0, 2160),
            (3.0, 480),
        ] {
            let w = h * 16 / 9;
            let t = HighlightTimeline::new(
                &parse(
                    &json!({
                "overlay_settings": {"stroke_width": sw, "dim_strength": 0.0},
                "highlight_regions": [{"start_time": 0, "end_time": 4, "keyframes": [
                    {"time": 0, "x": w / 2, "y": h / 2, "radiusX": h / 8, "radiusY": h / 4}]}]}),
                    &Limits::default(),
                )
                .unwrap(),
            );
            let mut plan = FramePlan::default();
            t.plan_into(0.0, w, h, &mut plan);
            let thickness = stroke_px(sw, h);
            let measured: Vec<f32> = plan
                .paint
                .iter()
                .filter(|o| matches!(o.coverage, Coverage::Ring { .. }))
                .map(|o| {
                    // across the line at the ellipse's left end, pixel by pixel
                    let y = o.cy as f32;
                    (o.cx - o.rx - 20..o.cx - o.rx + 20)
                        .map(|x| coverage(o, x as f32, y))
                        .sum()
                })
                .collect();
            let want = [opencv_band_px(thickness + 2), opencv_band_px(thickness)];
            assert_eq!(measured.len(), 2, "outline and stroke at {sw} / {h}p");
            for (m, want) in measured.iter().zip(want) {
                assert!(
                    (m - want as f32).abs() < 0.05,
                    "stroke_width {sw} at {h}p: band {m} px, want {want} (thickness {thickness})"
                );
            }
        }
    }
}
