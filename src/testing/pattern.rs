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
        crop: None,
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
