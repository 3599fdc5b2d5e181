// Packed 8-bit planes to float planes: at full size (`unpack`) or decimated 2x with a
// [1 3 3 1]/8 prefilter (`downsample2`, the first stage of the fast background blur).

struct UnpackOp {
    src: Plane,         // packed
    dst: Plane,         // float
    margin: vec4<u32>,  // downsample2: destination samples before the source's first pixel
}

struct UnpackParams {
    ops: array<UnpackOp, 3>,
}

@group(0) @binding(0) var<uniform> params: UnpackParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

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

// One invocation per half-resolution sample; sample i sits at source position
// 2 (i - margin) + 0.5, so the plane extends `margin` samples past each edge (reflect-101).
@compute @workgroup_size(64, 1, 1)
fn downsample2(@builtin(global_invocation_id) gid: vec3<u32>) {
    // one invocation per destination sample, over a sheet of all three planes
    let site = sheet_site(
        gid,
        vec2<u32>(params.ops[0].dst.width, params.ops[0].dst.height),
        vec2<u32>(params.ops[1].dst.width, params.ops[1].dst.height),
    );
    if (site.x > 2u) {
        return;
    }
    let op = params.ops[site.x];
    let gx = site.y;
    let gy = site.z;
    let w = array<f32, 4>(0.125, 0.375, 0.375, 0.125);
    let m = i32(op.margin.x);
    let x0 = (i32(gx) - m) * 2 - 1;
    let y0 = (i32(gy) - m) * 2 - 1;
    let p = op.src;
    var acc = 0.0;
    if (x0 >= 0 && y0 >= 0 && x0 + 3 < i32(p.width) && y0 + 3 < i32(p.height)) {
        // interior: no reflection; the 4 columns span at most two packed words
        let first = u32(x0);
        for (var b = 0u; b < 4u; b++) {
            let row = p.offset + (u32(y0) + b) * p.stride;
            let lo = src[row + (first >> 2u)];
            let hi = src[min(row + (first >> 2u) + 1u, row + p.stride - 1u)];
            var line = 0.0;
            for (var a = 0u; a < 4u; a++) {
                let sx = first + a;
                var word = lo;
                if ((sx >> 2u) != (first >> 2u)) {
                    word = hi;
                }
                line += w[a] * byte_at(word, sx & 3u);
            }
            acc += w[b] * line;
        }
    } else {
        for (var b = 0; b < 4; b++) {
            var row = 0.0;
            for (var a = 0; a < 4; a++) {
                row += w[a] * sample_reflect(p, x0 + a, y0 + b);
            }
            acc += w[b] * row;
        }
    }
    dst[op.dst.offset + gy * op.dst.stride + gx] = acc;
}
