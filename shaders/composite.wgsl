// result = frame * mask + background * (1 - mask), per plane; one invocation per packed word
// (four samples) of a pair of rows.
// Background: mode 0 spotlight (frame scaled by `factor` about the plane's black level),
// mode 1 a blurred float plane of the same size, mode 2 a blurred reduced float plane
// (1/2 or 1/4 of the plane's size, with margins) sampled bilinearly (the fast path). Chroma
// samples see the mean of their 2x2 luma mask.

struct CompositePlane {
    src: Plane,       // packed frame
    dst: Plane,       // packed result
    bg: Plane,        // float background (modes 1, 2)
    black: f32,
    factor: f32,
    chroma: u32,      // 1 for the 4:2:0 chroma planes
    _pad: u32,
    bg_sampling: vec4<u32>, // mode 2: plane pixels per background sample (2 or 4), margin
}

struct CompositeParams {
    planes: array<CompositePlane, 3>,
    mask: Plane,
    mask_box: vec4<u32>, // x0, y0, x1, y1: the mask is zero outside
    mode: vec4<u32>,     // mode, -, -, -
}

@group(0) @binding(0) var<uniform> params: CompositeParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@group(0) @binding(3) var<storage, read> background: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;

fn luma_mask(x: u32, y: u32) -> f32 {
    let b = params.mask_box;
    if (x < b.x || y < b.y || x >= b.z || y >= b.w) {
        return 0.0;
    }
    return mask[params.mask.offset + y * params.mask.stride + x];
}

fn mask_at(p: CompositePlane, x: u32, y: u32) -> f32 {
    if (p.chroma == 0u) {
        return luma_mask(x, y);
    }
    let xa = 2u * x;
    let ya = 2u * y;
    let xb = min(xa + 1u, params.mask.width - 1u);
    let yb = min(ya + 1u, params.mask.height - 1u);
    return 0.25 * (luma_mask(xa, ya) + luma_mask(xb, ya) + luma_mask(xa, yb) + luma_mask(xb, yb));
}

// The mask of packed word `wx` of row `y`: zero when the word lies wholly outside the mask
// box, read directly when wholly inside, sample by sample (with clamping) otherwise.
fn word_mask(p: CompositePlane, wx: u32, y: u32) -> vec4<f32> {
    let b = params.mask_box;
    let s = 1u + p.chroma; // luma pixels per plane pixel
    let x0 = wx * 4u * s;
    let x1 = x0 + 4u * s;
    let y0 = y * s;
    let y1 = y0 + s;
    if (x0 >= b.z || x1 <= b.x || y0 >= b.w || y1 <= b.y) {
        return vec4<f32>(0.0);
    }
    if (x0 >= b.x && x1 <= b.z && y0 >= b.y && y1 <= b.w) {
        let row = params.mask.offset + y0 * params.mask.stride + x0;
        if (p.chroma == 0u) {
            return vec4<f32>(mask[row], mask[row + 1u], mask[row + 2u], mask[row + 3u]);
        }
        let next = row + params.mask.stride;
        var m: vec4<f32>;
        for (var k = 0u; k < 4u; k++) {
            let i = 2u * k;
            m[k] = 0.25 * (mask[row + i] + mask[row + i + 1u] + mask[next + i] + mask[next + i + 1u]);
        }
        return m;
    }
    var m = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let x = wx * 4u + k;
        if (x < p.src.width) {
            m[k] = mask_at(p, x, y);
        }
    }
    return m;
}

fn bg_sample(p: Plane, x: u32, y: u32) -> f32 {
    return background[p.offset + y * p.stride + min(x, p.width - 1u)];
}

fn load4(i: u32) -> vec4<f32> {
    return vec4<f32>(background[i], background[i + 1u], background[i + 2u], background[i + 3u]);
}

// Horizontal step of mode 2: for scale 2 or 4 a word's four samples fall at fixed fractions
// of four consecutive reduced columns.
fn reduced_columns(c: vec4<f32>, scale: u32) -> vec4<f32> {
    if (scale == 4u) {
        return vec4<f32>(mix(c.x, c.y, 0.625), mix(c.x, c.y, 0.875), mix(c.y, c.z, 0.125), mix(c.y, c.z, 0.375));
    }
    return vec4<f32>(mix(c.x, c.y, 0.75), mix(c.y, c.z, 0.25), mix(c.y, c.z, 0.75), mix(c.z, c.w, 0.25));
}

// Mode 2: the reduced background bilinearly upsampled at word `wx` of rows `y` and `y + 1`.
// Reduced sample i sits at plane position scale * (i - margin) + (scale - 1) / 2; the margin
// keeps every tap inside the plane. The two rows read at most three reduced rows (12 loads
// for 8 samples) of the four columns starting at `4 wx / scale + margin - 1`.
fn reduced_background(p: CompositePlane, wx: u32, y: u32) -> array<vec4<f32>, 2> {
    let bg = p.bg;
    let scale = p.bg_sampling.x;
    let margin = p.bg_sampling.y;
    let inv = 1.0 / f32(scale);
    let shift = f32(margin) - 0.5;
    let fy0 = (f32(y) + 0.5) * inv + shift;
    let fy1 = (f32(y + 1u) + 0.5) * inv + shift;
    let y0 = u32(fy0);
    let y1 = u32(fy1);
    // (4 wx) / scale as a shift: integer division is slow on CPU adapters
    let first = bg.offset + y0 * bg.stride + ((wx * 4u) >> (scale >> 1u)) + margin - 1u;
    let r0 = load4(first);
    let r1 = load4(first + bg.stride);
    let r2 = load4(first + 2u * bg.stride);
    let top = mix(r0, r1, fy0 - f32(y0));
    var bottom: vec4<f32>;
    if (y1 == y0) {
        bottom = mix(r0, r1, fy1 - f32(y1));
    } else {
        bottom = mix(r1, r2, fy1 - f32(y1));
    }
    return array<vec4<f32>, 2>(reduced_columns(top, scale), reduced_columns(bottom, scale));
}

fn background_word(p: CompositePlane, wx: u32, y: u32, f: vec4<f32>) -> vec4<f32> {
    if (params.mode.x == 0u) {
        return p.black + (f - p.black) * p.factor;
    }
    let x = wx * 4u;
    return vec4<f32>(bg_sample(p.bg, x, y), bg_sample(p.bg, x + 1u, y),
                     bg_sample(p.bg, x + 2u, y), bg_sample(p.bg, x + 3u, y));
}

// One invocation per packed word of two rows (y, y + 1), over a sheet of all three planes
// whose rows are row pairs.
@compute @workgroup_size(64, 1, 1)
fn composite(@builtin(global_invocation_id) gid: vec3<u32>) {
    let site = sheet_site(
        gid,
        vec2<u32>(params.planes[0].src.stride, (params.planes[0].src.height + 1u) / 2u),
        vec2<u32>(params.planes[1].src.stride, (params.planes[1].src.height + 1u) / 2u),
    );
    if (site.x > 2u) {
        return;
    }
    let p = params.planes[site.x];
    let wx = site.y;
    let y = 2u * site.z;
    let second = y + 1u < p.src.height;
    let at0 = p.src.offset + y * p.src.stride + wx;
    let f0 = unpack4x8unorm(src[at0]) * 255.0;
    var f1 = f0;
    if (second) {
        f1 = unpack4x8unorm(src[at0 + p.src.stride]) * 255.0;
    }
    var bg0: vec4<f32>;
    var bg1: vec4<f32>;
    if (params.mode.x == 2u) {
        let both = reduced_background(p, wx, y);
        bg0 = both[0];
        bg1 = both[1];
    } else {
        bg0 = background_word(p, wx, y, f0);
        bg1 = background_word(p, wx, min(y + 1u, p.src.height - 1u), f1);
    }
    let m0 = word_mask(p, wx, y);
    let out0 = p.dst.offset + y * p.dst.stride + wx;
    dst[out0] = pack4(f0 * m0 + bg0 * (1.0 - m0));
    if (second) {
        let m1 = word_mask(p, wx, y + 1u);
        dst[out0 + p.dst.stride] = pack4(f1 * m1 + bg1 * (1.0 - m1));
    }
}
