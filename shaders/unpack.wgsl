// Packed 8-bit planes to float planes: at full size (`unpack`) or decimated 2x with a
// [1 3 3 1]/8 prefilter (`downsample2`, the first stage of the fast background blur).

struct UnpackOp {
    src: Plane,         // packed
    dst: Plane,         // float
    // downsample2: x: destination samples before the source's first pixel;
    // y: 1 when `dst` is the plane's final level (written to `final_dst`)
    margin: vec4<u32>,
}

struct UnpackParams {
    ops: array<UnpackOp, 3>,
}

@group(0) @binding(0) var<uniform> params: UnpackParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// downsample2 only: planes already at their final level (chroma) go straight to the buffer
// the background blur reads, skipping a copy pass
@group(0) @binding(3) var<storage, read_write> final_dst: array<f32>;

// One invocation per packed word.
@compute @workgroup_size(64, 1, 1)
fn unpack(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    if (gid.x >= op.src.stride || gid.y >= op.src.height) {
        return;
    }
    let word = src[op.src.offset + gid.y * op.src.stride + gid.x];
    let base = op.dst.offset + gid.y * op.dst.stride;
    for (var k = 0u; k < 4u; k++) {
        let x = gid.x * 4u + k;
        if (x < op.src.width) {
            dst[base + x] = byte_at(word, k);
        }
    }
}

fn sample_reflect(p: Plane, x: i32, y: i32) -> f32 {
    let sx = u32(reflect101(x, i32(p.width)));
    let sy = u32(reflect101(y, i32(p.height)));
    return byte_at(src[p.offset + sy * p.stride + (sx >> 2u)], sx & 3u);
}

// Destination samples each `downsample2` invocation computes (horizontal neighbours).
const DOWNSAMPLE_OUTPUTS: u32 = 2u;

// Two horizontally adjacent half-resolution samples per invocation; sample i sits at source
// position 2 (i - margin) + 0.5, so the plane extends `margin` samples past each edge
// (reflect-101). The pair's 4-tap footprints overlap: 6 source columns serve both.
@compute @workgroup_size(64, 1, 1)
fn downsample2(@builtin(global_invocation_id) gid: vec3<u32>) {
    // one invocation per pair of destination samples, over a sheet of all three planes
    let site = sheet_site(
        gid,
        vec2<u32>((params.ops[0].dst.width + 1u) / 2u, params.ops[0].dst.height),
        vec2<u32>((params.ops[1].dst.width + 1u) / 2u, params.ops[1].dst.height),
    );
    if (site.x > 2u) {
        return;
    }
    let op = params.ops[site.x];
    let gx = site.y * DOWNSAMPLE_OUTPUTS;
    let gy = site.z;
    let w = array<f32, 4>(0.125, 0.375, 0.375, 0.125);
    let m = i32(op.margin.x);
    let x0 = (i32(gx) - m) * 2 - 1;
    let y0 = (i32(gy) - m) * 2 - 1;
    let p = op.src;
    var acc = vec2<f32>(0.0);
    if (x0 >= 0 && y0 >= 0 && x0 + 5 < i32(p.width) && y0 + 3 < i32(p.height)) {
        // interior: no reflection; the 6 columns span at most three packed words
        let first = u32(x0);
        let shift = first & 3u;
        for (var b = 0u; b < 4u; b++) {
            let row = p.offset + (u32(y0) + b) * p.stride;
            let base = row + (first >> 2u);
            let last = row + p.stride - 1u;
            let words = array<u32, 3>(src[base], src[min(base + 1u, last)], src[min(base + 2u, last)]);
            var c: array<f32, 6>;
            for (var a = 0u; a < 6u; a++) {
                let q = shift + a;
                c[a] = byte_at(words[q >> 2u], q & 3u);
            }
            let line = vec2<f32>(
                w[0] * c[0] + w[1] * c[1] + w[2] * c[2] + w[3] * c[3],
                w[0] * c[2] + w[1] * c[3] + w[2] * c[4] + w[3] * c[5],
            );
            acc += w[b] * line;
        }
    } else {
        for (var b = 0; b < 4; b++) {
            var line = vec2<f32>(0.0);
            for (var a = 0; a < 4; a++) {
                line.x += w[a] * sample_reflect(p, x0 + a, y0 + b);
                line.y += w[a] * sample_reflect(p, x0 + 2 + a, y0 + b);
            }
            acc += w[b] * line;
        }
    }
    let out = op.dst.offset + gy * op.dst.stride + gx;
    let pair = gx + 1u < op.dst.width;
    if (op.margin.y == 0u) {
        dst[out] = acc.x;
        if (pair) {
            dst[out + 1u] = acc.y;
        }
    } else {
        final_dst[out] = acc.x;
        if (pair) {
            final_dst[out + 1u] = acc.y;
        }
    }
}
