//! The whole overlay chain on the CPU (contract §5), with the exact 51x51 background blur.

use super::{blur, composite, mask, resize};
use crate::effects::kernels::{
    BlurSpec, SPOTLIGHT_FACTOR, background_blur, gaussian_weights, reduced_blur,
};
use crate::effects::reduce::FAST_BLUR_LEVELS;
use crate::engine::BlurQuality;
use crate::frame::YuvFrame;
use crate::job::EffectType;
use crate::job::timeline::FramePlan;

/// Per-plane black level that the spotlight scales towards.
pub fn plane_black(frame: &YuvFrame, plane: usize) -> f32 {
    if plane == 0 {
        frame.format.color.range.luma_black()
    } else {
        128.0
    }
}

/// The background of one plane: the exact blur, or the fast path's approximation of it
/// (decimated `levels` times).
pub fn background(
    src: &[u8],
    w: u32,
    h: u32,
    spec: BlurSpec,
    quality: BlurQuality,
    levels: u32,
) -> Vec<f32> {
    match quality {
        BlurQuality::Exact => blur::blur_plane_u8(src, w, h, &spec.weights()),
        BlurQuality::Fast => {
            let (r, sigma) = reduced_blur(spec, levels);
            blur::fast_blur_plane(src, w, h, levels, &gaussian_weights(r, sigma)).1
        }
    }
}

/// Applies `plan` to `frame` with the exact blur; `out_size` is needed when the plan crops.
pub fn apply(frame: &YuvFrame, plan: &FramePlan, out_size: (u32, u32)) -> YuvFrame {
    apply_with(frame, plan, out_size, BlurQuality::Exact)
}

/// Applies `plan` with the given background blur (as the engine resolves it for the size).
pub fn apply_with(
    frame: &YuvFrame,
    plan: &FramePlan,
    out_size: (u32, u32),
    quality: BlurQuality,
) -> YuvFrame {
    let mut result = frame.clone();
    if !plan.ellipses.is_empty() {
        let (w, h) = (frame.format.width, frame.format.height);
        let luma_mask = mask::feathered(&plan.ellipses, w, h);
        let chroma_mask = mask::chroma_mask(&luma_mask, w, h);
        for (p, levels) in FAST_BLUR_LEVELS.into_iter().enumerate() {
            let (pw, ph) = frame.format.plane_size(p);
            let m = if p == 0 { &luma_mask } else { &chroma_mask };
            let spec = background_blur(p);
            let blurred;
            let (bg, factor) = match plan.effect {
                EffectType::Blur => {
                    blurred = background(frame.plane(p), pw, ph, spec, quality, levels);
                    (Some(blurred.as_slice()), 1.0)
                }
                EffectType::Spotlight => (None, SPOTLIGHT_FACTOR),
            };
            let out = composite::blend_plane(frame.plane(p), m, bg, plane_black(frame, p), factor);
            result.plane_mut(p).copy_from_slice(&out);
        }
    }
    match plan.crop {
        Some(crop) => resize::crop_resize(&result, &crop, out_size.0, out_size.1),
        None => result,
    }
}
