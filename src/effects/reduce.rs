//! Geometry of the fast background path's reduced planes.
//!
//! Each plane is decimated `levels` times by 2 (`[1 3 3 1]/8` prefilter), blurred at that size
//! and upsampled bilinearly. A reduced plane at scale `s = 2^level` holds sample `i` at plane
//! position `s * (i - margin) + (s - 1) / 2`: it extends `margin` samples past every edge, and
//! those samples are computed from the reflect-101 extension of the full-size plane. The
//! Gaussian at the reduced size therefore sees exactly the signal the exact blur sees at the
//! borders, instead of a reflection about the wrong axis (which cost up to 10 levels in frame
//! corners).

use crate::frame::{FrameFormat, PlaneGeom};

/// How many times the fast path halves each plane: luma twice (quarter size), chroma once
/// (already half size, so both end at a quarter of the frame's size).
pub const FAST_BLUR_LEVELS: [u32; 3] = [2, 1, 1];

/// Samples every final reduced plane extends past each edge. At least the reduced Gaussian's
/// radius + 2, so every sample the upsampler reads was blurred without reaching the plane's
/// own (approximate) border.
pub const REDUCED_MARGIN: u32 = 9;

/// One reduced plane: `scale` plane pixels per sample, `margin` samples past each edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReducedGeom {
    pub scale: u32,
    pub margin: u32,
    pub width: u32,
    pub height: u32,
}

impl ReducedGeom {
    /// Level `level` (1..=levels) of a `w x h` plane decimated `levels` times. Intermediate
    /// levels carry twice the margin of the next and cover what its prefilter reads.
    pub fn new(w: u32, h: u32, levels: u32, level: u32) -> Self {
        assert!((1..=levels).contains(&level), "level {level} of {levels}");
        let s = 1 << levels;
        let mut geom = ReducedGeom {
            scale: s,
            margin: REDUCED_MARGIN,
            width: w.div_ceil(s) + 2 * REDUCED_MARGIN + 1,
            height: h.div_ceil(s) + 2 * REDUCED_MARGIN + 1,
        };
        for _ in level..levels {
            geom = ReducedGeom {
                scale: geom.scale / 2,
                margin: geom.margin * 2,
                width: geom.width * 2 + 2,
                height: geom.height * 2 + 2,
            };
        }
        geom
    }

    /// Continuous sample coordinate of plane pixel `x` (for bilinear upsampling).
    pub fn coord(&self, x: u32) -> f32 {
        // the same operations, in the same order, as composite.wgsl
        (x as f32 + 0.5) * (1.0 / self.scale as f32) + (self.margin as f32 - 0.5)
    }
}

/// The reduced planes of `format` at `level` (per plane, capped at the plane's own number of
/// levels), packed one after another in one `f32` buffer.
pub fn reduced_planes(format: &FrameFormat, level: u32) -> ([ReducedGeom; 3], [PlaneGeom; 3]) {
    let mut geoms = [ReducedGeom::new(1, 1, 1, 1); 3];
    let mut planes = [PlaneGeom::default(); 3];
    let mut offset = 0;
    for p in 0..3 {
        let (w, h) = format.plane_size(p);
        let levels = FAST_BLUR_LEVELS[p];
        let g = ReducedGeom::new(w, h, levels, level.min(levels));
        geoms[p] = g;
        planes[p] = PlaneGeom {
            offset,
            stride: g.width,
            width: g.width,
            height: g.height,
        };
        offset += g.width * g.height;
    }
    (geoms, planes)
}

/// Elements of the buffer holding `planes`.
pub fn planes_len(planes: &[PlaneGeom; 3]) -> u32 {
    planes
        .iter()
        .map(|p| p.offset + p.stride * p.height)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::kernels::{BACKGROUND_BLUR, reduced_blur};

    #[test]
    fn margin_covers_the_reduced_kernels() {
        for (spec, levels) in [
            (BACKGROUND_BLUR, FAST_BLUR_LEVELS[0]),
            (BACKGROUND_BLUR.half_resolution(), FAST_BLUR_LEVELS[1]),
        ] {
            let (r, _) = reduced_blur(spec, levels);
            assert!(r + 2 <= REDUCED_MARGIN, "radius {r}");
        }
    }

    #[test]
    fn levels_line_up() {
        // level-1 sample 2j + 0.5 (in its own indices) is where level-2 sample j sits
        let l2 = ReducedGeom::new(1920, 1080, 2, 2);
        let l1 = ReducedGeom::new(1920, 1080, 2, 1);
        let pos2 = |j: f64| 4.0 * (j - l2.margin as f64) + 1.5;
        let pos1 = |i: f64| 2.0 * (i - l1.margin as f64) + 0.5;
        for j in [0.0, 5.0, 100.0] {
            assert!((pos2(j) - pos1(2.0 * j + 0.5)).abs() < 1e-12);
        }
        // level 1 covers every tap level 2 reads (2j - 1 ..= 2j + 2)
        assert!(2 * (l2.width - 1) + 2 < l1.width);
        // the upsampler's taps for the last pixel lie inside with the kernel's reach
        let last = l2.coord(1919);
        assert!(last.floor() as u32 + 1 + REDUCED_MARGIN - 2 < l2.width);
        assert!(l2.coord(0) >= (REDUCED_MARGIN - 1) as f32);
    }
}
