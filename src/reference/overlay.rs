//! A whole frame plan on the CPU, pass by pass in the engine's order (§5 feathered
//! highlight, §9 paint and text layers, crop), with the exact 51x51 background blur unless
//! told otherwise.

use super::{blur, composite, mask, mix, paint, resize, rotate, text};
use crate::effects::feather::BlurQuality;
use crate::effects::kernels::{
    BlurSpec, SPOTLIGHT_FACTOR, background_blur, gaussian_weights, reduced_blur,
};
use crate::effects::label::LabelBand;
use crate::effects::reduce::FAST_BLUR_LEVELS;
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
    apply_all(frame, plan, out_size, quality, &[])
}

/// Applies `plan`, whose text draws refer to `layers`.
pub fn apply_all(
    frame: &YuvFrame,
    plan: &FramePlan,
    out_size: (u32, u32),
    quality: BlurQuality,
    layers: &[LabelBand],
) -> YuvFrame {
    apply_full(frame, plan, out_size, quality, layers, None)
}

/// Applies `plan`; `other` is the output-size frame a dissolve mixes with.
pub fn apply_full(
    frame: &YuvFrame,
    plan: &FramePlan,
    out_size: (u32, u32),
    quality: BlurQuality,
    layers: &[LabelBand],
    other: Option<&YuvFrame>,
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
    if !plan.paint.is_empty() {
        result = paint::apply(&result, &plan.paint);
    }
    if !plan.texts.is_empty() {
        result = text::apply(&result, layers, &plan.texts);
    }
    let resized = match (plan.crop, plan.rotated) {
        (Some(crop), _) => resize::crop_resize(&result, &crop, out_size.0, out_size.1),
        (None, Some(r)) => rotate::rotate_crop(&result, &r, out_size.0, out_size.1),
        (None, None) => result,
    };
    match &plan.mix {
        Some(m) => mix::apply(&resized, m, other),
        None => resized,
    }
}
