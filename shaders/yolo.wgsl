// The YOLOv8 detector's own kernels, compiled after nn.wgsl (src/nn/yolo.rs wires them):
//   yolo_letterbox  a packed YUV 4:2:0 frame to RGB (8-bit, as the frame's pixels), resized
//                   as OpenCV's INTER_LINEAR in its fixed-point arithmetic (taps from the
//                   host), padded with 114, to 0-1 channels-last
//   yolo_detect     the head's output (per anchor: 4 x 16 DFL bins, then the class logits) to
//                   [cx, cy, w, h, sigmoid scores] per anchor (f32), and each anchor's best
//                   class

struct NnLetterbox {
    planes: array<Plane, 3>,
    // YUV (0-255) to RGB (0-255)
    rows: array<vec4<f32>, 3>,
    // the input's width and height, the resized frame's left, top, width, height
    canvas: vec4<u32>,
    inner: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_lb: NnLetterbox;
@group(0) @binding(1) var<storage, read> nn_yuv: array<u32>;
// per output column then per output row: (first source index, its weight of 2048)
@group(0) @binding(2) var<storage, read> nn_taps: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> nn_rgb: array<act>;

fn nn_sample(p: Plane, x: u32, y: u32) -> f32 {
    return byte_at(nn_yuv[p.offset + y * p.stride + (x >> 2u)], x & 3u);
}

// Centre-sited chroma, bilinear at luma pixel (x, y), as convert.wgsl's yuv_to_rgba.
fn nn_chroma(p: Plane, x: u32, y: u32) -> f32 {
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
    let top = nn_sample(p, xa, ya) * (1.0 - tx) + nn_sample(p, xb, ya) * tx;
    let bottom = nn_sample(p, xa, yb) * (1.0 - tx) + nn_sample(p, xb, yb) * tx;
    return top * (1.0 - ty) + bottom * ty;
}

// The frame's pixel (x, y) as 8-bit RGB (clamped to the frame).
fn nn_rgb_at(x: u32, y: u32) -> vec3<i32> {
    let xx = min(x, nn_lb.planes[0].width - 1u);
    let yy = min(y, nn_lb.planes[0].height - 1u);
    let yuv = vec3<f32>(
        nn_sample(nn_lb.planes[0], xx, yy),
        nn_chroma(nn_lb.planes[1], xx, yy),
        nn_chroma(nn_lb.planes[2], xx, yy),
    );
    let v = vec3<f32>(
        dot(nn_lb.rows[0].xyz, yuv) + nn_lb.rows[0].w,
        dot(nn_lb.rows[1].xyz, yuv) + nn_lb.rows[1].w,
        dot(nn_lb.rows[2].xyz, yuv) + nn_lb.rows[2].w,
    );
    return vec3<i32>(clamp(round(v), vec3<f32>(0.0), vec3<f32>(255.0)));
}

@compute @workgroup_size(64, 1, 1)
fn yolo_letterbox(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    if (x >= nn_lb.canvas.x || y >= nn_lb.canvas.y) {
        return;
    }
    var rgb = vec3<i32>(114);
    let ix = i32(x) - i32(nn_lb.inner.x);
    let iy = i32(y) - i32(nn_lb.inner.y);
    if (ix >= 0 && iy >= 0 && ix < i32(nn_lb.inner.z) && iy < i32(nn_lb.inner.w)) {
        let tx = nn_taps[ix];
        let ty = nn_taps[nn_lb.inner.z + u32(iy)];
        let sx = u32(tx.x);
        let sy = u32(ty.x);
        // OpenCV: the horizontal pass x2048, then the vertical with its shifts and rounding
        let r0 = nn_rgb_at(sx, sy) * tx.y + nn_rgb_at(sx + 1u, sy) * (2048 - tx.y);
        let r1 = nn_rgb_at(sx, sy + 1u) * tx.y + nn_rgb_at(sx + 1u, sy + 1u) * (2048 - tx.y);
        let v = (((ty.y * (r0 >> vec3<u32>(4u))) >> vec3<u32>(16u))
            + (((2048 - ty.y) * (r1 >> vec3<u32>(4u))) >> vec3<u32>(16u)) + 2) >> vec3<u32>(2u);
        rgb = clamp(v, vec3<i32>(0), vec3<i32>(255));
    }
    let at = (y * nn_lb.canvas.x + x) * 3u;
    nn_rgb[at] = act(f32(rgb.x) / 255.0);
    nn_rgb[at + 1u] = act(f32(rgb.y) / 255.0);
    nn_rgb[at + 2u] = act(f32(rgb.z) / 255.0);
}

struct NnDetect {
    // per level: width, height, first anchor, stride
    levels: array<vec4<u32>, 3>,
    // classes, channels per anchor of the head buffer (64 + classes), anchors
    sizes: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_dt: NnDetect;
@group(0) @binding(1) var<storage, read> nn_head: array<act>;
@group(0) @binding(2) var<storage, read_write> nn_raw: array<f32>;
// per anchor: cx, cy, w, h, best score, its class
@group(0) @binding(3) var<storage, read_write> nn_best: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn yolo_detect(@builtin(global_invocation_id) gid: vec3<u32>) {
    let a = gid.x;
    let nc = nn_dt.sizes.x;
    let per = nn_dt.sizes.y;
    if (a >= nn_dt.sizes.z) {
        return;
    }
    var level = nn_dt.levels[0];
    if (a >= nn_dt.levels[2].z) {
        level = nn_dt.levels[2];
    } else if (a >= nn_dt.levels[1].z) {
        level = nn_dt.levels[1];
    }
    let cell = a - level.z;
    let ax = f32(cell % level.x) + 0.5;
    let ay = f32(cell / level.x) + 0.5;
    let base = a * per;
    // DFL: the expectation of 0..15 under each side's softmax
    var d: vec4<f32>;
    for (var side = 0u; side < 4u; side++) {
        var m = -3.4028235e38;
        for (var b = 0u; b < 16u; b++) {
            m = max(m, f32(nn_head[base + side * 16u + b]));
        }
        var sum = 0.0;
        var ex = 0.0;
        for (var b = 0u; b < 16u; b++) {
            let e = exp(f32(nn_head[base + side * 16u + b]) - m);
            sum += e;
            ex += f32(b) * e;
        }
        d[side] = ex / sum;
    }
    let s = f32(level.w);
    let x1 = ax - d.x;
    let y1 = ay - d.y;
    let x2 = ax + d.z;
    let y2 = ay + d.w;
    let out = a * (4u + nc);
    let bx = vec4<f32>((x1 + x2) * 0.5 * s, (y1 + y2) * 0.5 * s, (x2 - x1) * s, (y2 - y1) * s);
    nn_raw[out] = bx.x;
    nn_raw[out + 1u] = bx.y;
    nn_raw[out + 2u] = bx.z;
    nn_raw[out + 3u] = bx.w;
    var best = -1.0;
    var best_c = 0u;
    for (var c = 0u; c < nc; c++) {
        let score = 1.0 / (1.0 + exp(-f32(nn_head[base + 64u + c])));
        nn_raw[out + 4u + c] = score;
        if (score > best) {
            best = score;
            best_c = c;
        }
    }
    let o = a * 6u;
    nn_best[o] = bx.x;
    nn_best[o + 1u] = bx.y;
    nn_best[o + 2u] = bx.z;
    nn_best[o + 3u] = bx.w;
    nn_best[o + 4u] = best;
    nn_best[o + 5u] = f32(best_c);
}
