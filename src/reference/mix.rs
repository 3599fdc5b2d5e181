//! CPU reference of mix.wgsl: a fade toward black or a dissolve with a second frame.

use super::to_u8;
use crate::frame::YuvFrame;
use crate::job::timeline::Mix;

/// `frame` blended as `mix` says (`other`: the frame a dissolve mixes with).
pub fn apply(frame: &YuvFrame, mix: &Mix, other: Option<&YuvFrame>) -> YuvFrame {
    let mut out = frame.clone();
    let black = [frame.format.color.range.luma_black(), 128.0, 128.0];
    for (p, black) in black.into_iter().enumerate() {
        let f = frame.plane(p);
        let dst = out.plane_mut(p);
        for (i, d) in dst.iter_mut().enumerate() {
            let (b, w) = match mix {
                Mix::Black { level } => (black, *level),
                Mix::Other { weight } => (
                    other.expect("a dissolve mixes with another frame").plane(p)[i] as f32,
                    *weight,
                ),
            };
            *d = to_u8(b + (f[i] as f32 - b) * w);
        }
    }
    out
}
