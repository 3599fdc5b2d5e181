#![no_main]
//! Fuzz target `runpod_take`: the property [`reelgpu::fuzzing::runpod_take`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::runpod_take(data));
