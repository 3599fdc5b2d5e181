#![no_main]
//! Fuzz target `text_layer_png`: the property [`reelgpu::fuzzing::text_layer_png`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::text_layer_png(data));
