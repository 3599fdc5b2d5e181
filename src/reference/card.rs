//! The intro card (card.wgsl) on the CPU, in f64: the same layers, sampling and blending, then
//! the same conversion to YUV 4:2:0 as every frame's ([`super::convert::rgb_to_yuv420_with`]).

use crate::color::ColorSpec;
use crate::effects::card::{BG, CardImage, GpuCardLayer, IMAGE, OVER};
use crate::frame::YuvFrame;

/// Texel `(x, y)` of `img`, premultiplied: rgb 0–255 × alpha, alpha 0–1.
fn texel(img: &CardImage, x: u32, y: u32) -> [f64; 4] {
    let i = ((y * img.width + x) * 4) as usize;
    let a = img.rgba[i + 3] as f64 / 255.0;
    [
        img.rgba[i] as f64 * a,
        img.rgba[i + 1] as f64 * a,
        img.rgba[i + 2] as f64 * a,
        a,
    ]
}

fn mix4(a: [f64; 4], b: [f64; 4], t: f64) -> [f64; 4] {
    std::array::from_fn(|k| a[k] + (b[k] - a[k]) * t)
}

fn bilinear(img: &CardImage, sx: f64, sy: f64) -> [f64; 4] {
    let (x0, y0) = (sx.floor(), sy.floor());
    let (tx, ty) = (sx - x0, sy - y0);
    let cl = |v: f64, n: u32| (v as i64).clamp(0, n as i64 - 1) as u32;
    let (xa, xb) = (cl(x0, img.width), cl(x0 + 1.0, img.width));
    let (ya, yb) = (cl(y0, img.height), cl(y0 + 1.0, img.height));
    let top = mix4(texel(img, xa, ya), texel(img, xb, ya), tx);
    let bottom = mix4(texel(img, xa, yb), texel(img, xb, yb), tx);
    mix4(top, bottom, ty)
}

fn over(c: [f64; 3], s: [f64; 4]) -> [f64; 3] {
    std::array::from_fn(|k| c[k] * (1.0 - s[3]) + s[k])
}

/// The card at pixel `(x, y)` (0–255 RGB) after the flash: `layers` with their images (the
/// same order).
pub fn pixel(
    layers: &[GpuCardLayer],
    images: &[&CardImage],
    flash: f64,
    x: u32,
    y: u32,
) -> [f64; 3] {
    let mut c = [0.0f64; 3];
    let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
    for (l, img) in layers.iter().zip(images) {
        let r = l.rect.map(|v| v as f64);
        match l.kind {
            BG => {
                let t = texel(img, x, y);
                c = [t[0], t[1], t[2]];
            }
            IMAGE => {
                let (u, v) = (fx - r[0], fy - r[1]);
                if u >= 0.0 && v >= 0.0 && u < r[2] && v < r[3] {
                    let z = l.p[0] as f64;
                    let sx = ((u - 0.5 * r[2]) / z + 0.5 * r[2]) * img.width as f64 / r[2] - 0.5;
                    let sy = ((v - 0.5 * r[3]) / z + 0.5 * r[3]) * img.height as f64 / r[3] - 0.5;
                    c = over(c, bilinear(img, sx, sy));
                }
            }
            OVER => c = over(c, texel(img, x, y)),
            _ => {
                let alpha = l.p[1] as f64;
                let tx = x as i64 - r[0] as i64;
                if tx >= 0 && tx < img.width as i64 && alpha > 0.0 {
                    let sy = fy - r[1] - 0.5;
                    let y0 = sy.floor();
                    let row = |y: f64| {
                        if y < 0.0 || y >= img.height as f64 {
                            [0.0; 4]
                        } else {
                            texel(img, tx as u32, y as u32)
                        }
                    };
                    let s = mix4(row(y0), row(y0 + 1.0), sy - y0);
                    c = over(c, s.map(|v| v * alpha));
                }
            }
        }
    }
    c.map(|v| v + (255.0 - v) * flash)
}

/// A whole frame of the card, as card.wgsl draws it.
pub fn render(
    layers: &[GpuCardLayer],
    images: &[&CardImage],
    flash: f64,
    w: u32,
    h: u32,
    color: ColorSpec,
) -> YuvFrame {
    super::convert::rgb_to_yuv420_with(w, h, color, |x, y| pixel(layers, images, flash, x, y))
}
