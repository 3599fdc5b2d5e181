//! Test support shared by the test suite, the benchmark and `preview`: deterministic test
//! patterns, seeded random frames, generated clips, image metrics and golden-image comparison.

pub mod card;
pub mod clips;
pub mod golden;
pub mod metrics;
pub mod pattern;
pub mod yolo;
