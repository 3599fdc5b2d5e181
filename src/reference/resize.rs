//! Reference crop + Lanczos (a = 4) resize of a YUV 4:2:0 frame, plane by plane.

use super::to_u8;
pub use crate::effects::kernels::plane_axes;
use crate::effects::kernels::{LANCZOS_A, ResampleAxis, lanczos};
use crate::frame::{FrameFormat, YuvFrame};
use crate::job::timeline::CropRect;

/// `(first source index, normalised weights)` for every output sample of an axis.
pub fn axis_weights(axis: &ResampleAxis) -> Vec<(i64, Vec<f64>)> {
    let fs = axis.filter_scale();
    let support = LANCZOS_A * fs;
    let taps = axis.taps() as i64;
    (0..axis.out_len)
        .map(|o| {
            let center = axis.src_start + (o as f64 + 0.5) * axis.scale - 0.5;
            let first = (center - support).floor() as i64 + 1;
            // the window is evaluated on source distance divided by the filter scale
            let mut w: Vec<f64> = (0..taps)
                .map(|j| lanczos(((first + j) as f64 - center) / fs, LANCZOS_A))
                .collect();
            let sum: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= sum);
            (first, w)
        })
        .collect()
}

/// Crops `frame` to `crop` and resizes it to `out_w x out_h` (both even).
pub fn crop_resize(frame: &YuvFrame, crop: &CropRect, out_w: u32, out_h: u32) -> YuvFrame {
    let src = frame.format;
    let out_format = FrameFormat::new(out_w, out_h, src.color);
    let mut out = YuvFrame::blank(out_format);
    for plane in 0..3 {
        let shift = if plane == 0 { 0 } else { 1 };
        let (ax, ay) = plane_axes(crop, &src, out_w, out_h, shift);
        let (wx, wy) = (axis_weights(&ax), axis_weights(&ay));
        let (pw, ph) = src.plane_size(plane);
        let data = frame.plane(plane);
        // horizontal pass over every source row
        let ow = ax.out_len as usize;
        let mut tmp = vec![0.0f32; ow * ph as usize];
        for y in 0..ph as usize {
            for (o, (first, w)) in wx.iter().enumerate() {
                let mut acc = 0.0f32;
                for (j, wj) in w.iter().enumerate() {
                    let sx = (first + j as i64).clamp(0, pw as i64 - 1) as usize;
                    acc += *wj as f32 * data[y * pw as usize + sx] as f32;
                }
                tmp[y * ow + o] = acc;
            }
        }
        let dst = out.plane_mut(plane);
        for (oy, (first, w)) in wy.iter().enumerate() {
            for ox in 0..ow {
                let mut acc = 0.0f32;
                for (j, wj) in w.iter().enumerate() {
                    let sy = (first + j as i64).clamp(0, ph as i64 - 1) as usize;
                    acc += *wj as f32 * tmp[sy * ow + ox];
                }
                dst[oy * ow + ox] = to_u8(acc);
            }
        }
    }
    out
}
