#![no_main]
//! Fuzz target `ncnn_model`: the property [`reelgpu::fuzzing::ncnn_model`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::ncnn_model(data));
