//! CPU reference of the SRVGGNetCompact network (the AI ×4 upscaler), written from its
//! definition: 3x3 convolutions with zero padding, PReLU, pixel shuffle, plus the input
//! upsampled by nearest neighbour. Planar f32 RGB in 0–1.

use super::convert::{rgb_to_yuv420_with, yuv420_to_rgb};
use crate::frame::YuvFrame;
use crate::models::SrModel;

/// One 3x3 convolution (zero padding) of planar `x` (`in_ch` planes of `w·h`), then its PReLU.
pub(crate) fn conv(c: &crate::models::Conv, x: &[f32], w: usize, h: usize) -> Vec<f32> {
    let plane = w * h;
    let mut out = vec![0.0f32; c.out_ch * plane];
    for o in 0..c.out_ch {
        let acc = &mut out[o * plane..(o + 1) * plane];
        acc.fill(c.bias[o]);
        for i in 0..c.in_ch {
            let src = &x[i * plane..(i + 1) * plane];
            for ky in 0..3 {
                for kx in 0..3 {
                    let wt = c.w(o, i, ky, kx);
                    if wt == 0.0 {
                        continue;
                    }
                    // output (y, x) reads input (y + ky - 1, x + kx - 1); outside is zero
                    let ys = (ky == 0) as usize..h - (ky == 2) as usize;
                    let xs = (kx == 0) as usize..w - (kx == 2) as usize;
                    for y in ys {
                        let sy = y + ky - 1;
                        let row = &mut acc[y * w..(y + 1) * w];
                        let srow = &src[sy * w..(sy + 1) * w];
                        for xx in xs.clone() {
                            row[xx] += wt * srow[xx + kx - 1];
                        }
                    }
                }
            }
        }
        if let Some(slopes) = &c.prelu {
            let a = slopes[o];
            for v in acc.iter_mut() {
                if *v < 0.0 {
                    *v *= a;
                }
            }
        }
    }
    out
}

/// Runs `model` on planar RGB `rgb` (`3·w·h`, 0–1): planar RGB `scale`× the size, unclamped.
pub fn run(model: &SrModel, rgb: &[f32], w: usize, h: usize) -> Vec<f32> {
    assert_eq!(rgb.len(), 3 * w * h);
    let mut x = rgb.to_vec();
    for c in &model.convs {
        x = conv(c, &x, w, h);
    }
    let s = model.scale;
    let (ow, oh) = (w * s, h * s);
    let mut out = vec![0.0f32; 3 * ow * oh];
    for ch in 0..3 {
        for y in 0..oh {
            for xx in 0..ow {
                // pixel shuffle: channel ch·s² + dy·s + dx of the last convolution
                let (dy, dx) = (y % s, xx % s);
                let k = ch * s * s + dy * s + dx;
                let v = x[(k * h + y / s) * w + xx / s];
                // plus the input, nearest neighbour
                out[(ch * oh + y) * ow + xx] = v + rgb[(ch * h + y / s) * w + xx / s];
            }
        }
    }
    out
}

/// The upscaler on a YUV 4:2:0 frame as the engine runs it (sr.wgsl `sr_pack_yuv` ..
/// `sr_to_yuv`): the frame's RGB (bilinear chroma) rounded to 8 bits, the network, clamped to
/// 0–1, back to YUV 4:2:0 (2x2 mean chroma) at `scale`× the size.
pub fn upscale_yuv(model: &SrModel, frame: &YuvFrame) -> YuvFrame {
    let f = frame.format;
    let (w, h) = (f.width as usize, f.height as usize);
    let rgb8 = yuv420_to_rgb(frame);
    let mut rgb = vec![0f32; 3 * w * h];
    for (i, px) in rgb8.chunks_exact(3).enumerate() {
        for c in 0..3 {
            rgb[c * w * h + i] = px[c] as f32 / 255.0;
        }
    }
    let up = run(model, &rgb, w, h);
    let s = model.scale;
    let (ow, oh) = (w * s, h * s);
    rgb_to_yuv420_with(ow as u32, oh as u32, f.color, |x, y| {
        let at = y as usize * ow + x as usize;
        [0, 1, 2].map(|c| (up[c * ow * oh + at].clamp(0.0, 1.0) * 255.0) as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Conv, Storage};

    fn conv(in_ch: usize, out_ch: usize, prelu: bool) -> Conv {
        Conv {
            in_ch,
            out_ch,
            weights: vec![0.0; in_ch * out_ch * 9],
            bias: vec![0.0; out_ch],
            prelu: prelu.then(|| vec![0.25; out_ch]),
        }
    }

    fn model(convs: Vec<Conv>, scale: usize) -> SrModel {
        SrModel {
            name: "t".into(),
            scale,
            convs,
            storage: Storage::F32,
        }
    }

    #[test]
    fn zero_weights_give_the_nearest_upsample_and_the_bias_lands_where_the_shuffle_says() {
        let (w, h) = (3, 2);
        let rgb: Vec<f32> = (0..18).map(|i| i as f32 / 18.0).collect();
        let mut last = conv(4, 12, false);
        for (k, b) in last.bias.iter_mut().enumerate() {
            *b = k as f32;
        }
        let m = model(vec![conv(3, 4, true), last], 2);
        let out = run(&m, &rgb, w, h);
        let (ow, oh) = (6, 4);
        for ch in 0..3 {
            for y in 0..oh {
                for x in 0..ow {
                    let k = ch * 4 + (y % 2) * 2 + x % 2;
                    let want = k as f32 + rgb[(ch * h + y / 2) * w + x / 2];
                    assert_eq!(out[(ch * oh + y) * ow + x], want, "ch {ch} ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn a_convolution_reads_its_neighbours_with_zero_padding_and_prelu_scales_negatives() {
        // one channel through: conv 1 takes the left neighbour minus 1, PReLU 0.25; conv 2
        // copies channel 0 to output 0 (scale 1)
        let (w, h) = (4, 1);
        let rgb = [0.8, 0.4, 2.0, 1.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut c1 = conv(3, 1, true);
        c1.weights[3] = 1.0; // (o 0, i 0, ky 1, kx 0): the pixel to the left
        c1.bias[0] = -1.0;
        let mut c2 = conv(1, 3, false);
        c2.weights[4] = 1.0; // centre tap, output 0
        let out = run(&model(vec![c1, c2], 1), &rgb, w, h);
        // left neighbours: 0 (padding), 0.8, 0.4, 2.0; minus 1: -1, -0.2, -0.6, 1.0
        let first: Vec<f32> = out[..4].iter().zip(&rgb[..4]).map(|(o, x)| o - x).collect();
        let want = [-0.25, -0.05, -0.15, 1.0];
        for (g, w) in first.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{first:?}");
        }
        assert_eq!(&out[4..], &rgb[4..], "the other channels: the input alone");
    }
}
