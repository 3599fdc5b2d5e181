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
