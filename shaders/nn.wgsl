// GPU tensor operations for neural networks (src/nn/): every model wires these together and
// knows nothing of how they run. Activations are channels-last tensors; a tensor is a view
// {width, height, stride (channels per pixel of its buffer), offset (its first channel)},
// so a split is a view at an offset and a concatenation is several layers writing into one
// buffer at their own offsets: nothing is copied. A view may also have a one-pixel zero
// border (its buffer is (width + 2) x (height + 2) cells, pixel (x, y) at cell (x + 1, y + 1)):
// a 3x3 convolution then reads its padding from memory, and the cooperative-matrix kernel
// (nn_coop.wgsl) treats the grid as one flat range of cells.
//   nn_conv1/3    a k x k convolution (k 1 or 3, padding k/2, stride s) + bias, then SiLU or
//                 PReLU when asked, then plus a residual read from the destination buffer
//                 (another channel range of it); each invocation computes NN_PX pixels of a
//                 row x 8 output channels in registers (nn_accumulate, which the models'
//                 fused kernels call too); into a bordered view it also writes its border
//   nn_maxpool5   5x5 max-pool, stride 1, padding of -inf, between channel ranges of one buffer
//   nn_upsample2  nearest x2 into a view of another buffer
// Weights are laid out [ky][kx][in][out padded to 8], the bias and PReLU slopes padded to 8,
// in vec4s.
//
// Activations and parameters are stored as `act`, which the host defines in front of this
// file: f32 (every adapter), or f16 (`enable f16;`, where the adapter has shader-f16) for half
// the memory traffic. Arithmetic is always f32.

const NN_PX: u32 = 4u;

struct NnConv {
    // width, height, channel stride, channel offset
    src: vec4<u32>,
    dst: vec4<u32>,
    // cin, cout, k, stride
    shape: vec4<u32>,
    // weight offset (vec4s), bias offset (vec4s), flags (1: SiLU, 2: residual, 4: PReLU),
    // the residual's channel offset in the destination buffer
    params: vec4<u32>,
    // the PReLU slopes' offset (vec4s), the source's border (0 or 1), the destination's, -
    more: vec4<u32>,
};

@group(0) @binding(0) var<uniform> nn_cv: NnConv;
@group(0) @binding(1) var<storage, read> nn_src: array<act>;
@group(0) @binding(2) var<storage, read_write> nn_dst: array<act>;
@group(0) @binding(3) var<storage, read> nn_params: array<vec4<act>>;

// Bias + the k x k convolution at pixels x0 .. x0 + 3 of output row y, output channels
// 4·og .. 4·og + 7 (a: the first 4, b: the next 4), written out as separate values (private
// arrays indexed in the inner loop run 10x slower on lavapipe).
struct NnAcc {
    a0: vec4<f32>,
    b0: vec4<f32>,
    a1: vec4<f32>,
    b1: vec4<f32>,
    a2: vec4<f32>,
    b2: vec4<f32>,
    a3: vec4<f32>,
    b3: vec4<f32>,
};

// vec4s of packed output channels per weight row: cout padded to 8
fn nn_ovec() -> u32 {
    return ((nn_cv.shape.y + 7u) / 8u) * 2u;
}

fn nn_accumulate(x0: u32, y: u32, og: u32, k: u32) -> NnAcc {
    let sw = i32(nn_cv.src.x);
    let sh = i32(nn_cv.src.y);
    let ss = nn_cv.src.z;
    let sb = i32(nn_cv.more.y);
    let cin = nn_cv.shape.x;
    let st = nn_cv.shape.w;
    let pad = i32(k / 2u);
    let ovec = nn_ovec();
    let bias_a = vec4<f32>(nn_params[nn_cv.params.y + og]);
    let bias_b = vec4<f32>(nn_params[nn_cv.params.y + og + 1u]);
    var r = NnAcc(bias_a, bias_b, bias_a, bias_b, bias_a, bias_b, bias_a, bias_b);
    // a bordered source's border is part of the grid read (zeros), so reads are masked only
    // outside the grid
    let lo = -sb;
    let hi_x = sw + sb;
    let pitch = u32(sw + 2 * sb);
    for (var ky = 0u; ky < k; ky++) {
        let iy = i32(y * st + ky) - pad;
        if (iy < lo || iy >= sh + sb) {
            continue;
        }
        let row = u32(iy + sb) * pitch;
        for (var kx = 0u; kx < k; kx++) {
            // each pixel's first input channel, and 0 for a pixel outside the grid
            let ix = vec4<i32>(vec4<u32>(x0, x0 + 1u, x0 + 2u, x0 + 3u) * st + kx) - pad;
            let inside = (ix >= vec4<i32>(lo)) & (ix < vec4<i32>(hi_x));
            let keep = select(vec4<f32>(0.0), vec4<f32>(1.0), inside);
            let gx = clamp(ix, vec4<i32>(lo), vec4<i32>(hi_x - 1)) + sb;
            let base = (row + vec4<u32>(gx)) * ss + nn_cv.src.w;
            var w = nn_cv.params.x + ((ky * k + kx) * cin) * ovec + og;
            for (var i = 0u; i < cin; i++) {
                let wa = vec4<f32>(nn_params[w]);
                let wb = vec4<f32>(nn_params[w + 1u]);
                let v = vec4<f32>(
                    f32(nn_src[base.x + i]),
                    f32(nn_src[base.y + i]),
                    f32(nn_src[base.z + i]),
                    f32(nn_src[base.w + i]),
                ) * keep;
                r.a0 += v.x * wa;
                r.b0 += v.x * wb;
                r.a1 += v.y * wa;
                r.b1 += v.y * wb;
                r.a2 += v.z * wa;
                r.b2 += v.z * wb;
                r.a3 += v.w * wa;
                r.b3 += v.w * wb;
                w += ovec;
            }
        }
    }
    return r;
}

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
    let x0 = gid.x * NN_PX;
    let y = gid.y;
    let og = gid.z * 2u;
    if (y >= nn_cv.dst.y || x0 >= nn_cv.dst.x) {
        return;
    }
    let r = nn_accumulate(x0, y, og, k);
    nn_conv_store(x0, y, og, r.a0, r.b0);
    nn_conv_store(x0 + 1u, y, og, r.a1, r.b1);
    nn_conv_store(x0 + 2u, y, og, r.a2, r.b2);
    nn_conv_store(x0 + 3u, y, og, r.a3, r.b3);
    if (nn_cv.more.z != 0u) {
        nn_conv_border(x0, y, og);
    }
}

// Cell (x, y) of the destination's grid (bordered coordinates when it has a border).
fn nn_dst_cell(x: u32, y: u32) -> u32 {
    let b = nn_cv.more.z;
    return (y * (nn_cv.dst.x + 2u * b) + x) * nn_cv.dst.z + nn_cv.dst.w;
}

// One pixel's 8 output channels (4·og ..): the activation, the residual, the write.
fn nn_conv_store(x: u32, y: u32, og: u32, a: vec4<f32>, b: vec4<f32>) {
    if (x >= nn_cv.dst.x) {
        return;
    }
    let cout = nn_cv.shape.y;
    let flags = nn_cv.params.z;
    let silu = (flags & 1u) != 0u;
    let residual = (flags & 2u) != 0u;
    let prelu = (flags & 4u) != 0u;
    var slope_a = vec4<f32>(1.0);
    var slope_b = vec4<f32>(1.0);
    if (prelu) {
        slope_a = vec4<f32>(nn_params[nn_cv.more.x + og]);
        slope_b = vec4<f32>(nn_params[nn_cv.more.x + og + 1u]);
    }
    let bd = nn_cv.more.z;
    let pix = nn_dst_cell(x + bd, y + bd);
    let res = pix - nn_cv.dst.w + nn_cv.params.w;
    for (var c = 0u; c < 8u; c++) {
        let o = og * 4u + c;
        if (o >= cout) {
            break;
        }
        var v = select(b[c & 3u], a[c & 3u], c < 4u);
        if (silu) {
            v = v / (1.0 + exp(-v));
        }
        if (prelu && v < 0.0) {
            v *= select(slope_b[c & 3u], slope_a[c & 3u], c < 4u);
        }
        if (residual) {
            v += f32(nn_dst[res + o]);
        }
        nn_dst[pix + o] = act(v);
    }
}

fn nn_zero_cell(x: u32, y: u32, og: u32) {
    let at = nn_dst_cell(x, y);
    for (var c = 0u; c < 8u; c++) {
        let o = og * 4u + c;
        if (o >= nn_cv.shape.y) {
            break;
        }
        nn_dst[at + o] = act(0.0);
    }
}

// The border cells of a bordered destination next to this invocation's pixels: left and
// right of its row, and above the first and below the last row (corners included), so any
// size of tensor may follow any other in one buffer.
fn nn_conv_border(x0: u32, y: u32, og: u32) {
    let w = nn_cv.dst.x;
    let h = nn_cv.dst.y;
    let last = x0 + NN_PX >= w;
    for (var r = 0u; r < 3u; r++) {
        // r 0: this row's ends; 1: the top border row; 2: the bottom one
        var gy = y + 1u;
        if (r == 1u) {
            if (y != 0u) {
                continue;
            }
            gy = 0u;
        } else if (r == 2u) {
            if (y + 1u != h) {
                continue;
            }
            gy = h + 1u;
        }
        if (x0 == 0u) {
            nn_zero_cell(0u, gy, og);
        }
        if (last) {
            nn_zero_cell(w + 1u, gy, og);
        }
        if (r != 0u) {
            for (var p = 0u; p < NN_PX; p++) {
                if (x0 + p < w) {
                    nn_zero_cell(x0 + p + 1u, gy, og);
                }
            }
        }
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
@group(0) @binding(1) var<storage, read_write> nn_buf: array<act>;

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
            m = max(m, f32(nn_buf[(u32(yy) * w + u32(xx)) * s + nn_mv.src.w + c]));
        }
    }
    nn_buf[(y * w + x) * s + nn_mv.dst.w + c] = act(m);
}

@group(0) @binding(1) var<storage, read> nn_up_src: array<act>;
@group(0) @binding(2) var<storage, read_write> nn_up_dst: array<act>;

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
