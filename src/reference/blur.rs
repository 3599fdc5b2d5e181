//! Reference separable Gaussian blur with reflect-101 borders over one `f32` plane.

use super::reflect101;
use crate::effects::reduce::ReducedGeom;

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

/// `[1 3 3 1]/8` prefilter with 2x decimation of a `w x h` plane read through `sample`, into
/// an `out_w x out_h` plane that starts `margin` samples before the source's first pixel
/// (sample `i` at source position `2 (i - margin) + 0.5`); samples past the edges see the
/// reflect-101 extension of the source.
pub fn downsample2_by(
    sample: impl Fn(usize) -> f32,
    w: u32,
    h: u32,
    out_w: u32,
    out_h: u32,
    margin: u32,
) -> Vec<f32> {
    const TAPS: [f32; 4] = [0.125, 0.375, 0.375, 0.125];
    let m = margin as i64;
    let mut out = vec![0.0f32; (out_w * out_h) as usize];
    for j in 0..out_h as i64 {
        for i in 0..out_w as i64 {
            let mut acc = 0.0f32;
            for (b, wb) in TAPS.iter().enumerate() {
                let sy = reflect101(2 * (j - m) - 1 + b as i64, h as i64);
                let mut row = 0.0f32;
                for (a, wa) in TAPS.iter().enumerate() {
                    let sx = reflect101(2 * (i - m) - 1 + a as i64, w as i64);
                    row += wa * sample((sy * w as i64 + sx) as usize);
                }
                acc += wb * row;
            }
            out[(j * out_w as i64 + i) as usize] = acc;
        }
    }
    out
}

/// A blurred reduced plane of the fast background path.
#[derive(Debug, Clone)]
pub struct Reduced {
    pub data: Vec<f32>,
    pub geom: ReducedGeom,
}

impl Reduced {
    /// Bilinear sample at full-size pixel `(x, y)` (vertical first, as the GPU does).
    pub fn upsample_at(&self, x: u32, y: u32) -> f32 {
        let g = &self.geom;
        let fx = g.coord(x).clamp(0.0, (g.width - 1) as f32);
        let fy = g.coord(y).clamp(0.0, (g.height - 1) as f32);
        let (x0, y0) = (fx as u32, fy as u32);
        let (x1, y1) = ((x0 + 1).min(g.width - 1), (y0 + 1).min(g.height - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let s = |xx: u32, yy: u32| self.data[(yy * g.width + xx) as usize];
        let mix = |a: f32, b: f32, t: f32| a * (1.0 - t) + b * t;
        mix(
            mix(s(x0, y0), s(x0, y1), ty),
            mix(s(x1, y0), s(x1, y1), ty),
            tx,
        )
    }
}

/// The fast background path (see [`crate::effects::reduce`]): decimate `levels` times, blur
/// at the reduced size with `reduced_weights`, upsample bilinearly. Returns the reduced
/// blurred plane and the full-size background.
pub fn fast_blur_plane(
    src: &[u8],
    w: u32,
    h: u32,
    levels: u32,
    reduced_weights: &[f32],
) -> (Reduced, Vec<f32>) {
    let first = ReducedGeom::new(w, h, levels, 1);
    let mut plane = downsample2_by(
        |i| src[i] as f32,
        w,
        h,
        first.width,
        first.height,
        first.margin,
    );
    let mut geom = first;
    for level in 2..=levels {
        let next = ReducedGeom::new(w, h, levels, level);
        plane = downsample2_by(
            |i| plane[i],
            geom.width,
            geom.height,
            next.width,
            next.height,
            0,
        );
        geom = next;
    }
    let reduced = Reduced {
        data: blur_plane(&plane, geom.width, geom.height, reduced_weights),
        geom,
    };
    let mut full = vec![0.0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            full[(y * w + x) as usize] = reduced.upsample_at(x, y);
        }
    }
    (reduced, full)
}
