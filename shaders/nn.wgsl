// GPU tensor operations for neural networks (src/nn/): every model wires these together and
// knows nothing of how they run. Activations are channels-last f32 tensors; a tensor is a
// view {width, height, stride (channels per pixel of its buffer), offset (its first channel)},
// so a split is a view at an offset and a concatenation is several layers writing into one
// buffer at their own offsets: nothing is copied.
//   nn_conv1/3    a k x k convolution (k 1 or 3, padding k/2, stride s) + bias, then SiLU when
//                 asked, then plus a residual read from the destination buffer (another
//                 channel range of it); each invocation computes NN_PX pixels of a row x 8
//                 output channels in registers
//   nn_maxpool5   5x5 max-pool, stride 1, padding of -inf, between channel ranges of one buffer
//   nn_upsample2  nearest x2 into a view of another buffer
//   nn_letterbox  a packed YUV 4:2:0 frame to RGB (8-bit, as the frame's pixels), resized as
//                 OpenCV's INTER_LINEAR in its fixed-point arithmetic (taps from the host),
//                 padded with 114, to 0-1 channels-last
//   nn_detect     YOLOv8's head output (per anchor: 4 x 16 DFL bins, then the class logits) to
//                 [cx, cy, w, h, sigmoid scores] per anchor, and each anchor's best class
// Weights are laid out [ky][kx][in][out padded to 8], the bias padded to 8, in vec4s.

const NN_PX: u32 = 4u;

struct NnConv {
    // width, height, channel stride, channel offset
    src: vec4<u32>,
    dst: vec4<u32>,
    // cin, cout, k, stride
    shape: vec4<u32>,
    // weight offset (vec4s), bias offset (vec4s), flags (1: SiLU, 2: residual), residual's
    // channel offset in the destination buffer
    params: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_cv: NnConv;
@group(0) @binding(1) var<storage, read> nn_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> nn_dst: array<f32>;
@group(0) @binding(3) var<storage, read> nn_params: array<vec4<f32>>;

// The kernel size is a constant of each entry point, so its loops unroll. A workgroup is 8
// rows of 8 pixel groups: small feature maps (20 x 12 at P5) fill it, and each row's
// invocations share their y (on lavapipe, invocations of one SIMD vector in different rows
// made the convolution 30 times slower).
@compute @workgroup_size(8, 8, 1)
fn nn_conv1(@builtin(global_invocation_id) gid: vec3<u32>) {
    nn_conv(gid, 1u);
}

@compute @workgroup_size(8, 8, 1)
fn nn_conv3(@builtin(global_invocation_id) gid: vec3<u32>) {
    nn_conv(gid, 3u);
}

fn nn_conv(gid: vec3<u32>, k: u32) {
    // one flat index over the output's pixel groups, so that small feature maps (20 x 12 at
    // P5) still fill whole workgroups
    let dw = nn_cv.dst.x;
    let dh = nn_cv.dst.y;
    let x0 = gid.x * NN_PX;
    let y = gid.y;
    let og = gid.z * 2u;
    if (y >= dh || x0 >= dw) {
        return;
    }
    let sw = i32(nn_cv.src.x);
    let sh = i32(nn_cv.src.y);
    let ss = nn_cv.src.z;
    let cin = nn_cv.shape.x;
    let cout = nn_cv.shape.y;
    let st = nn_cv.shape.w;
    let pad = i32(k / 2u);
    let ovec = ((cout + 7u) / 8u) * 2u;
    // the NN_PX (4) pixels' accumulators, written out (private arrays indexed in the inner
    // loop run 10x slower on lavapipe)
    let bias_a = nn_params[nn_cv.params.y + og];
    let bias_b = nn_params[nn_cv.params.y + og + 1u];
    var a0 = bias_a;
    var b0 = bias_b;
    var a1 = bias_a;
    var b1 = bias_b;
    var a2 = bias_a;
    var b2 = bias_b;
    var a3 = bias_a;
    var b3 = bias_b;
    for (var ky = 0u; ky < k; ky++) {
        let iy = i32(y * st + ky) - pad;
        if (iy < 0 || iy >= sh) {
            continue;
        }
        let row = u32(iy) * u32(sw);
        for (var kx = 0u; kx < k; kx++) {
            // each pixel's first input channel, and 0 for a pixel in the padding
            let ix = vec4<i32>(vec4<u32>(x0, x0 + 1u, x0 + 2u, x0 + 3u) * st + kx) - pad;
            let inside = (ix >= vec4<i32>(0)) & (ix < vec4<i32>(sw));
            let keep = select(vec4<f32>(0.0), vec4<f32>(1.0), inside);
            let base = (row + vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(sw - 1)))) * ss
                + nn_cv.src.w;
            var w = nn_cv.params.x + ((ky * k + kx) * cin) * ovec + og;
            for (var i = 0u; i < cin; i++) {
                let wa = nn_params[w];
                let wb = nn_params[w + 1u];
                let v = vec4<f32>(
                    nn_src[base.x + i],
                    nn_src[base.y + i],
                    nn_src[base.z + i],
                    nn_src[base.w + i],
                ) * keep;
                a0 += v.x * wa;
                b0 += v.x * wb;
                a1 += v.y * wa;
                b1 += v.y * wb;
                a2 += v.z * wa;
                b2 += v.z * wb;
                a3 += v.w * wa;
                b3 += v.w * wb;
                w += ovec;
            }
        }
    }
    nn_conv_store(x0, y, og, a0, b0);
    nn_conv_store(x0 + 1u, y, og, a1, b1);
    nn_conv_store(x0 + 2u, y, og, a2, b2);
    nn_conv_store(x0 + 3u, y, og, a3, b3);
}

// One pixel's 8 output channels (4·og ..): SiLU, the residual, the write.
fn nn_conv_store(x: u32, y: u32, og: u32, a: vec4<f32>, b: vec4<f32>) {
    let dw = nn_cv.dst.x;
    if (x >= dw) {
        return;
    }
    let cout = nn_cv.shape.y;
    let silu = (nn_cv.params.z & 1u) != 0u;
    let residual = (nn_cv.params.z & 2u) != 0u;
    let pix = (y * dw + x) * nn_cv.dst.z;
    for (var c = 0u; c < 8u; c++) {
        let o = og * 4u + c;
        if (o >= cout) {
            break;
        }
        var v = select(b[c & 3u], a[c & 3u], c < 4u);
        if (silu) {
            v = v / (1.0 + exp(-v));
        }
        if (residual) {
            v += nn_dst[pix + nn_cv.params.w + o];
        }
        nn_dst[pix + nn_cv.dst.w + o] = v;
    }
}

struct NnMove {
    // width, height, channel stride, channel offset (of the source; the pool's output in the
    // same buffer at dst.w, the upsample's in another of dst's size)
    src: vec4<u32>,
    dst: vec4<u32>,
    // channels
    channels: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_mv: NnMove;
@group(0) @binding(1) var<storage, read_write> nn_buf: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn nn_maxpool5(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    let c = gid.z;
    let w = nn_mv.src.x;
    let h = nn_mv.src.y;
    if (x >= w || y >= h || c >= nn_mv.channels.x) {
        return;
    }
    let s = nn_mv.src.z;
    var m = -3.4028235e38;
    for (var yy = max(i32(y) - 2, 0); yy <= min(i32(y) + 2, i32(h) - 1); yy++) {
        for (var xx = max(i32(x) - 2, 0); xx <= min(i32(x) + 2, i32(w) - 1); xx++) {
            m = max(m, nn_buf[(u32(yy) * w + u32(xx)) * s + nn_mv.src.w + c]);
        }
    }
    nn_buf[(y * w + x) * s + nn_mv.dst.w + c] = m;
}

@group(0) @binding(1) var<storage, read> nn_up_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> nn_up_dst: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn nn_upsample2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    let c = gid.z;
    if (x >= nn_mv.dst.x || y >= nn_mv.dst.y || c >= nn_mv.channels.x) {
        return;
    }
    let at = ((y / 2u) * nn_mv.src.x + x / 2u) * nn_mv.src.z + nn_mv.src.w + c;
    nn_up_dst[(y * nn_mv.dst.x + x) * nn_mv.dst.z + nn_mv.dst.w + c] = nn_up_src[at];
}

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
@group(0) @binding(3) var<storage, read_write> nn_rgb: array<f32>;

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
fn nn_letterbox(@builtin(global_invocation_id) gid: vec3<u32>) {
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
    nn_rgb[at] = f32(rgb.x) / 255.0;
    nn_rgb[at + 1u] = f32(rgb.y) / 255.0;
    nn_rgb[at + 2u] = f32(rgb.z) / 255.0;
}

struct NnDetect {
    // per level: width, height, first anchor, stride
    levels: array<vec4<u32>, 3>,
    // classes, channels per anchor of the head buffer (64 + classes), anchors
    sizes: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_dt: NnDetect;
@group(0) @binding(1) var<storage, read> nn_head: array<f32>;
@group(0) @binding(2) var<storage, read_write> nn_raw: array<f32>;
// per anchor: cx, cy, w, h, best score, its class
@group(0) @binding(3) var<storage, read_write> nn_best: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn nn_detect(@builtin(global_invocation_id) gid: vec3<u32>) {
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
            m = max(m, nn_head[base + side * 16u + b]);
        }
        var sum = 0.0;
        var ex = 0.0;
        for (var b = 0u; b < 16u; b++) {
            let e = exp(nn_head[base + side * 16u + b] - m);
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
        let score = 1.0 / (1.0 + exp(-nn_head[base + 64u + c]));
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
