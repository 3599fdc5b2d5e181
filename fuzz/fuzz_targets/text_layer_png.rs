#![no_main]
//! Fuzz target `text_layer_png`: the property [`reelgpu::fuzzing::text_layer_png`] on arbitrary bytes, under the
//! counting allocator (memory held at once bounded by the input's size, see
//! [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("text_layer_png", data));
