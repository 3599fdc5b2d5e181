// The AI x4 upscaler (SRVGGNetCompact) as two kernels over channels-last activations with a
// one-pixel zero border, so the inner loop reads without bounds checks:
//   sr_conv     one 3x3 convolution + PReLU: each invocation computes SR_PX pixels of a row x 8
//               output channels in registers; a workgroup shares its row and its 8 channels,
//               so every weight it reads is the same for all its invocations
//   sr_shuffle  pixel shuffle of the last convolution plus the input upsampled by nearest
//               neighbour, to planar RGB
// Weights are laid out [ky][kx][in][out padded to 8], biases and slopes padded to 8, all in
// one buffer of vec4s.

const SR_PX: u32 = 4u;

struct SrLayer {
    width: u32,
    height: u32,
    cin: u32,
    // channels per pixel of the input and output activations (the output's a multiple of 8)
    cin_stride: u32,
    cout_stride: u32,
    // offsets in vec4s into `params`
    w_off: u32,
    b_off: u32,
    // the slopes' offset, or 0xffffffff for no PReLU
    p_off: u32,
};

@group(0) @binding(0) var<uniform> sr_layer: SrLayer;
@group(0) @binding(1) var<storage, read> sr_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> sr_dst: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> sr_params: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn sr_conv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x0 = gid.x * SR_PX;
    let y = gid.y;
    let og = gid.z * 2u; // vec4 index of the first of this invocation's 8 output channels
    if (x0 >= sr_layer.width || y >= sr_layer.height) {
        return;
    }
    let row = sr_layer.width + 2u;
    let cs = sr_layer.cin_stride;
    let ovec = sr_layer.cout_stride / 4u;
    let bias_a = sr_params[sr_layer.b_off + og];
    let bias_b = sr_params[sr_layer.b_off + og + 1u];
    var acc_a: array<vec4<f32>, SR_PX>;
    var acc_b: array<vec4<f32>, SR_PX>;
    for (var p = 0u; p < SR_PX; p++) {
        acc_a[p] = bias_a;
        acc_b[p] = bias_b;
    }
    for (var ky = 0u; ky < 3u; ky++) {
        for (var kx = 0u; kx < 3u; kx++) {
            // input pixel (x0 + p + kx - 1, y + ky - 1) sits at (x0 + p + kx, y + ky) with
            // the border
            let base = ((y + ky) * row + x0 + kx) * cs;
            var w = sr_layer.w_off + ((ky * 3u + kx) * sr_layer.cin) * ovec + og;
            for (var i = 0u; i < sr_layer.cin; i++) {
                let wa = sr_params[w];
                let wb = sr_params[w + 1u];
                for (var p = 0u; p < SR_PX; p++) {
                    let a = sr_src[base + p * cs + i];
                    acc_a[p] += a * wa;
                    acc_b[p] += a * wb;
                }
                w += ovec;
            }
        }
    }
    let prelu = sr_layer.p_off != 0xffffffffu;
    var slope_a = vec4<f32>(1.0);
    var slope_b = vec4<f32>(1.0);
    if (prelu) {
        slope_a = sr_params[sr_layer.p_off + og];
        slope_b = sr_params[sr_layer.p_off + og + 1u];
    }
    for (var p = 0u; p < SR_PX; p++) {
        if (x0 + p < sr_layer.width) {
            var a = acc_a[p];
            var b = acc_b[p];
            if (prelu) {
                a = select(a, a * slope_a, a < vec4<f32>(0.0));
                b = select(b, b * slope_b, b < vec4<f32>(0.0));
            }
            let at = ((y + 1u) * row + x0 + p + 1u) * ovec + og;
            sr_dst[at] = a;
            sr_dst[at + 1u] = b;
        }
    }
}

struct SrShuffle {
    // the input's size (the output is `scale` times it)
    width: u32,
    height: u32,
    scale: u32,
    // channels per pixel of the last convolution's output
    stride: u32,
};

@group(0) @binding(0) var<uniform> sr_sh: SrShuffle;
@group(0) @binding(1) var<storage, read> sr_last: array<f32>;
@group(0) @binding(2) var<storage, read> sr_input: array<f32>;
@group(0) @binding(3) var<storage, read_write> sr_rgb: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn sr_shuffle(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = sr_sh.scale;
    let ow = sr_sh.width * s;
    let oh = sr_sh.height * s;
    if (gid.x >= ow || gid.y >= oh) {
        return;
    }
    let x = gid.x / s;
    let y = gid.y / s;
    let k = (gid.y % s) * s + gid.x % s;
    let at = (y + 1u) * (sr_sh.width + 2u) + x + 1u;
    for (var c = 0u; c < 3u; c++) {
        let v = sr_last[at * sr_sh.stride + c * s * s + k] + sr_input[at * 3u + c];
        sr_rgb[(c * oh + gid.y) * ow + gid.x] = v;
    }
}
