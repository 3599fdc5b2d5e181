// Separable Gaussian blur over float planes, reflect-101 borders (OpenCV semantics).
// One dispatch handles up to three planes (global_invocation_id.z), each with its own region
// and kernel, so luma and 4:2:0 chroma blur in one pass.

struct BlurOp {
    src: Plane,
    dst: Plane,
    region: vec4<u32>, // x0, y0, x1, y1 in destination pixels (computed samples only)
    kernel: vec4<u32>, // weight offset, radius, -, -
}

struct BlurParams {
    ops: array<BlurOp, 3>,
}

@group(0) @binding(0) var<uniform> params: BlurParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;

// Each invocation computes four consecutive outputs (along the blur's axis) from a sliding
// window of samples: per tap one sample and one weight load serve all four outputs, a quarter
// of the loads of one output per invocation. Near the borders it falls back to reflect-101.

const OUTPUTS: u32 = 4u;

// Blurs along a line: `first` is the index of the line's sample 0, `step` the distance between
// samples, `n` the line's length; outputs `i0 .. i0 + OUTPUTS` (clipped to `end`) go to
// `out_first + i * out_step`.
fn blur_line(op: BlurOp, first: u32, step: u32, n: i32, i0: u32, end: u32, out_first: u32, out_step: u32) {
    let r = i32(op.kernel.y);
    let k0 = op.kernel.x;
    let start = i32(i0);
    if (start - r >= 0 && start + i32(OUTPUTS) - 1 + r < n) {
        var idx = first + u32(start - r) * step;
        var s0 = src[idx];
        var s1 = src[idx + step];
        var s2 = src[idx + 2u * step];
        idx += 3u * step;
        var acc = vec4<f32>(0.0);
        for (var k = 0u; k <= u32(2 * r); k++) {
            let s3 = src[idx];
            acc += weights[k0 + k] * vec4<f32>(s0, s1, s2, s3);
            s0 = s1;
            s1 = s2;
            s2 = s3;
            idx += step;
        }
        for (var j = 0u; j < OUTPUTS; j++) {
            if (i0 + j < end) {
                dst[out_first + (i0 + j) * out_step] = acc[j];
            }
        }
        return;
    }
    for (var j = 0u; j < OUTPUTS; j++) {
        let i = i0 + j;
        if (i >= end) {
            return;
        }
        var acc = 0.0;
        for (var k = -r; k <= r; k++) {
            let si = u32(reflect101(i32(i) + k, n));
            acc += weights[k0 + u32(k + r)] * src[first + si * step];
        }
        dst[out_first + i * out_step] = acc;
    }
}

// gid.x: group of OUTPUTS columns of the region, gid.y: row of the region.
@compute @workgroup_size(64, 1, 1)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    let x = op.region.x + gid.x * OUTPUTS;
    let y = op.region.y + gid.y;
    if (x >= op.region.z || y >= op.region.w) {
        return;
    }
    blur_line(
        op,
        op.src.offset + y * op.src.stride,
        1u,
        i32(op.src.width),
        x,
        op.region.z,
        op.dst.offset + y * op.dst.stride,
        1u,
    );
}

// gid.x: column of the region, gid.y: group of OUTPUTS rows of the region.
@compute @workgroup_size(64, 1, 1)
fn blur_v(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    let x = op.region.x + gid.x;
    let y = op.region.y + gid.y * OUTPUTS;
    if (x >= op.region.z || y >= op.region.w) {
        return;
    }
    blur_line(
        op,
        op.src.offset + x,
        op.src.stride,
        i32(op.src.height),
        y,
        op.region.w,
        op.dst.offset + x,
        op.dst.stride,
    );
}

// The fast background path's second level (luma only): `[1 3 3 1]/8` prefilter with 2x
// decimation of a float plane. One invocation per destination sample; sample i sits at source
// position 2i + 0.5.
@compute @workgroup_size(64, 1, 1)
fn reduce2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    if (gid.x >= op.dst.width || gid.y >= op.dst.height) {
        return;
    }
    let p = op.src;
    let out = op.dst.offset + gid.y * op.dst.stride + gid.x;
    let w = array<f32, 4>(0.125, 0.375, 0.375, 0.125);
    let x0 = i32(gid.x) * 2 - 1;
    let y0 = i32(gid.y) * 2 - 1;
    var acc = 0.0;
    if (x0 >= 0 && y0 >= 0 && x0 + 3 < i32(p.width) && y0 + 3 < i32(p.height)) {
        // interior (every sample the upsampler reads): no reflection
        var row = p.offset + u32(y0) * p.stride + u32(x0);
        for (var b = 0u; b < 4u; b++) {
            let line = w[0] * src[row] + w[1] * src[row + 1u] + w[2] * src[row + 2u]
                + w[3] * src[row + 3u];
            acc += w[b] * line;
            row += p.stride;
        }
    } else {
        for (var b = 0; b < 4; b++) {
            let row = p.offset + u32(reflect101(y0 + b, i32(p.height))) * p.stride;
            var line = 0.0;
            for (var a = 0; a < 4; a++) {
                line += w[a] * src[row + u32(reflect101(x0 + a, i32(p.width)))];
            }
            acc += w[b] * line;
        }
    }
    dst[out] = acc;
}
