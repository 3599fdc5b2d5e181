#![no_main]
//! Fuzz target `mkv_round_trip`: the property [`reelgpu::fuzzing::mkv_round_trip`] on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::mkv_round_trip(data));
