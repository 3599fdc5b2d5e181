//! CPU reference of text.wgsl: §9's text layers blended in order, each at its fade.

use super::to_u8;
use crate::effects::label::{LabelBand, band_ranges};
use crate::frame::YuvFrame;
use crate::job::timeline::TextDraw;

/// `out = value · a + frame · (1 − a)`, `a = alpha / 255 × fade`, for each drawn layer in
/// order over the rows it covers (rounded once, at the end).
pub fn apply(frame: &YuvFrame, layers: &[LabelBand], draws: &[TextDraw]) -> YuvFrame {
    let fmt = frame.format;
    let mut values: Vec<f32> = frame.data.iter().map(|&v| v as f32).collect();
    for d in draws {
        let band = &layers[d.layer as usize];
        if band.y0 >= band.y1 {
            continue;
        }
        let mut at = 0;
        for r in band_ranges(&fmt, band.y0, band.y1) {
            for (i, f) in values[r.clone()].iter_mut().enumerate() {
                let a = band.alpha[at + i] as f32 / 255.0 * d.alpha;
                *f = band.value[at + i] as f32 * a + *f * (1.0 - a);
            }
            at += r.len();
        }
    }
    YuvFrame::new(fmt, values.iter().map(|&v| to_u8(v)).collect())
}
