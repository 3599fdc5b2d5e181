// HDR to SDR (contract §17), the first pass an HDR source's frames take: a planar 10-bit
// 4:2:0 BT.2020 frame (yuv420p10le samples, two to a word) to the engine's packed 8-bit
// BT.709 limited frame. Per pixel: its chroma bilinear at the pixel (centre-sited), R'G'B',
// linear light in cd/m² (PQ's EOTF; HLG's inverse OETF and the BT.2100 OOTF for a 1000 cd/m²
// display), BT.2020 -> 709, the largest component through the BT.2390 EETF (the Hermite
// spline in PQ space, knee offset 1.0) from the source peak to SDR white, negative components
// pulled toward the luminance, / white, clamped, the inverse BT.1886 (power 1/2.4); then the
// conversion every frame gets (luma per pixel, chroma from the 2x2 mean of R'G'B'). One
// invocation per 8 x 2 block writes whole words. CPU reference: src/reference/hdr.rs.

struct ToneMap {
    // width, height, transfer (0 PQ, 1 HLG), chroma width
    size: vec4<u32>,
    // the source planes' first samples: y, u, v; chroma height
    src: vec4<u32>,
    // source peak, SDR white (cd/m²), -, -
    levels: vec4<f32>,
    planes: array<Plane, 3>,
    // R'G'B' (0-255) to YUV (0-255)
    rows: array<vec4<f32>, 3>,
};

@group(0) @binding(0) var<uniform> tm: ToneMap;
@group(0) @binding(1) var<storage, read> tm_src: array<u32>;
@group(0) @binding(2) var<storage, read_write> tm_out: array<u32>;

const PQ_M1: f32 = 0.1593017578125;
const PQ_M2: f32 = 78.84375;
const PQ_C1: f32 = 0.8359375;
const PQ_C2: f32 = 18.8515625;
const PQ_C3: f32 = 18.6875;
const HLG_A: f32 = 0.17883277;
const HLG_B: f32 = 0.28466892;
const HLG_C: f32 = 0.55991073;

fn tm_sample(i: u32) -> f32 {
    return f32((tm_src[i >> 1u] >> (16u * (i & 1u))) & 0xffffu);
}

fn pq_eotf(e: f32) -> f32 {
    let p = pow(max(e, 0.0), 1.0 / PQ_M2);
    return 10000.0 * pow(max(p - PQ_C1, 0.0) / (PQ_C2 - PQ_C3 * p), 1.0 / PQ_M1);
}

fn pq_inverse(l: f32) -> f32 {
    let y = pow(max(l, 0.0) / 10000.0, PQ_M1);
    return pow((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y), PQ_M2);
}

fn hlg_inverse_oetf(e: f32) -> f32 {
    if (e <= 0.5) {
        return e * e / 3.0;
    }
    return exp((e - HLG_C) / HLG_A) / 12.0 + HLG_B / 12.0;
}

// The BT.2390 EETF on luminance l (cd/m²) from `peak` to `white`.
fn tm_eetf(l: f32, peak: f32, white: f32) -> f32 {
    if (l <= 0.0) {
        return 0.0;
    }
    if (peak <= white) {
        return min(l, white);
    }
    let src = pq_inverse(peak);
    let max_lum = pq_inverse(white) / src;
    let ks = 2.0 * max_lum - 1.0;
    let x = min(pq_inverse(l) / src, 1.0);
    if (x < ks) {
        return l;
    }
    let t = (x - ks) / (1.0 - ks);
    let t2 = t * t;
    let t3 = t2 * t;
    let y = (2.0 * t3 - 3.0 * t2 + 1.0) * ks + (t3 - 2.0 * t2 + t) * (1.0 - ks)
        + (-2.0 * t3 + 3.0 * t2) * max_lum;
    return pq_eotf(y * src);
}

fn tm_chroma(first: u32, x: u32, y: u32) -> f32 {
    let cw = tm.size.w;
    let ch = tm.src.w;
    let fx = (f32(x) + 0.5) * 0.5 - 0.5;
    let fy = (f32(y) + 0.5) * 0.5 - 0.5;
    let x0 = floor(fx);
    let y0 = floor(fy);
    let tx = fx - x0;
    let ty = fy - y0;
    let xa = min(u32(max(x0, 0.0)), cw - 1u);
    let xb = min(u32(max(x0 + 1.0, 0.0)), cw - 1u);
    let ya = min(u32(max(y0, 0.0)), ch - 1u);
    let yb = min(u32(max(y0 + 1.0, 0.0)), ch - 1u);
    let top = tm_sample(first + ya * cw + xa) * (1.0 - tx) + tm_sample(first + ya * cw + xb) * tx;
    let bottom = tm_sample(first + yb * cw + xa) * (1.0 - tx) + tm_sample(first + yb * cw + xb) * tx;
    return top * (1.0 - ty) + bottom * ty;
}

// Pixel (x, y) as SDR R'G'B' 0-255.
fn tm_px(x: u32, y: u32) -> vec3<f32> {
    let yy = (tm_sample(tm.src.x + y * tm.size.x + x) - 64.0) / 876.0;
    let pb = (tm_chroma(tm.src.y, x, y) - 512.0) / 896.0;
    let pr = (tm_chroma(tm.src.z, x, y) - 512.0) / 896.0;
    let r = yy + 1.4746 * pr;
    let b = yy + 1.8814 * pb;
    let g = (yy - 0.2627 * r - 0.0593 * b) / 0.6780;
    let e = clamp(vec3<f32>(r, g, b), vec3<f32>(0.0), vec3<f32>(1.0));
    var lin: vec3<f32>;
    if (tm.size.z == 0u) {
        lin = vec3<f32>(pq_eotf(e.x), pq_eotf(e.y), pq_eotf(e.z));
    } else {
        let s = vec3<f32>(hlg_inverse_oetf(e.x), hlg_inverse_oetf(e.y), hlg_inverse_oetf(e.z));
        let ys = dot(vec3<f32>(0.2627, 0.6780, 0.0593), s);
        var gain = 0.0;
        if (ys > 0.0) {
            gain = 1000.0 * pow(ys, 0.2);
        }
        lin = s * gain;
    }
    var c = vec3<f32>(
        dot(vec3<f32>(1.660491, -0.587641, -0.072850), lin),
        dot(vec3<f32>(-0.124550, 1.132900, -0.008349), lin),
        dot(vec3<f32>(-0.018151, -0.100579, 1.118730), lin),
    );
    let peak = tm.levels.x;
    let white = tm.levels.y;
    let m = max(c.x, max(c.y, c.z));
    if (m > 0.0) {
        c = c * (tm_eetf(m, peak, white) / m);
    } else {
        c = vec3<f32>(0.0);
    }
    let lum = dot(vec3<f32>(0.2126, 0.7152, 0.0722), c);
    let low = min(c.x, min(c.y, c.z));
    if (low < 0.0) {
        if (lum > 0.0) {
            c = vec3<f32>(lum) + (c - vec3<f32>(lum)) * (lum / (lum - low));
        } else {
            c = vec3<f32>(0.0);
        }
    }
    let v = clamp(c / white, vec3<f32>(0.0), vec3<f32>(1.0));
    return 255.0 * pow(v, vec3<f32>(1.0 / 2.4));
}

@compute @workgroup_size(8, 8, 1)
fn tonemap(@builtin(global_invocation_id) gid: vec3<u32>) {
    let w = tm.size.x;
    let h = tm.size.y;
    let x0 = gid.x * 8u;
    let y0 = gid.y * 2u;
    if (x0 >= w || y0 >= h) {
        return;
    }
    var top: array<vec3<f32>, 8>;
    var bottom: array<vec3<f32>, 8>;
    let y1 = min(y0 + 1u, h - 1u);
    for (var i = 0u; i < 8u; i++) {
        let x = min(x0 + i, w - 1u);
        top[i] = tm_px(x, y0);
        bottom[i] = tm_px(x, y1);
    }
    let blk = pack_block420(top, bottom, x0, w, tm.planes[1].width, tm.rows);
    let ly = tm.planes[0];
    for (var k = 0u; k < 2u; k++) {
        let word = x0 / 4u + k;
        if (word >= ly.stride) {
            break;
        }
        tm_out[ly.offset + y0 * ly.stride + word] = blk.luma[2u * k];
        if (y0 + 1u < h) {
            tm_out[ly.offset + (y0 + 1u) * ly.stride + word] = blk.luma[2u * k + 1u];
        }
    }
    for (var plane = 1u; plane < 3u; plane++) {
        let p = tm.planes[plane];
        tm_out[p.offset + gid.y * p.stride + gid.x] = blk.chroma[plane - 1u];
    }
}
