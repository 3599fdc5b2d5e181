// RGBA8 <-> YUV 4:2:0 with a 3x4 affine matrix (BT.601/709/2020, limited or full range,
// built on the host). Chroma is centre-sited: the mean of a 2x2 block on the way in,
// bilinear on the way out.

struct ConvertParams {
    rows: array<vec4<f32>, 3>, // out_c = dot(rows[c].xyz, in) + rows[c].w
    planes: array<Plane, 3>,   // packed YUV planes
    size: vec4<u32>,           // width, height, -, -
}

@group(0) @binding(0) var<uniform> params: ConvertParams;
@group(0) @binding(1) var<storage, read> rgba_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> yuv_out: array<u32>;

fn rgb_at(x: u32, y: u32) -> vec3<f32> {
    let w = params.size.x;
    let cx = min(x, w - 1u);
    let cy = min(y, params.size.y - 1u);
    let v = unpack4x8unorm(rgba_in[cy * w + cx]) * 255.0;
    return v.xyz;
}

fn apply_row(c: u32, v: vec3<f32>) -> f32 {
    return dot(params.rows[c].xyz, v) + params.rows[c].w;
}

// One invocation per packed output word of plane z.
@compute @workgroup_size(64, 1, 1)
fn rgba_to_yuv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = params.planes[gid.z];
    if (gid.x >= p.stride || gid.y >= p.height) {
        return;
    }
    var out = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let x = gid.x * 4u + k;
        if (x >= p.width) {
            break;
        }
        if (gid.z == 0u) {
            out[k] = apply_row(0u, rgb_at(x, gid.y));
        } else {
            let x0 = 2u * x;
            let y0 = 2u * gid.y;
            let mean = 0.25 * (rgb_at(x0, y0) + rgb_at(x0 + 1u, y0) + rgb_at(x0, y0 + 1u) + rgb_at(x0 + 1u, y0 + 1u));
            out[k] = apply_row(gid.z, mean);
        }
    }
    yuv_out[p.offset + gid.y * p.stride + gid.x] = pack4(out);
}

@group(0) @binding(0) var<uniform> iparams: ConvertParams;
@group(0) @binding(1) var<storage, read> yuv_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> rgba_out: array<u32>;

fn yuv_sample(p: Plane, x: u32, y: u32) -> f32 {
    return byte_at(yuv_in[p.offset + y * p.stride + (x >> 2u)], x & 3u);
}

fn chroma_bilinear(p: Plane, x: u32, y: u32) -> f32 {
    let fx = (f32(x) + 0.5) * 0.5 - 0.5;
    let fy = (f32(y) + 0.5) * 0.5 - 0.5;
    let x0 = floor(fx);
    let y0 = floor(fy);
    let tx = fx - x0;
    let ty = fy - y0;
    let xa = u32(max(x0, 0.0));
    let ya = u32(max(y0, 0.0));
    let xb = min(u32(max(x0 + 1.0, 0.0)), p.width - 1u);
    let yb = min(u32(max(y0 + 1.0, 0.0)), p.height - 1u);
    let xa2 = min(xa, p.width - 1u);
    let ya2 = min(ya, p.height - 1u);
    let top = yuv_sample(p, xa2, ya2) * (1.0 - tx) + yuv_sample(p, xb, ya2) * tx;
    let bottom = yuv_sample(p, xa2, yb) * (1.0 - tx) + yuv_sample(p, xb, yb) * tx;
    return top * (1.0 - ty) + bottom * ty;
}

// One invocation per output pixel.
@compute @workgroup_size(64, 1, 1)
fn yuv_to_rgba(@builtin(global_invocation_id) gid: vec3<u32>) {
    let w = iparams.size.x;
    if (gid.x >= w || gid.y >= iparams.size.y) {
        return;
    }
    let yuv = vec3<f32>(
        yuv_sample(iparams.planes[0], gid.x, gid.y),
        chroma_bilinear(iparams.planes[1], gid.x, gid.y),
        chroma_bilinear(iparams.planes[2], gid.x, gid.y),
    );
    let rgb = vec3<f32>(
        dot(iparams.rows[0].xyz, yuv) + iparams.rows[0].w,
        dot(iparams.rows[1].xyz, yuv) + iparams.rows[1].w,
        dot(iparams.rows[2].xyz, yuv) + iparams.rows[2].w,
    );
    let q = vec3<u32>(clamp(round(rgb), vec3<f32>(0.0), vec3<f32>(255.0)));
    rgba_out[gid.y * w + gid.x] = q.x | (q.y << 8u) | (q.z << 16u) | (255u << 24u);
}
