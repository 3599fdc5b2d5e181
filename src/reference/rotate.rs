//! CPU reference of rotate.wgsl, from the definition: each output sample's point in the
//! rotated frame (through the crop), rotated back about the frame's centre into the source,
//! filtered there with a Lanczos (a = 4) kernel whose axes are the rotated frame's; black
//! where the point leaves the source (over one output pixel).

use super::to_u8;
use crate::effects::kernels::{LANCZOS_A, MAX_FILTER_SCALE, lanczos};
use crate::frame::{FrameFormat, YuvFrame};
use crate::job::timeline::Rotated;

/// `frame` rotated by `r.degrees` counter-clockwise, cropped to `r.crop`, resized to
/// `out_w x out_h`.
pub fn rotate_crop(frame: &YuvFrame, r: &Rotated, out_w: u32, out_h: u32) -> YuvFrame {
    let src = frame.format;
    let out_format = FrameFormat::new(out_w, out_h, src.color);
    let mut out = YuvFrame::blank(out_format);
    let (w, h) = (src.width as f64, src.height as f64);
    let (sn, cs) = r.degrees.to_radians().sin_cos();
    let (sx, sy) = (
        r.crop.width as f64 / out_w as f64,
        r.crop.height as f64 / out_h as f64,
    );
    let (fx, fy) = (
        sx.clamp(1.0, MAX_FILTER_SCALE),
        sy.clamp(1.0, MAX_FILTER_SCALE),
    );
    for plane in 0..3 {
        let k = if plane == 0 { 1.0 } else { 2.0 };
        let black = if plane == 0 {
            src.color.range.luma_black() as f64
        } else {
            128.0
        };
        let (pw, ph) = src.plane_size(plane);
        let (ow, oh) = out_format.plane_size(plane);
        let data = frame.plane(plane);
        let at = |i: i64, j: i64| {
            let (i, j) = (i.clamp(0, pw as i64 - 1), j.clamp(0, ph as i64 - 1));
            data[(j * pw as i64 + i) as usize] as f64
        };
        let mut values = vec![0u8; (ow * oh) as usize];
        for oy in 0..oh {
            for ox in 0..ow {
                // the output sample's centre in the rotated frame (luma pixels)
                let qx = r.crop.x as f64 + (ox as f64 + 0.5) * k * sx;
                let qy = r.crop.y as f64 + (oy as f64 + 0.5) * k * sy;
                // rotated back about the centre: the point of the source it shows
                let (dx, dy) = (qx - w / 2.0, qy - h / 2.0);
                let px = (w / 2.0 + cs * dx - sn * dy) / k;
                let py = (h / 2.0 + sn * dx + cs * dy) / k;
                let inside = px.min(pw as f64 - px).min(py).min(ph as f64 - py);
                let cover = (1.0 + inside / sx.max(sy)).clamp(0.0, 1.0);
                let v = if cover == 0.0 {
                    black
                } else {
                    let (cx, cy) = (px - 0.5, py - 0.5);
                    let reach = LANCZOS_A * (fx + fy) + 1.0;
                    let (mut acc, mut total) = (0.0, 0.0);
                    for j in (cy - reach).floor() as i64..=(cy + reach).ceil() as i64 {
                        for i in (cx - reach).floor() as i64..=(cx + reach).ceil() as i64 {
                            let (ddx, ddy) = (i as f64 - cx, j as f64 - cy);
                            let (rx, ry) = (cs * ddx + sn * ddy, cs * ddy - sn * ddx);
                            let wgt = lanczos(rx / fx, LANCZOS_A) * lanczos(ry / fy, LANCZOS_A);
                            if wgt != 0.0 {
                                acc += wgt * at(i, j);
                                total += wgt;
                            }
                        }
                    }
                    black + (acc / total - black) * cover
                };
                values[(oy * ow + ox) as usize] = to_u8(v as f32);
            }
        }
        out.plane_mut(plane).copy_from_slice(&values);
    }
    out
}
