//! CPU reference of the YOLOv8 detector (contract §16), written from its definition: planar
//! f32 activations, convolutions with zero padding `k/2`, SiLU, C2f, SPPF (max-pool 5 with
//! −inf padding), nearest ×2, concatenation, and the head (DFL softmax expectation, anchors at
//! cell centres, sigmoid class scores). The raw output is anchor-major: for every anchor
//! (P3's cells row by row, then P4's, then P5's) `[cx, cy, w, h, score_0 .. score_nc-1]` in
//! input pixels, as ultralytics' `output0` transposed. Also the letterbox (OpenCV's
//! `INTER_LINEAR` in its fixed-point arithmetic, padding 114).

use crate::detect::Letterbox;
use crate::models::yolo::{ConvUnit, HEAD_FROM, Layer, REG_MAX, STRIDES, YoloModel};

/// Planar activations: `c` planes of `w × h`.
#[derive(Debug, Clone, PartialEq)]
pub struct Act {
    pub c: usize,
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Act {
    pub fn plane(&self, i: usize) -> &[f32] {
        &self.data[i * self.w * self.h..(i + 1) * self.w * self.h]
    }
}

fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// One convolution (and its SiLU).
pub fn conv(u: &ConvUnit, x: &Act) -> Act {
    assert_eq!(u.cin, x.c, "input channels");
    let pad = u.k / 2;
    let (ow, oh) = (
        (x.w + 2 * pad - u.k) / u.stride + 1,
        (x.h + 2 * pad - u.k) / u.stride + 1,
    );
    let plane = ow * oh;
    let mut out = vec![0.0f32; u.cout * plane];
    for o in 0..u.cout {
        let acc = &mut out[o * plane..(o + 1) * plane];
        acc.fill(u.bias[o]);
        for i in 0..u.cin {
            let src = x.plane(i);
            for ky in 0..u.k {
                for kx in 0..u.k {
                    let wt = u.w(o, i, ky, kx);
                    for oy in 0..oh {
                        let iy = (oy * u.stride + ky) as isize - pad as isize;
                        if iy < 0 || iy >= x.h as isize {
                            continue;
                        }
                        let srow = &src[iy as usize * x.w..(iy as usize + 1) * x.w];
                        let row = &mut acc[oy * ow..(oy + 1) * ow];
                        for (ox, r) in row.iter_mut().enumerate() {
                            let ix = (ox * u.stride + kx) as isize - pad as isize;
                            if ix >= 0 && ix < x.w as isize {
                                *r += wt * srow[ix as usize];
                            }
                        }
                    }
                }
            }
        }
        if u.silu {
            acc.iter_mut().for_each(|v| *v = silu(*v));
        }
    }
    Act {
        c: u.cout,
        w: ow,
        h: oh,
        data: out,
    }
}

fn concat(parts: &[&Act]) -> Act {
    let (w, h) = (parts[0].w, parts[0].h);
    let mut data = Vec::new();
    for p in parts {
        assert_eq!((p.w, p.h), (w, h), "concatenated sizes");
        data.extend_from_slice(&p.data);
    }
    Act {
        c: parts.iter().map(|p| p.c).sum(),
        w,
        h,
        data,
    }
}

fn split(x: &Act, from: usize, n: usize) -> Act {
    Act {
        c: n,
        w: x.w,
        h: x.h,
        data: x.data[from * x.w * x.h..(from + n) * x.w * x.h].to_vec(),
    }
}

/// 5×5 max-pool, stride 1, padding 2 of −inf.
pub fn maxpool5(x: &Act) -> Act {
    let mut out = x.clone();
    for c in 0..x.c {
        let p = x.plane(c);
        for y in 0..x.h {
            for xx in 0..x.w {
                let mut m = f32::NEG_INFINITY;
                for yy in y.saturating_sub(2)..(y + 3).min(x.h) {
                    for xs in xx.saturating_sub(2)..(xx + 3).min(x.w) {
                        m = m.max(p[yy * x.w + xs]);
                    }
                }
                out.data[(c * x.h + y) * x.w + xx] = m;
            }
        }
    }
    out
}

fn upsample2(x: &Act) -> Act {
    let (w, h) = (x.w * 2, x.h * 2);
    let mut data = vec![0.0; x.c * w * h];
    for c in 0..x.c {
        for y in 0..h {
            for xx in 0..w {
                data[(c * h + y) * w + xx] = x.data[(c * x.h + y / 2) * x.w + xx / 2];
            }
        }
    }
    Act { c: x.c, w, h, data }
}

/// Every layer's output (0–21) for planar RGB `input` (0–1, sides multiples of 32).
pub fn layers(m: &YoloModel, input: &Act) -> Vec<Act> {
    let mut outs: Vec<Act> = Vec::with_capacity(m.layers.len());
    for l in &m.layers {
        let x = outs.last().unwrap_or(input);
        let y = match l {
            Layer::Conv(u) => conv(u, x),
            Layer::C2f(c) => {
                let y = conv(&c.cv1, x);
                let mut parts = vec![split(&y, 0, c.c), split(&y, c.c, c.c)];
                for [a, b] in &c.m {
                    let last = parts.last().expect("two halves");
                    let mut z = conv(b, &conv(a, last));
                    if c.shortcut {
                        z.data.iter_mut().zip(&last.data).for_each(|(v, r)| *v += r);
                    }
                    parts.push(z);
                }
                conv(&c.cv2, &concat(&parts.iter().collect::<Vec<_>>()))
            }
            Layer::Sppf(s) => {
                let a = conv(&s.cv1, x);
                let b = maxpool5(&a);
                let c = maxpool5(&b);
                let d = maxpool5(&c);
                conv(&s.cv2, &concat(&[&a, &b, &c, &d]))
            }
            Layer::Upsample => upsample2(x),
            Layer::Concat(other) => concat(&[x, &outs[*other]]),
            Layer::Detect => unreachable!("the head is not among layers 0-21"),
        };
        outs.push(y);
    }
    outs
}

/// The network's raw output for `input`: anchor-major `[cx, cy, w, h, scores...]`.
pub fn forward(m: &YoloModel, input: &Act) -> Vec<f32> {
    let outs = layers(m, input);
    let per = 4 + m.nc;
    let mut raw = Vec::new();
    for ((level, from), stride) in m.head.iter().zip(HEAD_FROM).zip(STRIDES) {
        let x = &outs[from];
        let run = |units: &[ConvUnit; 3]| conv(&units[2], &conv(&units[1], &conv(&units[0], x)));
        let boxes = run(&level.boxes);
        let classes = run(&level.classes);
        for cy in 0..x.h {
            for cx in 0..x.w {
                let at = cy * x.w + cx;
                let mut d = [0.0f32; 4];
                for (side, dv) in d.iter_mut().enumerate() {
                    let bins: Vec<f32> = (0..REG_MAX)
                        .map(|b| boxes.data[(side * REG_MAX + b) * x.w * x.h + at])
                        .collect();
                    *dv = dfl(&bins);
                }
                let (ax, ay) = (cx as f32 + 0.5, cy as f32 + 0.5);
                let (x1, y1, x2, y2) = (ax - d[0], ay - d[1], ax + d[2], ay + d[3]);
                let s = stride as f32;
                let mut row = vec![
                    (x1 + x2) / 2.0 * s,
                    (y1 + y2) / 2.0 * s,
                    (x2 - x1) * s,
                    (y2 - y1) * s,
                ];
                row.extend(
                    (0..m.nc).map(|c| 1.0 / (1.0 + (-classes.data[c * x.w * x.h + at]).exp())),
                );
                debug_assert_eq!(row.len(), per);
                raw.extend(row);
            }
        }
    }
    raw
}

/// The expectation of `0..16` under the softmax of `bins`.
pub fn dfl(bins: &[f32]) -> f32 {
    let max = bins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = bins.iter().map(|b| (b - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().enumerate().map(|(i, v)| i as f32 * v).sum::<f32>() / sum
}

/// OpenCV's `INTER_LINEAR` coefficients for one axis of 8-bit images (11-bit fixed point):
/// for each output index, the first source index and its weight (the other gets the rest).
pub fn linear_taps(src: usize, dst: usize) -> Vec<(usize, i32)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let f = (d as f64 + 0.5) * scale - 0.5;
            let mut s = f.floor() as i64;
            let mut t = (f - s as f64) as f32;
            if s < 0 {
                s = 0;
                t = 0.0;
            }
            if s >= src as i64 - 1 {
                s = src as i64 - 1;
                t = 0.0;
            }
            let w0 = ((1.0 - t) * 2048.0).round_ties_even() as i32;
            (s as usize, w0)
        })
        .collect()
}

/// Letterboxes interleaved 8-bit RGB (`w × h`) into planar 8-bit RGB of the geometry's
/// padded size: OpenCV's `resize(INTER_LINEAR)` in its integer arithmetic (none when the
/// size is unchanged), padding 114.
pub fn letterbox(rgb: &[u8], w: usize, h: usize, g: &Letterbox) -> Vec<u8> {
    let (pw, ph) = (g.width as usize, g.height as usize);
    let (nw, nh) = (g.inner_w as usize, g.inner_h as usize);
    let mut out = vec![114u8; 3 * pw * ph];
    let xs = linear_taps(w, nw);
    let ys = linear_taps(h, nh);
    let same = (nw, nh) == (w, h);
    for (oy, (sy, wy)) in ys.iter().enumerate() {
        for (ox, (sx, wx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let v = if same {
                    rgb[(oy * w + ox) * 3 + c]
                } else {
                    let p =
                        |x: usize, y: usize| rgb[(y.min(h - 1) * w + x.min(w - 1)) * 3 + c] as i32;
                    // horizontal pass (×2048), then vertical (×2048) with OpenCV's rounding
                    let row = |y: usize| p(*sx, y) * wx + p(sx + 1, y) * (2048 - wx);
                    let (r0, r1) = (row(*sy), row(sy + 1));
                    let v =
                        ((((*wy) * (r0 >> 4)) >> 16) + (((2048 - wy) * (r1 >> 4)) >> 16) + 2) >> 2;
                    v.clamp(0, 255) as u8
                };
                let (x, y) = (ox + g.left as usize, oy + g.top as usize);
                out[(c * ph + y) * pw + x] = v;
            }
        }
    }
    out
}

/// Planar 8-bit RGB to the network's input (0–1).
pub fn to_input(planar: &[u8], w: usize, h: usize) -> Act {
    Act {
        c: 3,
        w,
        h,
        data: planar.iter().map(|v| *v as f32 / 255.0).collect(),
    }
}
