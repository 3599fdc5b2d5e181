// result = frame * mask + background * (1 - mask), per plane, four samples per invocation.
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

// Mode 2: the reduced background bilinearly upsampled at the word's four samples. Reduced
// sample i sits at plane position scale * (i - margin) + (scale - 1) / 2; the margin keeps
// every tap inside the plane, and for scale 2 or 4 the word's samples fall at fixed fractions
// of four consecutive reduced columns starting at `4 wx / scale + margin - 1`.
fn reduced_background(p: CompositePlane, wx: u32, y: u32) -> vec4<f32> {
    let bg = p.bg;
    let scale = p.bg_sampling.x;
    let margin = p.bg_sampling.y;
    let fy = (f32(y) + 0.5) * (1.0 / f32(scale)) + (f32(margin) - 0.5);
    let y0 = u32(fy);
    let ty = fy - f32(y0);
    // (4 wx) / scale as a shift: integer division is slow on CPU adapters
    let top = bg.offset + y0 * bg.stride + ((wx * 4u) >> (scale >> 1u)) + margin - 1u;
    let bottom = top + bg.stride;
    let c = mix(
        vec4<f32>(background[top], background[top + 1u], background[top + 2u], background[top + 3u]),
        vec4<f32>(background[bottom], background[bottom + 1u], background[bottom + 2u], background[bottom + 3u]),
        ty,
    );
    if (scale == 4u) {
        return vec4<f32>(mix(c.x, c.y, 0.625), mix(c.x, c.y, 0.875), mix(c.y, c.z, 0.125), mix(c.y, c.z, 0.375));
    }
    return vec4<f32>(mix(c.x, c.y, 0.75), mix(c.y, c.z, 0.25), mix(c.y, c.z, 0.75), mix(c.z, c.w, 0.25));
}

@compute @workgroup_size(64, 1, 1)
fn composite(@builtin(global_invocation_id) gid: vec3<u32>) {
    // one invocation per packed word, over a sheet of all three planes
    let site = sheet_site(
        gid,
        vec2<u32>(params.planes[0].src.stride, params.planes[0].src.height),
        vec2<u32>(params.planes[1].src.stride, params.planes[1].src.height),
    );
    if (site.x > 2u) {
        return;
    }
    let p = params.planes[site.x];
    let wx = site.y;
    let y = site.z;
    let f = unpack4x8unorm(src[p.src.offset + y * p.src.stride + wx]) * 255.0;
    let m = word_mask(p, wx, y);
    var bg: vec4<f32>;
    let mode = params.mode.x;
    if (mode == 2u) {
        bg = reduced_background(p, wx, y);
    } else if (mode == 0u) {
        bg = p.black + (f - p.black) * p.factor;
    } else {
        let x = wx * 4u;
        bg = vec4<f32>(bg_sample(p.bg, x, y), bg_sample(p.bg, x + 1u, y),
                       bg_sample(p.bg, x + 2u, y), bg_sample(p.bg, x + 3u, y));
    }
    dst[p.dst.offset + y * p.dst.stride + wx] = pack4(f * m + bg * (1.0 - m));
}
