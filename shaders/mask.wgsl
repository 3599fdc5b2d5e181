// The unfeathered highlight mask: each active ellipse, in list order, fills itself with its
// opacity (a later one overwrites an earlier one). Only `region` is computed; the feather is
// a blur pass over the result.

struct Ellipse {
    center: vec2<i32>,
    radius: vec2<i32>,
    opacity: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
}

struct FillParams {
    dst: Plane,
    region: vec4<u32>, // x0, y0, x1, y1
    count: vec4<u32>,  // ellipses, -, -, -
}

@group(0) @binding(0) var<uniform> params: FillParams;
@group(0) @binding(1) var<storage, read> ellipses: array<Ellipse>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// dx²/rx² + dy²/ry² <= 1, exactly in integers when rx·ry fits (2·rx²ry² < 2³¹).
fn inside(e: Ellipse, px: i32, py: i32) -> bool {
    let dx = px - e.center.x;
    let dy = py - e.center.y;
    let rx = e.radius.x;
    let ry = e.radius.y;
    if (abs(dx) > rx || abs(dy) > ry) {
        return false;
    }
    if (rx * ry <= 32767) {
        return dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry;
    }
    let fx = f32(dx) / f32(rx);
    let fy = f32(dy) / f32(ry);
    return fx * fx + fy * fy <= 1.0;
}

@compute @workgroup_size(64, 1, 1)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = params.region.x + gid.x;
    let y = params.region.y + gid.y;
    if (x >= params.region.z || y >= params.region.w) {
        return;
    }
    var v = 0.0;
    for (var i = i32(params.count.x) - 1; i >= 0; i--) {
        let e = ellipses[i];
        if (inside(e, i32(x), i32(y))) {
            v = e.opacity;
            break;
        }
    }
    dst[params.dst.offset + y * params.dst.stride + x] = v;
}
