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

// The packed 4:2:0 words of an 8 x 2 pixel block at column x0 of a frame `w` wide, from its
// pixels (0-255 RGB, rows `top` and `bottom`): luma words [2k + row] (k: the block's two
// words of a row; samples past w are 0), then each chroma plane's one word (4 samples, each
// from the 2x2 mean, samples past the plane's width `cw` 0). `rows` converts RGB to YUV.
struct Block420 {
    luma: array<u32, 4>,
    chroma: vec2<u32>,
}

fn pack_block420(
    top: array<vec3<f32>, 8>,
    bottom: array<vec3<f32>, 8>,
    x0: u32,
    w: u32,
    cw: u32,
    rows: array<vec4<f32>, 3>,
) -> Block420 {
    var out: Block420;
    for (var k = 0u; k < 2u; k++) {
        var t = vec4<f32>(0.0);
        var b = vec4<f32>(0.0);
        for (var j = 0u; j < 4u; j++) {
            if (x0 + 4u * k + j < w) {
                t[j] = dot(rows[0].xyz, top[4u * k + j]) + rows[0].w;
                b[j] = dot(rows[0].xyz, bottom[4u * k + j]) + rows[0].w;
            }
        }
        out.luma[2u * k] = pack4(t);
        out.luma[2u * k + 1u] = pack4(b);
    }
    for (var plane = 1u; plane < 3u; plane++) {
        var c = vec4<f32>(0.0);
        for (var j = 0u; j < 4u; j++) {
            if (x0 / 2u + j < cw) {
                let m = 0.25 * (top[2u * j] + top[2u * j + 1u] + bottom[2u * j] + bottom[2u * j + 1u]);
                c[j] = dot(rows[plane].xyz, m) + rows[plane].w;
            }
        }
        out.chroma[plane - 1u] = pack4(c);
    }
    return out;
}

// Where one invocation of a "4:2:0 sheet" dispatch lands. The sheet lays the luma plane's
// rows (x < luma.x) on top and below them each chroma row twice side by side (plane 1 at
// x < chroma.x, plane 2 at chroma.x <= x < 2 chroma.x), so one dispatch of
// max(luma.x, 2 chroma.x) x (luma.y + chroma.y) covers all three planes with few idle
// invocations (idle ones cost as much as busy ones on CPU adapters). Returns
// (plane, x, y), plane 3 for an idle invocation.
fn sheet_site(gid: vec3<u32>, luma: vec2<u32>, chroma: vec2<u32>) -> vec3<u32> {
    if (gid.y < luma.y) {
        if (gid.x < luma.x) {
            return vec3<u32>(0u, gid.x, gid.y);
        }
        return vec3<u32>(3u, 0u, 0u);
    }
    let y = gid.y - luma.y;
    if (y >= chroma.y) {
        return vec3<u32>(3u, 0u, 0u);
    }
    if (gid.x < chroma.x) {
        return vec3<u32>(1u, gid.x, y);
    }
    if (gid.x < 2u * chroma.x) {
        return vec3<u32>(2u, gid.x - chroma.x, y);
    }
    return vec3<u32>(3u, 0u, 0u);
}

// The Lanczos window (a = 4) the resamplers share (resize.wgsl, rotate.wgsl); the CPU side
// is effects::kernels::lanczos.
const LANCZOS_A: f32 = 4.0;
const PI: f32 = 3.14159265358979;

fn lanczos(x: f32) -> f32 {
    if (x == 0.0) {
        return 1.0;
    }
    if (abs(x) >= LANCZOS_A) {
        return 0.0;
    }
    let px = PI * x;
    return LANCZOS_A * sin(px) * sin(px / LANCZOS_A) / (px * px);
}
