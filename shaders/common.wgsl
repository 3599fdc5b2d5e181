// Shared prelude, concatenated in front of every other shader file (see src/gpu/shaders.rs).

// One plane inside a buffer. Packed planes (array<u32>, 4 samples per word): offset and stride
// in words. Float planes (array<f32>): offset and stride in elements.
struct Plane {
    offset: u32,
    stride: u32,
    width: u32,
    height: u32,
}

// OpenCV BORDER_REFLECT_101 for any offset: gfedcb|abcdefgh|gfedcba.
fn reflect101(i: i32, n: i32) -> i32 {
    if (n == 1) {
        return 0;
    }
    let period = 2 * (n - 1);
    var m = abs(i) % period;
    if (m >= n) {
        m = period - m;
    }
    return m;
}

// Sample `k` (0..3) of a packed word as a float.
fn byte_at(word: u32, k: u32) -> f32 {
    return f32((word >> (8u * k)) & 0xffu);
}


// Rounds (ties to even), clamps and packs four samples into a word.
fn pack4(v: vec4<f32>) -> u32 {
    let q = vec4<u32>(clamp(round(v), vec4<f32>(0.0), vec4<f32>(255.0)));
    return q.x | (q.y << 8u) | (q.z << 16u) | (q.w << 24u);
}
