//! Reference RGB <-> YUV 4:2:0 conversion (centre-sited chroma: a chroma sample is the mean of
//! its 2x2 block; upsampling is bilinear).

use super::to_u8;
use crate::color::ColorSpec;
use crate::frame::{FrameFormat, YuvFrame};

/// RGB (3 bytes per pixel, tight rows) to a YUV 4:2:0 frame.
pub fn rgb_to_yuv420(rgb: &[u8], w: u32, h: u32, color: ColorSpec) -> YuvFrame {
    rgb_to_yuv420_with(w, h, color, |x, y| {
        let i = ((y * w + x) * 3) as usize;
        [rgb[i] as f64, rgb[i + 1] as f64, rgb[i + 2] as f64]
    })
}

/// RGB pixels (0–255, any precision) given by `px(x, y)` to a YUV 4:2:0 frame.
pub fn rgb_to_yuv420_with(
    w: u32,
    h: u32,
    color: ColorSpec,
    px: impl Fn(u32, u32) -> [f64; 3],
) -> YuvFrame {
    let format = FrameFormat::new(w, h, color);
    let t = color.rgb_to_yuv();
    let mut frame = YuvFrame::blank(format);
    let luma = frame.plane_mut(0);
    for y in 0..h {
        for x in 0..w {
            luma[(y * w + x) as usize] = to_u8(t.apply(px(x, y))[0] as f32);
        }
    }
    let (cw, ch) = format.chroma_size();
    for cy in 0..ch {
        for cx in 0..cw {
            let mut acc = [0.0f64; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = px((2 * cx + dx).min(w - 1), (2 * cy + dy).min(h - 1));
                for c in 0..3 {
                    acc[c] += p[c] * 0.25;
                }
            }
            let yuv = t.apply(acc);
            let i = (cy * cw + cx) as usize;
            frame.plane_mut(1)[i] = to_u8(yuv[1] as f32);
            frame.plane_mut(2)[i] = to_u8(yuv[2] as f32);
        }
    }
    frame
}

/// Bilinear sample of a chroma plane at the position of luma pixel `(x, y)`.
pub fn chroma_at(plane: &[u8], cw: u32, ch: u32, x: u32, y: u32) -> f32 {
    chroma_bilinear(cw, ch, x, y, |xx, yy| plane[(yy * cw + xx) as usize] as f64) as f32
}

/// The same bilinear sampling of any `cw × ch` chroma plane given by `s(x, y)` (10-bit planes
/// too), in f64.
pub fn chroma_bilinear(cw: u32, ch: u32, x: u32, y: u32, s: impl Fn(u32, u32) -> f64) -> f64 {
    let fx = (x as f64 + 0.5) * 0.5 - 0.5;
    let fy = (y as f64 + 0.5) * 0.5 - 0.5;
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let cl = |v: f64, n: u32| (v.max(0.0) as u32).min(n - 1);
    let (xa, xb) = (cl(x0, cw), cl(x0 + 1.0, cw));
    let (ya, yb) = (cl(y0, ch), cl(y0 + 1.0, ch));
    let top = s(xa, ya) * (1.0 - tx) + s(xb, ya) * tx;
    let bottom = s(xa, yb) * (1.0 - tx) + s(xb, yb) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// A YUV 4:2:0 frame to RGB (3 bytes per pixel).
pub fn yuv420_to_rgb(frame: &YuvFrame) -> Vec<u8> {
    let f = frame.format;
    let (w, h) = (f.width, f.height);
    let (cw, ch) = f.chroma_size();
    let t = f.color.yuv_to_rgb();
    let mut out = vec![0u8; (w * h * 3) as usize];
    for y in 0..h {
        for x in 0..w {
            let yy = frame.plane(0)[(y * w + x) as usize] as f64;
            let u = chroma_at(frame.plane(1), cw, ch, x, y) as f64;
            let v = chroma_at(frame.plane(2), cw, ch, x, y) as f64;
            let rgb = t.apply([yy, u, v]);
            let i = ((y * w + x) * 3) as usize;
            for c in 0..3 {
                out[i + c] = to_u8(rgb[c] as f32);
            }
        }
    }
    out
}
