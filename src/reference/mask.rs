//! Reference highlight mask: filled ellipses (later overwrite earlier), then the feather blur.

use super::blur::blur_plane;
use crate::effects::kernels::FEATHER_BLUR;
use crate::job::timeline::MaskEllipse;

/// The unfeathered mask of a `w x h` frame.
pub fn fill(ellipses: &[MaskEllipse], w: u32, h: u32) -> Vec<f32> {
    let mut m = vec![0.0f32; (w * h) as usize];
    for e in ellipses {
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                if e.contains(x, y) {
                    m[(y as u32 * w + x as u32) as usize] = e.opacity;
                }
            }
        }
    }
    m
}

/// The feathered mask (contract §5.2).
pub fn feathered(ellipses: &[MaskEllipse], w: u32, h: u32) -> Vec<f32> {
    blur_plane(&fill(ellipses, w, h), w, h, &FEATHER_BLUR.weights())
}

/// The mask as seen by a chroma sample: the mean of the 2x2 luma samples it covers.
pub fn chroma_mask(mask: &[f32], w: u32, h: u32) -> Vec<f32> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0.0f32; (cw * ch) as usize];
    for cy in 0..ch {
        for cx in 0..cw {
            let mut acc = 0.0f32;
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let x = (2 * cx + dx).min(w - 1);
                let y = (2 * cy + dy).min(h - 1);
                acc += mask[(y * w + x) as usize];
            }
            out[(cy * cw + cx) as usize] = acc * 0.25;
        }
    }
    out
}
