#![no_main]
//! Fuzz target `card_layer_png`: the property [`reelgpu::fuzzing::card_layer_png`] on arbitrary bytes, under the
//! counting allocator (memory held at once bounded by the input's size, see
//! [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("card_layer_png", data));
