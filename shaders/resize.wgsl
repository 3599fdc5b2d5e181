// Crop + Lanczos (a = 4) resize of packed planes, separable: `weights` builds one table per
// (plane class, axis), `resize_h` filters rows into a float buffer, `resize_v` filters columns
// and packs the result. Downscaling widens the window by the scale factor (anti-aliasing);
// taps beyond the source plane are clamped to its edge.

struct Axis {
    src_start: f32,    // crop origin along the axis, in plane pixels
    scale: f32,        // source pixels per output pixel
    filter_scale: f32, // clamp(scale, 1, max)
    out_len: u32,
    table: u32,        // offset of the table in `tables`
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct WeightParams {
    axes: array<Axis, 4>, // luma x, luma y, chroma x, chroma y
    taps: vec4<u32>,      // taps per output sample, -, -, -
}

struct ResizePlane {
    src: Plane,        // packed source
    tmp: Plane,        // float, output width x source height
    dst: Plane,        // packed output
    tables: vec4<u32>, // x table offset, y table offset, taps, -
}

struct ResizeParams {
    planes: array<ResizePlane, 3>,
}

@group(0) @binding(0) var<uniform> wparams: WeightParams;
@group(0) @binding(1) var<storage, read_write> tables: array<f32>;

// Table entry o: [first source index, w0 .. w(taps-1)], weights normalised to sum 1.
@compute @workgroup_size(64, 1, 1)
fn weights(@builtin(global_invocation_id) gid: vec3<u32>) {
    let axis = wparams.axes[gid.z];
    let o = gid.x;
    if (o >= axis.out_len) {
        return;
    }
    let taps = wparams.taps.x;
    let center = axis.src_start + (f32(o) + 0.5) * axis.scale - 0.5;
    let support = LANCZOS_A * axis.filter_scale;
    let first = i32(floor(center - support)) + 1;
    let base = axis.table + o * (taps + 1u);
    var sum = 0.0;
    for (var j = 0u; j < taps; j++) {
        let w = lanczos((f32(first + i32(j)) - center) / axis.filter_scale);
        tables[base + 1u + j] = w;
        sum += w;
    }
    for (var j = 0u; j < taps; j++) {
        tables[base + 1u + j] = tables[base + 1u + j] / sum;
    }
    tables[base] = f32(first);
}

@group(0) @binding(0) var<uniform> rparams: ResizeParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> tmp: array<f32>;
@group(0) @binding(3) var<storage, read> wtables: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

// One invocation per (output column, source row).
@compute @workgroup_size(64, 1, 1)
fn resize_h(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = rparams.planes[gid.z];
    let o = gid.x;
    let y = gid.y;
    if (o >= p.tmp.width || y >= p.tmp.height) {
        return;
    }
    let taps = p.tables.z;
    let base = p.tables.x + o * (taps + 1u);
    let first = i32(wtables[base]);
    let last = i32(p.src.width) - 1;
    let row = p.src.offset + y * p.src.stride;
    var acc = 0.0;
    for (var j = 0u; j < taps; j++) {
        let sx = u32(clamp(first + i32(j), 0, last));
        acc += wtables[base + 1u + j] * byte_at(src[row + (sx >> 2u)], sx & 3u);
    }
    tmp[p.tmp.offset + y * p.tmp.stride + o] = acc;
}

// One invocation per packed output word (four output columns of one output row).
@compute @workgroup_size(64, 1, 1)
fn resize_v(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = rparams.planes[gid.z];
    let oy = gid.y;
    if (gid.x >= p.dst.stride || oy >= p.dst.height) {
        return;
    }
    let taps = p.tables.z;
    let base = p.tables.y + oy * (taps + 1u);
    let first = i32(wtables[base]);
    let last = i32(p.tmp.height) - 1;
    var out = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let ox = gid.x * 4u + k;
        if (ox >= p.dst.width) {
            break;
        }
        var acc = 0.0;
        for (var j = 0u; j < taps; j++) {
            let sy = u32(clamp(first + i32(j), 0, last));
            acc += wtables[base + 1u + j] * tmp[p.tmp.offset + sy * p.tmp.stride + ox];
        }
        out[k] = acc;
    }
    dst[p.dst.offset + oy * p.dst.stride + gid.x] = pack4(out);
}
