// Contract §9's highlight drawing: blends of the frame toward a colour over part of an
// ellipse (outside it, inside it, or a line along it, optionally only on an arc), applied in
// order, anti-aliased. In place on the packed frame, one invocation per packed word (four
// samples) over a "4:2:0 sheet" of the region the ops can change. A chroma sample's
// coverage is the mean of its 2x2 luma pixels'. Pixel centres sit at integer coordinates.

struct PaintOp {
    ellipse: vec4<f32>, // cx, cy, rx, ry (whole pixels)
    color: vec4<f32>,   // the target colour's Y, U, V; alpha
    arc: vec4<f32>,     // mode.y == 1: unit directions from the centre bounding the arc's gap
    mode: vec4<u32>,    // x: 0 outside, 1 inside, 2 line; y: 1 when the line is an arc
    size: vec4<f32>,    // x: line width; y, z: reach (pixels beyond which coverage is constant)
}

struct PaintParams {
    planes: array<Plane, 3>, // the packed frame
    region: vec4<u32>,       // luma x0, y0, x1, y1 (even): no op changes anything outside
    count: vec4<u32>,        // ops, -, -, -
}

@group(0) @binding(0) var<uniform> params: PaintParams;
@group(0) @binding(1) var<storage, read> ops: array<PaintOp>;
@group(0) @binding(2) var<storage, read_write> frame: array<u32>;

// Signed distance from `q` (relative to the centre) to the ellipse with radii `r`, negative
// inside: the first-order estimate k1 (k1 - 1) / k2, exact on the axes and close near the
// curve, which is where the anti-aliasing needs it.
fn ellipse_distance(q: vec2<f32>, r: vec2<f32>) -> f32 {
    let k1 = length(q / r);
    let k2 = length(q / (r * r));
    if (k2 == 0.0) {
        return -min(r.x, r.y);
    }
    return k1 * (k1 - 1.0) / k2;
}

fn coverage(op: PaintOp, p: vec2<f32>) -> f32 {
    let q = p - op.ellipse.xy;
    if (abs(q.x) > op.size.y || abs(q.y) > op.size.z) {
        // beyond the op's reach: wholly outside the ellipse and its line
        return select(0.0, 1.0, op.mode.x == 0u);
    }
    let d = ellipse_distance(q, op.ellipse.zw);
    if (op.mode.x == 0u) {
        return clamp(0.5 + d, 0.0, 1.0);
    }
    if (op.mode.x == 1u) {
        return clamp(0.5 - d, 0.0, 1.0);
    }
    var c = clamp(0.5 * op.size.x + 0.5 - abs(d), 0.0, 1.0);
    if (op.mode.y == 1u && c > 0.0) {
        // the gap is the intersection of two half-planes through the centre
        let s1 = op.arc.x * q.y - op.arc.y * q.x; // cross(from, q)
        let s2 = q.x * op.arc.w - q.y * op.arc.z; // cross(q, to)
        c *= 1.0 - min(clamp(0.5 + s1, 0.0, 1.0), clamp(0.5 + s2, 0.0, 1.0));
    }
    return c;
}

@compute @workgroup_size(64, 1, 1)
fn paint(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = params.region;
    let w0 = r.x / 4u;
    let c0 = r.x / 8u;
    let luma = vec2<u32>((r.z + 3u) / 4u - w0, r.w - r.y);
    let chroma = vec2<u32>(((r.z + 1u) / 2u + 3u) / 4u - c0, (r.w + 1u) / 2u - r.y / 2u);
    let site = sheet_site(gid, luma, chroma);
    if (site.x > 2u) {
        return;
    }
    let plane = params.planes[site.x];
    let s = select(2u, 1u, site.x == 0u); // luma pixels per plane pixel
    var wx: u32;
    var y: u32;
    if (site.x == 0u) {
        wx = w0 + site.y;
        y = r.y + site.z;
    } else {
        wx = c0 + site.y;
        y = r.y / 2u + site.z;
    }
    if (y >= plane.height || wx * 4u >= plane.width) {
        return;
    }
    let fw = params.planes[0].width;
    let fh = params.planes[0].height;
    let at = plane.offset + y * plane.stride + wx;
    var v = unpack4x8unorm(frame[at]) * 255.0;
    // the word's pixels in luma coordinates
    let x_lo = i32(wx * 4u * s);
    let x_hi = i32((wx * 4u + 3u) * s + s - 1u);
    let y_lo = i32(y * s);
    let y_hi = i32(y * s + s - 1u);
    for (var i = 0u; i < params.count.x; i++) {
        let op = ops[i];
        let goal = op.color[site.x];
        let a = op.color.w;
        let cx = i32(op.ellipse.x);
        let cy = i32(op.ellipse.y);
        // every pixel of the word beyond the op's reach: one blend for the word
        let far = x_hi < cx - i32(op.size.y) || x_lo > cx + i32(op.size.y)
            || y_hi < cy - i32(op.size.z) || y_lo > cy + i32(op.size.z);
        if (far) {
            if (op.mode.x == 0u) {
                v += (goal - v) * a;
            }
            continue;
        }
        for (var k = 0u; k < 4u; k++) {
            let x = wx * 4u + k;
            var c = 0.0;
            if (s == 1u) {
                c = coverage(op, vec2<f32>(f32(x), f32(y)));
            } else {
                let xa = 2u * x;
                let ya = 2u * y;
                let xb = min(xa + 1u, fw - 1u);
                let yb = min(ya + 1u, fh - 1u);
                c = 0.25 * (coverage(op, vec2<f32>(f32(xa), f32(ya))) + coverage(op, vec2<f32>(f32(xb), f32(ya)))
                    + coverage(op, vec2<f32>(f32(xa), f32(yb))) + coverage(op, vec2<f32>(f32(xb), f32(yb))));
            }
            v[k] += (goal - v[k]) * a * c;
        }
    }
    // samples past the plane's width (padding in the last word) are written back unchanged
    frame[at] = pack4(v);
}
