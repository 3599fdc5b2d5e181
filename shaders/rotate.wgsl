// Contract §10's rotation + crop + resize in one resample: each output sample maps to a
// point of the source (through the crop, then the inverse rotation about the frame's centre)
// and is a Lanczos (a = 4) filter of the source around it, the kernel's axes those of the
// rotated frame (widened by the scale factor when downscaling). Source taps past the frame's
// edge repeat the edge; output samples that map outside the source fade to black over one
// output pixel (the rotated frame's border, anti-aliased). One invocation per packed output
// word (four samples) of one plane (z).

struct RotateParams {
    src: array<Plane, 3>,        // packed source planes
    dst: array<Plane, 3>,        // packed output planes
    origin: array<vec4<f32>, 2>, // luma / chroma: source position (plane pixels) of output (0, 0)'s corner
    axes: vec4<f32>,             // source position step per output pixel along x (xy) and y (zw)
    rot: vec4<f32>,              // cos, sin of the rotation; 1 / filter scale along x, y
    reach: vec4<f32>,            // tap window half-size x, y (source pixels); one output pixel (source pixels)
    black: vec4<f32>,            // black: luma, chroma
}

@group(0) @binding(0) var<uniform> params: RotateParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn source_sample(p: Plane, ix: i32, iy: i32) -> f32 {
    let x = u32(clamp(ix, 0, i32(p.width) - 1));
    let y = u32(clamp(iy, 0, i32(p.height) - 1));
    return byte_at(src[p.offset + y * p.stride + (x >> 2u)], x & 3u);
}

// The output sample at (ox, oy) of `plane`.
fn resample(plane: u32, ox: u32, oy: u32) -> f32 {
    let kind = min(plane, 1u);
    let o = vec2<f32>(f32(ox) + 0.5, f32(oy) + 0.5);
    let ps = params.origin[kind].xy + params.axes.xy * o.x + params.axes.zw * o.y;
    let p = params.src[plane];
    let black = params.black[kind];
    let inside = min(min(ps.x, f32(p.width) - ps.x), min(ps.y, f32(p.height) - ps.y));
    let cover = clamp(1.0 + inside / params.reach.z, 0.0, 1.0);
    if (cover == 0.0) {
        return black;
    }
    let c = ps - 0.5; // in sample-index space
    let x0 = i32(floor(c.x - params.reach.x));
    let x1 = i32(ceil(c.x + params.reach.x));
    let y0 = i32(floor(c.y - params.reach.y));
    let y1 = i32(ceil(c.y + params.reach.y));
    let cs = params.rot.x;
    let sn = params.rot.y;
    var acc = 0.0;
    var total = 0.0;
    for (var j = y0; j <= y1; j++) {
        for (var i = x0; i <= x1; i++) {
            let d = vec2<f32>(f32(i) - c.x, f32(j) - c.y);
            // the offset in the rotated frame's axes
            let r = vec2<f32>(cs * d.x + sn * d.y, cs * d.y - sn * d.x);
            let w = lanczos(r.x * params.rot.z) * lanczos(r.y * params.rot.w);
            if (w != 0.0) {
                acc += w * source_sample(p, i, j);
                total += w;
            }
        }
    }
    return mix(black, acc / total, cover);
}

@compute @workgroup_size(64, 1, 1)
fn rotate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let plane = gid.z;
    let d = params.dst[plane];
    if (gid.x >= d.stride || gid.y >= d.height) {
        return;
    }
    var v = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let x = gid.x * 4u + k;
        if (x < d.width) {
            v[k] = resample(plane, x, gid.y);
        }
    }
    dst[d.offset + gid.y * d.stride + gid.x] = pack4(v);
}
