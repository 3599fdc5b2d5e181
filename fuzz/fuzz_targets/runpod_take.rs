#![no_main]
//! Fuzz target `runpod_take`: the property [`reelgpu::fuzzing::runpod_take`] on arbitrary bytes, under the
//! counting allocator (memory held at once bounded by the input's size, see
//! [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("runpod_take", data));
