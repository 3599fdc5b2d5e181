#![no_main]
//! Fuzz target `callback_url`: the property [`reelgpu::fuzzing::callback_url`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::callback_url(data));
