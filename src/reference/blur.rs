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
