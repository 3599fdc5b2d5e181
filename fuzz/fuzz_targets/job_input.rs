#![no_main]
//! Fuzz target `job_input`: the property [`reelgpu::fuzzing::job_input`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::job_input(data));
