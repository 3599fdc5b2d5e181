//! Reference separable Gaussian blur with reflect-101 borders over one `f32` plane.

use super::reflect101;

/// Blurs a `w x h` plane horizontally then vertically with the same 1-D `weights`.
pub fn blur_plane(src: &[f32], w: u32, h: u32, weights: &[f32]) -> Vec<f32> {
    let (w, h) = (w as i64, h as i64);
    let r = (weights.len() / 2) as i64;
    let mut tmp = vec![0.0f32; src.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0f32;
            for k in -r..=r {
                acc += weights[(k + r) as usize] * src[(y * w + reflect101(x + k, w)) as usize];
            }
            tmp[(y * w + x) as usize] = acc;
        }
    }
    let mut out = vec![0.0f32; src.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0f32;
            for k in -r..=r {
                acc += weights[(k + r) as usize] * tmp[(reflect101(y + k, h) * w + x) as usize];
            }
            out[(y * w + x) as usize] = acc;
        }
    }
    out
}

/// Blurs 8-bit samples, returning unrounded `f32` results.
pub fn blur_plane_u8(src: &[u8], w: u32, h: u32, weights: &[f32]) -> Vec<f32> {
    let f: Vec<f32> = src.iter().map(|&v| v as f32).collect();
    blur_plane(&f, w, h, weights)
}

/// `[1 3 3 1]/8` prefilter with 2x decimation (reflect-101 borders): half-size sample `i` sits
/// at full-size position `2i + 0.5`. Returns the plane and its size.
pub fn downsample2(src: &[u8], w: u32, h: u32) -> (Vec<f32>, u32, u32) {
    const TAPS: [f32; 4] = [0.125, 0.375, 0.375, 0.125];
    let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0.0f32; (hw * hh) as usize];
    for j in 0..hh as i64 {
        for i in 0..hw as i64 {
            let mut acc = 0.0f32;
            for (b, wb) in TAPS.iter().enumerate() {
                let sy = reflect101(2 * j - 1 + b as i64, h as i64);
                let mut row = 0.0f32;
                for (a, wa) in TAPS.iter().enumerate() {
                    let sx = reflect101(2 * i - 1 + a as i64, w as i64);
                    row += wa * src[(sy * w as i64 + sx) as usize] as f32;
                }
                acc += wb * row;
            }
            out[(j * hw as i64 + i) as usize] = acc;
        }
    }
    (out, hw, hh)
}

/// Bilinear sample of a half-size plane at full-size pixel `(x, y)`.
pub fn upsample2_at(half: &[f32], hw: u32, hh: u32, x: u32, y: u32) -> f32 {
    let fx = (x as f32 * 0.5 - 0.25).clamp(0.0, (hw - 1) as f32);
    let fy = (y as f32 * 0.5 - 0.25).clamp(0.0, (hh - 1) as f32);
    let (x0, y0) = (fx as u32, fy as u32);
    let (x1, y1) = ((x0 + 1).min(hw - 1), (y0 + 1).min(hh - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let s = |xx: u32, yy: u32| half[(yy * hw + xx) as usize];
    let mix = |a: f32, b: f32, t: f32| a * (1.0 - t) + b * t;
    mix(
        mix(s(x0, y0), s(x1, y0), tx),
        mix(s(x0, y1), s(x1, y1), tx),
        ty,
    )
}

/// The fast background path: decimate, blur at half size with `half_weights`, upsample.
/// Returns the half-size blurred plane and the full-size background.
pub fn fast_blur_plane(src: &[u8], w: u32, h: u32, half_weights: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (down, hw, hh) = downsample2(src, w, h);
    let half = blur_plane(&down, hw, hh, half_weights);
    let mut full = vec![0.0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            full[(y * w + x) as usize] = upsample2_at(&half, hw, hh, x, y);
        }
    }
    (half, full)
}
