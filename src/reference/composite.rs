//! Reference composite (contract §5.3–4): `frame * mask + background * (1 - mask)` per plane.

use super::to_u8;

/// Blends one plane. `background` holds the blurred plane, or `None` for the spotlight, whose
/// background is the frame scaled by `factor` about the plane's black level.
pub fn blend_plane(
    frame: &[u8],
    mask: &[f32],
    background: Option<&[f32]>,
    black: f32,
    factor: f32,
) -> Vec<u8> {
    frame
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let f = f as f32;
            let bg = match background {
                Some(b) => b[i],
                None => black + (f - black) * factor,
            };
            let m = mask[i];
            to_u8(f * m + bg * (1.0 - m))
        })
        .collect()
}
