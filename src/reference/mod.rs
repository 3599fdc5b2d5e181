//! CPU reference implementations, one per GPU pass, written for clarity rather than speed.
//! Tests compare every shader against these; goldens must agree with them too.

pub mod blur;
pub mod card;
pub mod composite;
pub mod convert;
pub mod hdr;
pub mod label;
pub mod mask;
pub mod mix;
pub mod nn;
pub mod overlay;
pub mod paint;
pub mod resize;
pub mod rotate;
pub mod sr;
pub mod text;
pub mod yolo;

/// OpenCV's `BORDER_REFLECT_101` (`gfedcb|abcdefgh|gfedcba`) for any offset.
pub fn reflect101(i: i64, n: i64) -> i64 {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.abs() % period;
    if m >= n { period - m } else { m }
}

/// Rounds and clamps a sample to 8 bits the way the shaders do (ties to even).
pub fn to_u8(v: f32) -> u8 {
    v.clamp(0.0, 255.0).round_ties_even() as u8
}
