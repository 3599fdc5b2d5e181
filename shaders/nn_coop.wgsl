// A 3x3 convolution (stride 1, + bias, + PReLU) over bordered channels-last tensors as an
// implicit GEMM on cooperative matrices (Vulkan VK_KHR_cooperative_matrix: NVIDIA's tensor
// cores), over the same tensors and packed parameters as nn.wgsl's nn_conv3, so the two
// kernels can take turns layer by layer. The host defines in front of this file `act` (the storage type),
// COOP (the matrix side, 8 or 16) and the aliases coop_a / coop_b / coop_c for the adapter's
// COOPxCOOP matrices (A and B of `act`, the accumulator f32).
//
// Activations are channels-last with a one-pixel zero border, so the cells of the bordered
// grid are one flat array: cell q = y * (width + 2) + x, its channels at q * stride. The
// kernel treats the cells from (1, 1) to the last cell of row `height` as one flat range and
// gives each workgroup COOP consecutive cells of it (border cells of rows 1..height among
// them). For tap (ky, kx) the input of output cell q is cell q + (ky - 1) * row + (kx - 1), so
// the A matrix of a tap and a block of COOP input channels is COOP rows of the source, each
// `cin_stride` apart: one strided load, no bounds checks. B is the packed weights
// [ky][kx][in][out], COOP x COOP at a time, row stride `cout_stride`. The accumulators go
// through workgroup memory, where bias and PReLU are applied and border cells (and the
// cells past the grid that the last workgroup covers) are written as zero. The bordered
// grid's top row, the first cell of row 1 and the bottom row are not in the flat range:
// the workgroups zero them between them. nn::coop::conv_cells is this arithmetic on the CPU
// (src/nn/coop.rs), tested against the CPU reference.

struct CoopLayer {
    width: u32,
    height: u32,
    cin: u32,
    cin_stride: u32,
    cout_stride: u32,
    // offsets in vec4s into the parameters
    w_off: u32,
    b_off: u32,
    // the slopes' offset, or 0xffffffff for no PReLU
    p_off: u32,
};

// the most output channels a layer may have (one accumulator tile of COOP cells each)
const COOP_MAX_OUT: u32 = 64u;
// invocations per workgroup: one subgroup of the adapters that have the extension
const COOP_WG: u32 = 32u;

@group(0) @binding(0) var<uniform> sc_layer: CoopLayer;
@group(0) @binding(1) var<storage, read> sc_src: array<act>;
@group(0) @binding(2) var<storage, read_write> sc_dst: array<act>;
@group(0) @binding(3) var<storage, read> sc_params: array<act>;

var<workgroup> sc_tile: array<f32, COOP * COOP_MAX_OUT>;

// The zeroed cells outside the flat range, in order: the top row, the first cell of row 1,
// the bottom row.
fn sc_extra_cell(e: u32, row: u32) -> u32 {
    if (e <= row) {
        return e;
    }
    return (sc_layer.height + 1u) * row + (e - row - 1u);
}

@compute @workgroup_size(COOP_WG, 1, 1)
fn nn_conv_coop(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = sc_layer.width + 2u;
    let cells = sc_layer.height * row - 1u;
    let count = (cells + COOP - 1u) / COOP;
    let t = wid.y * groups.x + wid.x;
    if (t >= count) {
        return;
    }
    let first = row + 1u;
    let q0 = first + t * COOP;
    let cs = sc_layer.cin_stride;
    let os = sc_layer.cout_stride;
    let wbase = sc_layer.w_off * 4u;
    for (var ob = 0u; ob < os; ob += COOP) {
        var acc = coop_c();
        for (var tap = 0u; tap < 9u; tap++) {
            let ky = tap / 3u;
            let kx = tap % 3u;
            // cell q0 + (ky - 1) * row + (kx - 1), without going below zero
            let cell = q0 + ky * row + kx - row - 1u;
            for (var ib = 0u; ib < sc_layer.cin; ib += COOP) {
                // the offsets as named values: naga's SPIR-V writer needs them emitted before
                // the cooperative load's access chain
                let ai = cell * cs + ib;
                let bi = wbase + (tap * sc_layer.cin + ib) * os + ob;
                let a = coopLoadT<coop_a>(&sc_src[ai], cs);
                let b = coopLoadT<coop_b>(&sc_params[bi], os);
                acc = coopMultiplyAdd(a, b, acc);
            }
        }
        let ci = ob;
        coopStoreT(acc, &sc_tile[ci], os);
    }
    workgroupBarrier();
    let prelu = sc_layer.p_off != 0xffffffffu;
    let n = COOP * os;
    for (var e = lid; e < n; e += COOP_WG) {
        let p = e / os;
        let o = e % os;
        let q = q0 + p;
        let y = q / row;
        let x = q % row;
        var v = 0.0;
        if (x >= 1u && x <= sc_layer.width && y <= sc_layer.height) {
            v = sc_tile[e] + f32(sc_params[sc_layer.b_off * 4u + o]);
            if (prelu && v < 0.0) {
                v *= f32(sc_params[sc_layer.p_off * 4u + o]);
            }
        }
        sc_dst[q * os + o] = act(v);
    }
    // this workgroup's share of the cells outside the flat range
    let extra = 2u * row + 1u;
    for (var e0 = t * COOP; e0 < extra; e0 += count * COOP) {
        for (var e = lid; e < n; e += COOP_WG) {
            let k = e0 + e / os;
            if (k < extra) {
                sc_dst[sc_extra_cell(k, row) * os + e % os] = act(0.0);
            }
        }
    }
}

// nn_conv_coop_any: any of nn.wgsl's convolutions (k 1 or 3, stride 1 or 2, views at channel
// offsets, bordered or not, SiLU or PReLU, a residual), the same uniform as nn_conv (here
// CoopConv), as an implicit GEMM on cooperative matrices: a workgroup computes COOP output
// pixels (consecutive in the output's row-major order) x COOP output channels (block wid.z).
// For each tap and block of COOP input channels the invocations stage the A block (COOP
// pixels x COOP channels, zero outside the source's grid or past cin) in workgroup memory,
// and B is read straight from the packed weights [ky][kx][in][out padded to 8] (its rows past
// cin meet A's zero columns; its columns past cout are not written). The result goes through
// workgroup memory, where the bias, the activation and the residual are applied and, into a
// bordered destination, the border cells next to each pixel written as zero.
// nn::coop::conv_any_cells is this arithmetic on the CPU (src/nn/coop.rs).

struct CoopConv {
    src: vec4<u32>,
    dst: vec4<u32>,
    shape: vec4<u32>,
    params: vec4<u32>,
    more: vec4<u32>,
};

@group(0) @binding(0) var<uniform> cg: CoopConv;

var<workgroup> cg_a: array<act, COOP * COOP>;

fn cg_zero(x: u32, y: u32, o: u32) {
    let b = cg.more.z;
    sc_dst[(y * (cg.dst.x + 2u * b) + x) * cg.dst.z + cg.dst.w + o] = act(0.0);
}

@compute @workgroup_size(COOP_WG, 1, 1)
fn nn_conv_coop_any(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let dw = cg.dst.x;
    let dh = cg.dst.y;
    let pixels = dw * dh;
    let count = (pixels + COOP - 1u) / COOP;
    let t = wid.y * groups.x + wid.x;
    if (t >= count) {
        return;
    }
    let p0 = t * COOP;
    let ob = wid.z * COOP;
    let cin = cg.shape.x;
    let cout = cg.shape.y;
    let k = cg.shape.z;
    let st = cg.shape.w;
    let pad = i32(k / 2u);
    let sw = i32(cg.src.x);
    let sh = i32(cg.src.y);
    let sb = i32(cg.more.y);
    let pitch = u32(sw + 2 * sb);
    // packed output channels per weight row
    let orow = ((cout + 7u) / 8u) * 8u;
    let wbase = cg.params.x * 4u;
    var acc = coop_c();
    for (var tap = 0u; tap < k * k; tap++) {
        let ky = tap / k;
        let kx = tap % k;
        for (var ib = 0u; ib < cin; ib += COOP) {
            for (var e = lid; e < COOP * COOP; e += COOP_WG) {
                let m = e / COOP;
                let c = e % COOP;
                let p = p0 + m;
                var v = 0.0;
                if (p < pixels && ib + c < cin) {
                    let ix = i32((p % dw) * st + kx) - pad;
                    let iy = i32((p / dw) * st + ky) - pad;
                    if (ix >= -sb && ix < sw + sb && iy >= -sb && iy < sh + sb) {
                        let cell = u32(iy + sb) * pitch + u32(ix + sb);
                        v = f32(sc_src[cell * cg.src.z + cg.src.w + ib + c]);
                    }
                }
                cg_a[e] = act(v);
            }
            workgroupBarrier();
            // the offset as a named value: naga's SPIR-V writer needs it emitted before the
            // cooperative load's access chain
            let bi = wbase + (tap * cin + ib) * orow + ob;
            let a = coopLoadT<coop_a>(&cg_a[0], COOP);
            let b = coopLoadT<coop_b>(&sc_params[bi], orow);
            acc = coopMultiplyAdd(a, b, acc);
            workgroupBarrier();
        }
    }
    coopStoreT(acc, &sc_tile[0], COOP);
    workgroupBarrier();
    let flags = cg.params.z;
    let bd = cg.more.z;
    for (var e = lid; e < COOP * COOP; e += COOP_WG) {
        let p = p0 + e / COOP;
        let o = ob + e % COOP;
        if (p >= pixels || o >= cout) {
            continue;
        }
        let x = p % dw;
        let y = p / dw;
        var v = sc_tile[e] + f32(sc_params[cg.params.y * 4u + o]);
        if ((flags & 1u) != 0u) {
            v = v / (1.0 + exp(-v));
        }
        if ((flags & 4u) != 0u && v < 0.0) {
            v *= f32(sc_params[cg.more.x * 4u + o]);
        }
        let cell = ((y + bd) * (dw + 2u * bd) + x + bd) * cg.dst.z;
        if ((flags & 2u) != 0u) {
            v += f32(sc_dst[cell + cg.params.w + o]);
        }
        sc_dst[cell + cg.dst.w + o] = act(v);
        if (bd != 0u) {
            // the border next to this pixel: its row's ends, the rows above the first and
            // below the last (corners included)
            let xl = x == 0u;
            let xr = x + 1u == dw;
            for (var r = 0u; r < 3u; r++) {
                var gy = y + 1u;
                if (r == 1u) {
                    if (y != 0u) {
                        continue;
                    }
                    gy = 0u;
                } else if (r == 2u) {
                    if (y + 1u != dh) {
                        continue;
                    }
                    gy = dh + 1u;
                }
                if (xl) {
                    cg_zero(0u, gy, o);
                }
                if (xr) {
                    cg_zero(dw + 1u, gy, o);
                }
                if (r != 0u) {
                    cg_zero(x + 1u, gy, o);
                }
            }
        }
    }
}
