// result = frame * mask + background * (1 - mask), per plane, four samples per invocation.
// Background: mode 0 spotlight (frame scaled by `factor` about the plane's black level),
// mode 1 a blurred float plane of the same size, mode 2 a blurred half-size float plane
// sampled bilinearly (the fast path). Chroma samples see the mean of their 2x2 luma mask.

struct CompositePlane {
    src: Plane,       // packed frame
    dst: Plane,       // packed result
    bg: Plane,        // float background (modes 1, 2)
    black: f32,
    factor: f32,
    chroma: u32,      // 1 for the 4:2:0 chroma planes
    _pad: u32,
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

fn bg_sample(p: Plane, x: u32, y: u32) -> f32 {
    return background[p.offset + y * p.stride + x];
}

// Bilinear sample of the half-size plane at full-size pixel (x, y): half-size sample i sits
// at full-size position 2i + 0.5.
fn bg_half(p: Plane, x: u32, y: u32) -> f32 {
    let fx = clamp(f32(x) * 0.5 - 0.25, 0.0, f32(p.width - 1u));
    let fy = clamp(f32(y) * 0.5 - 0.25, 0.0, f32(p.height - 1u));
    let x0 = u32(fx);
    let y0 = u32(fy);
    let x1 = min(x0 + 1u, p.width - 1u);
    let y1 = min(y0 + 1u, p.height - 1u);
    let tx = fx - f32(x0);
    let ty = fy - f32(y0);
    let top = mix(bg_sample(p, x0, y0), bg_sample(p, x1, y0), tx);
    let bottom = mix(bg_sample(p, x0, y1), bg_sample(p, x1, y1), tx);
    return mix(top, bottom, ty);
}

@compute @workgroup_size(64, 1, 1)
fn composite(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = params.planes[gid.z];
    if (gid.x >= p.src.stride || gid.y >= p.src.height) {
        return;
    }
    let y = gid.y;
    let word = src[p.src.offset + y * p.src.stride + gid.x];
    let mode = params.mode.x;
    var out = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let x = gid.x * 4u + k;
        if (x >= p.src.width) {
            break;
        }
        let f = byte_at(word, k);
        let m = mask_at(p, x, y);
        var bg: f32;
        if (mode == 0u) {
            bg = p.black + (f - p.black) * p.factor;
        } else if (mode == 1u) {
            bg = bg_sample(p.bg, x, y);
        } else {
            bg = bg_half(p.bg, x, y);
        }
        out[k] = f * m + bg * (1.0 - m);
    }
    dst[p.dst.offset + y * p.dst.stride + gid.x] = pack4(out);
}
