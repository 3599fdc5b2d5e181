#![no_main]
//! Fuzz target `nut_stream`: the property [`reelgpu::fuzzing::nut_stream`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::nut_stream(data));
