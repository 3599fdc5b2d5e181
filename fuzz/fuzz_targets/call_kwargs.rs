#![no_main]
//! Fuzz target `call_kwargs`: the property [`reelgpu::fuzzing::call_kwargs`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::call_kwargs(data));
