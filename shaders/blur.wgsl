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

@compute @workgroup_size(64, 1, 1)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    let x = op.region.x + gid.x;
    let y = op.region.y + gid.y;
    if (x >= op.region.z || y >= op.region.w) {
        return;
    }
    let n = i32(op.src.width);
    let r = i32(op.kernel.y);
    let k0 = op.kernel.x;
    let row = op.src.offset + y * op.src.stride;
    let xi = i32(x);
    var acc = 0.0;
    if (xi - r >= 0 && xi + r < n) {
        let base = row + x - u32(r);
        for (var k = 0u; k <= u32(2 * r); k++) {
            acc += weights[k0 + k] * src[base + k];
        }
    } else {
        for (var k = -r; k <= r; k++) {
            acc += weights[k0 + u32(k + r)] * src[row + u32(reflect101(xi + k, n))];
        }
    }
    dst[op.dst.offset + y * op.dst.stride + x] = acc;
}

@compute @workgroup_size(64, 1, 1)
fn blur_v(@builtin(global_invocation_id) gid: vec3<u32>) {
    let op = params.ops[gid.z];
    let x = op.region.x + gid.x;
    let y = op.region.y + gid.y;
    if (x >= op.region.z || y >= op.region.w) {
        return;
    }
    let n = i32(op.src.height);
    let r = i32(op.kernel.y);
    let k0 = op.kernel.x;
    let yi = i32(y);
    let stride = op.src.stride;
    var acc = 0.0;
    if (yi - r >= 0 && yi + r < n) {
        var idx = op.src.offset + (y - u32(r)) * stride + x;
        for (var k = 0u; k <= u32(2 * r); k++) {
            acc += weights[k0 + k] * src[idx];
            idx += stride;
        }
    } else {
        for (var k = -r; k <= r; k++) {
            let sy = u32(reflect101(yi + k, n));
            acc += weights[k0 + u32(k + r)] * src[op.src.offset + sy * stride + x];
        }
    }
    dst[op.dst.offset + y * op.dst.stride + x] = acc;
}
