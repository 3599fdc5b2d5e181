//! Deterministic inputs: a test card with edges, gradients and colour, and seeded noise.

use crate::color::ColorSpec;
use crate::frame::{FrameFormat, YuvFrame};
use crate::job::EffectType;
use crate::job::timeline::{FramePlan, MaskEllipse};

/// A blur plan whose only region lies far outside the frame: the mask is zero everywhere, so
/// the output is exactly the blurred background.
pub fn background_only_plan() -> FramePlan {
    FramePlan {
        ellipses: vec![MaskEllipse {
            cx: -1000,
            cy: -1000,
            rx: 1,
            ry: 1,
            opacity: 1.0,
        }],
        effect: EffectType::Blur,
        ..Default::default()
    }
}

/// An RGB (3 bytes/px) test card: colour bars on top, a horizontal grey ramp, a hue gradient,
/// a checkerboard with hard edges, and a white disc with a dark outline in the middle.
pub fn test_card(w: u32, h: u32) -> Vec<u8> {
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    let bars: [[u8; 3]; 8] = [
        [235, 235, 235],
        [235, 235, 16],
        [16, 235, 235],
        [16, 235, 16],
        [235, 16, 235],
        [235, 16, 16],
        [16, 16, 235],
        [16, 16, 16],
    ];
    let (cx, cy) = (w as f32 * 0.5, h as f32 * 0.55);
    let radius = h as f32 * 0.18;
    for y in 0..h {
        for x in 0..w {
            let fy = y as f32 / h as f32;
            let fx = x as f32 / w as f32;
            let mut px = if fy < 0.3 {
                bars[((fx * 8.0) as usize).min(7)]
            } else if fy < 0.45 {
                let v = (fx * 255.0) as u8;
                [v, v, v]
            } else if fy < 0.7 {
                let t = fx * 6.0;
                let c = |o: f32| (((t + o) % 6.0 - 3.0).abs() - 1.0).clamp(0.0, 1.0);
                let s = 1.0 - (fy - 0.45) * 2.0;
                [
                    (255.0 * (c(0.0) * s + (1.0 - s) * 0.5)) as u8,
                    (255.0 * (c(4.0) * s + (1.0 - s) * 0.5)) as u8,
                    (255.0 * (c(2.0) * s + (1.0 - s) * 0.5)) as u8,
                ]
            } else if ((x / 8) + (y / 8)) % 2 == 0 {
                [250, 250, 250]
            } else {
                [20, 30, 40]
            };
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if d < radius {
                px = if d > radius - 3.0 {
                    [10, 10, 10]
                } else {
                    [255, 255, 255]
                };
            }
            let i = ((y * w + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(&px);
        }
    }
    rgb
}

/// RGB to RGBA (opaque).
pub fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

/// RGBA to RGB (alpha dropped).
pub fn rgba_to_rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// A small deterministic PRNG (SplitMix64), so library code needs no `rand`.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}

/// A YUV frame of uniform random samples (never all-zero).
pub fn random_frame(w: u32, h: u32, color: ColorSpec, seed: u64) -> YuvFrame {
    let format = FrameFormat::new(w, h, color);
    let mut rng = SplitMix::new(seed);
    let data = (0..format.frame_bytes()).map(|_| rng.byte()).collect();
    YuvFrame::new(format, data)
}

/// A text layer as the web app rasterises one: a full-frame straight RGBA8 image, clear
/// except a translucent dark bar across the lower third with `text` in white (rendered with
/// the label font; a missing font leaves the bar alone).
pub fn caption_rgba(w: u32, h: u32, text: &str) -> Vec<u8> {
    use ab_glyph::{Font, PxScale, ScaleFont, point};
    let mut px = vec![0u8; (w * h * 4) as usize];
    let (y0, y1) = (h * 2 / 3, (h * 2 / 3 + h / 6).min(h));
    let (x0, x1) = (w / 10, w - w / 10);
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 4) as usize;
            px[i..i + 4].copy_from_slice(&[10, 20, 40, 170]);
        }
    }
    let Ok(font) = crate::effects::label::load_font(&crate::effects::label::font_path()) else {
        return px;
    };
    let size = (y1 - y0) as f32 * 0.7;
    let s = font.as_scaled(PxScale::from(size));
    let width: f32 = text.chars().map(|c| s.h_advance(s.glyph_id(c))).sum();
    let mut x = (w as f32 - width) / 2.0;
    let baseline = y0 as f32 + ((y1 - y0) as f32 + s.ascent() + s.descent()) / 2.0;
    for c in text.chars() {
        let id = s.glyph_id(c);
        let glyph = id.with_scale_and_position(PxScale::from(size), point(x, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px_x, px_y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px_x < 0 || px_y < 0 || px_x >= w as i64 || px_y >= h as i64 {
                    return;
                }
                let i = ((px_y as u32 * w + px_x as u32) * 4) as usize;
                let cov = cov.clamp(0.0, 1.0);
                let a = px[i + 3] as f32 / 255.0;
                // white over the bar, straight alpha
                let out_a = cov + a * (1.0 - cov);
                for k in 0..3 {
                    let c = (255.0 * cov + px[i + k] as f32 * a * (1.0 - cov)) / out_a.max(1e-6);
                    px[i + k] = c.round().clamp(0.0, 255.0) as u8;
                }
                px[i + 3] = (out_a * 255.0).round() as u8;
            });
        }
        x += s.h_advance(id);
    }
    px
}

/// `rgba` (straight RGBA8, `w x h`) as PNG bytes.
pub fn png_bytes(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbaImage::from_raw(w, h, rgba.to_vec())
        .expect("w * h * 4 bytes")
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("PNG encoding to memory");
    out
}
