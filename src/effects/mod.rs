//! The GPU passes, one module per pass: its uniform layout (host mirrors of its WGSL
//! structs), its buffers and bind groups per frame format, and how it fills and records
//! itself for a frame plan ([`pass::Pass`]). [`kernels`] holds the filter definitions shared
//! with the CPU references ([`crate::reference`]).
//!
//! Frame passes, in the order a plan runs them: [`feather`] (§5 blur/spotlight), [`paint`]
//! (§9 dim/boost/fill/outline/stroke), [`text`] (§9 text layers), [`crop`] (crop + Lanczos) or [`rotate`] (§10 rotation + crop +
//! Lanczos in one resample), [`upscale`] (§10 AI ×4 network + Lanczos, built on [`sr`]),
//! [`mix`] (§10 transitions).
//! Others: [`convert`] (RGB ⇄ YUV for previews), [`label`] (annotate labels).

pub mod card;
pub mod convert;
pub mod crop;
pub mod feather;
pub mod kernels;
pub mod label;
pub mod mix;
pub mod paint;
pub mod params;
pub mod pass;
pub mod reduce;
pub mod rotate;
pub mod text;
pub mod tonemap;
pub mod upscale;
