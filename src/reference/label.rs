//! CPU reference of label.wgsl: burns a label band into a frame, byte by byte.

use crate::effects::label::{LabelBand, band_ranges};
use crate::frame::FrameFormat;

/// `out = value * a + frame * (1 - a)` over the label's band of `frame`.
pub fn blend(format: &FrameFormat, frame: &mut [u8], label: &LabelBand) {
    let [ry, ru, rv] = band_ranges(format, label.y0, label.y1);
    let (luma, chroma) = frame.split_at_mut(ru.start);
    let (cb, cr) = chroma.split_at_mut(rv.start - ru.start);
    let band = luma[ry]
        .iter_mut()
        .chain(&mut cb[..ru.len()])
        .chain(&mut cr[..rv.len()]);
    for ((f, &v), &a) in band.zip(&label.value).zip(&label.alpha) {
        let af = a as f32 / 255.0;
        *f = super::to_u8(v as f32 * af + *f as f32 * (1.0 - af));
    }
}
