#![no_main]
//! Fuzz target `detect_model`: the property [`reelgpu::fuzzing::detect_model`] (a PyTorch
//! checkpoint, its pickle alone, or a safetensors state dict, then YOLOv8 built from it) on
//! arbitrary bytes, under the counting allocator (memory held at once bounded by the input's
//! size, see [`reelgpu::fuzzing::check`]).

#[global_allocator]
static ALLOC: reelgpu::fuzzing::CountingAlloc = reelgpu::fuzzing::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| reelgpu::fuzzing::check("detect_model", data));
