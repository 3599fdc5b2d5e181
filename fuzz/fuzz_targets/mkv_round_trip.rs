#![no_main]
//! Fuzz target `mkv_round_trip`: the property [`reelgpu::fuzzing::mkv_round_trip`] on arbitrary bytes, under the
//! counting allocator (memory held at once bounded by the input's size, see
//! [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("mkv_round_trip", data));
