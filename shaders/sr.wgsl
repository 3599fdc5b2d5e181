// The AI x4 upscaler's own kernels (SRVGGNetCompact), compiled after nn.wgsl, whose
// convolution runs every layer but the last (src/nn/srvgg.rs wires them). Activations are
// nn.wgsl's bordered channels-last tensors; a crop is processed tile by tile (each tile reads
// its core plus the network's receptive radius of overlap):
//   sr_pack_yuv  the tile's region of a packed YUV 4:2:0 frame to RGB 0-1 (rounded to 8 bits,
//                as the frame's pixels), channels-last with its zero border
//   sr_pack_rgb  the same from planar RGB floats (tests and benches)
//   sr_conv_shuffle  the last convolution (nn_accumulate over nn.wgsl's bindings) fused with
//                the pixel shuffle and the input upsampled by nearest neighbour, for the
//                tile's core only, into the whole crop's planar RGB at scale x
//   sr_to_yuv    that RGB, clamped to 0-1, to a packed YUV 4:2:0 frame (2x2 mean chroma)
//   sr_conv_to_yuv  for x4 networks from YUV (the engine's path): the last convolution, the
//                shuffle, the residual and the conversion to packed YUV in one kernel

const SR_PX: u32 = 4u;

// Output channel 4·og + j (j 0-7) of pixel x0 + p of an accumulation.
fn sr_acc_channel(r: NnAcc, p: u32, j: u32) -> f32 {
    var a: vec4<f32>;
    var b: vec4<f32>;
    switch p {
        case 0u: {
            a = r.a0;
            b = r.b0;
        }
        case 1u: {
            a = r.a1;
            b = r.b1;
        }
        case 2u: {
            a = r.a2;
            b = r.b2;
        }
        default: {
            a = r.a3;
            b = r.b3;
        }
    }
    return select(b[j & 3u], a[j & 3u], j < 4u);
}

struct SrShuffle {
    // the tile's read size (its activations' size without the border)
    width: u32,
    height: u32,
    scale: u32,
    // channels per pixel of the last convolution's output
    stride: u32,
    // the tile's core inside its read region: x, y, w, h in input pixels
    core: vec4<u32>,
    // where the core's first output pixel lands in the crop's output, and that output's size
    out: vec4<u32>,
};

@group(0) @binding(4) var<uniform> sr_sh: SrShuffle;
@group(0) @binding(5) var<storage, read> sr_input: array<act>;
@group(0) @binding(6) var<storage, read_write> sr_rgb: array<f32>;

// The last convolution fused with the pixel shuffle and the x`scale` residual (the input
// upsampled by nearest neighbour), for the tile's core only: each invocation computes
// SR_PX pixels x 8 of the 3·scale² output channels, as sr_conv, and writes each channel
// straight to its sub-pixel of the whole crop's planar RGB.
@compute @workgroup_size(64, 1, 1)
fn sr_conv_shuffle(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x0 = sr_sh.core.x + gid.x * SR_PX;
    let y = sr_sh.core.y + gid.y;
    let og = gid.z * 2u;
    if (x0 >= sr_sh.core.x + sr_sh.core.z || y >= sr_sh.core.y + sr_sh.core.w) {
        return;
    }
    let acc = nn_accumulate(x0, y, og, 3u);
    let s = sr_sh.scale;
    let plane = sr_sh.out.z * sr_sh.out.w;
    let channels = 3u * s * s;
    for (var p = 0u; p < SR_PX; p++) {
        let x = x0 + p;
        if (x >= sr_sh.core.x + sr_sh.core.z) {
            break;
        }
        let cell = (y + 1u) * (nn_cv.src.x + 2u) + x + 1u;
        for (var j = 0u; j < 8u; j++) {
            let ch = og * 4u + j;
            if (ch >= channels) {
                break;
            }
            let v = sr_acc_channel(acc, p, j);
            let c = ch / (s * s);
            let k = ch % (s * s);
            let ox = sr_sh.out.x + (x - sr_sh.core.x) * s + k % s;
            let oy = sr_sh.out.y + (y - sr_sh.core.y) * s + k / s;
            sr_rgb[c * plane + oy * sr_sh.out.z + ox] = v + f32(sr_input[cell * 3u + c]);
        }
    }
}

struct SrFuseYuv {
    // RGB (0-255) to YUV (0-255)
    rows: array<vec4<f32>, 3>,
    // the crop's x4 packed YUV 4:2:0 planes
    planes: array<Plane, 3>,
};

@group(0) @binding(7) var<uniform> sr_fy: SrFuseYuv;
@group(0) @binding(8) var<storage, read_write> sr_yuv_out: array<u32>;

const SR_FY_PX: u32 = 2u;
const SR_FY_VECS: u32 = 12u; // 48 output channels (3 colours x 4 x 4 sub-pixels)

// SR_FY_PX x SR_FY_VECS accumulators (function locals of sr_conv_to_yuv: as private arrays
// lavapipe ran slower)
alias FyAcc = array<vec4<f32>, 24>;

fn fy_channel(acc: ptr<function, FyAcc>, p: u32, ch: u32) -> f32 {
    return (*acc)[p * SR_FY_VECS + ch / 4u][ch % 4u];
}

// RGB 0-255 of sub-pixel (sx, sy) of input pixel p: the shuffled channel plus the input
// (the x4 residual), clamped as sr_to_yuv does.
fn fy_rgb(acc: ptr<function, FyAcc>, p: u32, sx: u32, sy: u32, res: vec3<f32>) -> vec3<f32> {
    let k = sy * 4u + sx;
    let v = vec3<f32>(
        fy_channel(acc, p, k),
        fy_channel(acc, p, 16u + k),
        fy_channel(acc, p, 32u + k),
    ) + res;
    return clamp(v, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0;
}

// The last convolution (48 outputs) fused with the x4 pixel shuffle, the residual and the
// conversion to the crop's packed YUV 4:2:0 at x4, for the tile's core only (the engine's
// path; sr_conv_shuffle + sr_to_yuv do the same in two steps for other scales). Each
// invocation computes all 48 channels of SR_FY_PX = 2 neighbouring pixels of a row: that
// is 8x4 output pixels, whole luma words (4 pixels) and whole chroma words (4 samples, each
// the mean of 2x2 pixels), so no word is shared between invocations. The core's x offset in
// the crop is even (tiles are multiples of 4 wide), which keeps the words aligned.
@compute @workgroup_size(64, 1, 1)
fn sr_conv_to_yuv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x0 = sr_sh.core.x + gid.x * SR_FY_PX;
    let y = sr_sh.core.y + gid.y;
    let xe = sr_sh.core.x + sr_sh.core.z;
    if (x0 >= xe || y >= sr_sh.core.y + sr_sh.core.w) {
        return;
    }
    let row = nn_cv.src.x + 2u;
    let cs = nn_cv.src.z;
    let ovec = nn_ovec();
    var fy_acc: FyAcc;
    for (var g = 0u; g < SR_FY_VECS; g++) {
        let b = vec4<f32>(nn_params[nn_cv.params.y + g]);
        fy_acc[g] = b;
        fy_acc[SR_FY_VECS + g] = b;
    }
    for (var ky = 0u; ky < 3u; ky++) {
        for (var kx = 0u; kx < 3u; kx++) {
            let base = ((y + ky) * row + x0 + kx) * cs;
            var w = nn_cv.params.x + ((ky * 3u + kx) * nn_cv.shape.x) * ovec;
            for (var i = 0u; i < nn_cv.shape.x; i++) {
                let a0 = f32(nn_src[base + i]);
                let a1 = f32(nn_src[base + cs + i]);
                for (var g = 0u; g < SR_FY_VECS; g++) {
                    let wv = vec4<f32>(nn_params[w + g]);
                    fy_acc[g] += a0 * wv;
                    fy_acc[SR_FY_VECS + g] += a1 * wv;
                }
                w += ovec;
            }
        }
    }
    // output pixel (ox, oy) of the first input pixel's 4x4 block
    let ox = sr_sh.out.x + (x0 - sr_sh.core.x) * 4u;
    let oy = sr_sh.out.y + (y - sr_sh.core.y) * 4u;
    let n = min(SR_FY_PX, xe - x0);
    var res: array<vec3<f32>, 2>;
    for (var p = 0u; p < n; p++) {
        let cell = (y + 1u) * row + x0 + p + 1u;
        res[p] = vec3<f32>(
            f32(sr_input[cell * 3u]),
            f32(sr_input[cell * 3u + 1u]),
            f32(sr_input[cell * 3u + 2u]),
        );
    }
    let ly = sr_fy.planes[0];
    for (var p = 0u; p < n; p++) {
        for (var sy = 0u; sy < 4u; sy++) {
            var yv = vec4<f32>(0.0);
            for (var sx = 0u; sx < 4u; sx++) {
                let rgb = fy_rgb(&fy_acc, p, sx, sy, res[p]);
                yv[sx] = dot(sr_fy.rows[0].xyz, rgb) + sr_fy.rows[0].w;
            }
            sr_yuv_out[ly.offset + (oy + sy) * ly.stride + (ox >> 2u) + p] = pack4(yv);
        }
    }
    for (var plane = 1u; plane < 3u; plane++) {
        let cp = sr_fy.planes[plane];
        let r = sr_fy.rows[plane];
        for (var cy = 0u; cy < 2u; cy++) {
            var cv = vec4<f32>(0.0);
            for (var p = 0u; p < n; p++) {
                for (var cx = 0u; cx < 2u; cx++) {
                    let rgb = 0.25 * (fy_rgb(&fy_acc, p, 2u * cx, 2u * cy, res[p])
                        + fy_rgb(&fy_acc, p, 2u * cx + 1u, 2u * cy, res[p])
                        + fy_rgb(&fy_acc, p, 2u * cx, 2u * cy + 1u, res[p])
                        + fy_rgb(&fy_acc, p, 2u * cx + 1u, 2u * cy + 1u, res[p]));
                    cv[p * 2u + cx] = dot(r.xyz, rgb) + r.w;
                }
            }
            sr_yuv_out[cp.offset + (oy / 2u + cy) * cp.stride + (ox >> 3u)] = pack4(cv);
        }
    }
}

struct SrPack {
    // the source's packed YUV planes (sr_pack_yuv)
    planes: array<Plane, 3>,
    // YUV (0-255) to RGB (0-255)
    rows: array<vec4<f32>, 3>,
    // the region read: x, y, w, h in source pixels
    region: vec4<u32>,
    // the source's size (sr_pack_rgb)
    size: vec4<u32>,
};

@group(0) @binding(0) var<uniform> sr_pk: SrPack;
@group(0) @binding(1) var<storage, read> sr_yuv: array<u32>;
@group(0) @binding(1) var<storage, read> sr_planar: array<f32>;
@group(0) @binding(2) var<storage, read_write> sr_packed: array<act>;

// Where bordered cell `gid` of the region reads: (x, y, 1) in source pixels, or (0, 0, 0)
// for a border cell (and (0, 0, 2) past the grid).
fn sr_pack_site(gid: vec3<u32>) -> vec3<u32> {
    let rw = sr_pk.region.z;
    let rh = sr_pk.region.w;
    if (gid.x >= rw + 2u || gid.y >= rh + 2u) {
        return vec3<u32>(0u, 0u, 2u);
    }
    if (gid.x == 0u || gid.y == 0u || gid.x > rw || gid.y > rh) {
        return vec3<u32>(0u);
    }
    return vec3<u32>(sr_pk.region.x + gid.x - 1u, sr_pk.region.y + gid.y - 1u, 1u);
}

fn sr_pack_store(gid: vec3<u32>, rgb: vec3<f32>) {
    let at = (gid.y * (sr_pk.region.z + 2u) + gid.x) * 3u;
    sr_packed[at] = act(rgb.x);
    sr_packed[at + 1u] = act(rgb.y);
    sr_packed[at + 2u] = act(rgb.z);
}

fn sr_yuv_at(p: Plane, x: u32, y: u32) -> f32 {
    return byte_at(sr_yuv[p.offset + y * p.stride + (x >> 2u)], x & 3u);
}

// Centre-sited chroma, bilinear at luma pixel (x, y) (as convert.wgsl's yuv_to_rgba).
fn sr_chroma(p: Plane, x: u32, y: u32) -> f32 {
    let fx = (f32(x) + 0.5) * 0.5 - 0.5;
    let fy = (f32(y) + 0.5) * 0.5 - 0.5;
    let x0 = floor(fx);
    let y0 = floor(fy);
    let tx = fx - x0;
    let ty = fy - y0;
    let xa = min(u32(max(x0, 0.0)), p.width - 1u);
    let ya = min(u32(max(y0, 0.0)), p.height - 1u);
    let xb = min(u32(max(x0 + 1.0, 0.0)), p.width - 1u);
    let yb = min(u32(max(y0 + 1.0, 0.0)), p.height - 1u);
    let top = sr_yuv_at(p, xa, ya) * (1.0 - tx) + sr_yuv_at(p, xb, ya) * tx;
    let bottom = sr_yuv_at(p, xa, yb) * (1.0 - tx) + sr_yuv_at(p, xb, yb) * tx;
    return top * (1.0 - ty) + bottom * ty;
}

@compute @workgroup_size(64, 1, 1)
fn sr_pack_yuv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let site = sr_pack_site(gid);
    if (site.z == 2u) {
        return;
    }
    var rgb = vec3<f32>(0.0);
    if (site.z == 1u) {
        let yuv = vec3<f32>(
            sr_yuv_at(sr_pk.planes[0], site.x, site.y),
            sr_chroma(sr_pk.planes[1], site.x, site.y),
            sr_chroma(sr_pk.planes[2], site.x, site.y),
        );
        let v = vec3<f32>(
            dot(sr_pk.rows[0].xyz, yuv) + sr_pk.rows[0].w,
            dot(sr_pk.rows[1].xyz, yuv) + sr_pk.rows[1].w,
            dot(sr_pk.rows[2].xyz, yuv) + sr_pk.rows[2].w,
        );
        rgb = clamp(round(v), vec3<f32>(0.0), vec3<f32>(255.0)) / 255.0;
    }
    sr_pack_store(gid, rgb);
}

@compute @workgroup_size(64, 1, 1)
fn sr_pack_rgb(@builtin(global_invocation_id) gid: vec3<u32>) {
    let site = sr_pack_site(gid);
    if (site.z == 2u) {
        return;
    }
    var rgb = vec3<f32>(0.0);
    if (site.z == 1u) {
        let plane = sr_pk.size.x * sr_pk.size.y;
        let at = site.y * sr_pk.size.x + site.x;
        rgb = vec3<f32>(sr_planar[at], sr_planar[plane + at], sr_planar[2u * plane + at]);
    }
    sr_pack_store(gid, rgb);
}

struct SrToYuv {
    // RGB (0-255) to YUV (0-255)
    rows: array<vec4<f32>, 3>,
    planes: array<Plane, 3>,
    // width, height, -, -
    size: vec4<u32>,
};

@group(0) @binding(0) var<uniform> sr_ty: SrToYuv;
@group(0) @binding(1) var<storage, read> sr_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> sr_frame: array<u32>;

fn sr_up_at(x: u32, y: u32) -> vec3<f32> {
    let w = sr_ty.size.x;
    let at = min(y, sr_ty.size.y - 1u) * w + min(x, w - 1u);
    let plane = w * sr_ty.size.y;
    let v = vec3<f32>(sr_up[at], sr_up[plane + at], sr_up[2u * plane + at]);
    return clamp(v, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0;
}

// One invocation per packed output word of plane z.
@compute @workgroup_size(64, 1, 1)
fn sr_to_yuv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = sr_ty.planes[gid.z];
    if (gid.x >= p.stride || gid.y >= p.height) {
        return;
    }
    let row = sr_ty.rows[gid.z];
    var out = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let x = gid.x * 4u + k;
        if (x >= p.width) {
            break;
        }
        var rgb: vec3<f32>;
        if (gid.z == 0u) {
            rgb = sr_up_at(x, gid.y);
        } else {
            let x0 = 2u * x;
            let y0 = 2u * gid.y;
            rgb = 0.25 * (sr_up_at(x0, y0) + sr_up_at(x0 + 1u, y0) + sr_up_at(x0, y0 + 1u)
                + sr_up_at(x0 + 1u, y0 + 1u));
        }
        out[k] = dot(row.xyz, rgb) + row.w;
    }
    sr_frame[p.offset + gid.y * p.stride + gid.x] = pack4(out);
}
