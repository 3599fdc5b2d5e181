#![no_main]
//! Fuzz target `ncnn_model`: the property [`reelgpu::fuzzing::ncnn_model`] on arbitrary bytes, under the
//! counting allocator (memory held at once bounded by the input's size, see
//! [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("ncnn_model", data));
