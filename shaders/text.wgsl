// Contract §9's text layers: RGBA images converted once to the frame's YUV (value and
// alpha per sample, laid out like the rows of the packed frame they cover) and alpha-blended
// on top in order, each at its fade: out = value * a + frame * (1 - a). In place on the
// packed frame, one invocation per packed word over a "4:2:0 sheet" of the rows any active
// layer covers.

struct TextLayer {
    rows: vec4<u32>,   // luma rows y0, y1; chroma rows c0, c1
    offset: vec4<u32>, // word offset of the layer's luma, U and V rows in `value` / `alpha`
    fade: vec4<f32>,   // x: opacity multiplier
}

struct TextParams {
    planes: array<Plane, 3>, // the packed frame
    rows: vec4<u32>,         // rows any active layer covers: luma y0, y1; chroma c0, c1
    count: vec4<u32>,        // layers, -, -, -
    layers: array<TextLayer, 8>,
}

@group(0) @binding(0) var<uniform> params: TextParams;
@group(0) @binding(1) var<storage, read> value: array<u32>;
@group(0) @binding(2) var<storage, read> alpha: array<u32>;
@group(0) @binding(3) var<storage, read_write> frame: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn blend(@builtin(global_invocation_id) gid: vec3<u32>) {
    let rows = params.rows;
    let site = sheet_site(
        gid,
        vec2<u32>(params.planes[0].stride, rows.y - rows.x),
        vec2<u32>(params.planes[1].stride, rows.w - rows.z),
    );
    if (site.x > 2u) {
        return;
    }
    let plane = params.planes[site.x];
    let chroma = site.x > 0u;
    let y = select(rows.x, rows.z, chroma) + site.z;
    let at = plane.offset + y * plane.stride + site.y;
    var f = unpack4x8unorm(frame[at]) * 255.0;
    var touched = false;
    for (var i = 0u; i < params.count.x; i++) {
        let l = params.layers[i];
        let r0 = select(l.rows.x, l.rows.z, chroma);
        let r1 = select(l.rows.y, l.rows.w, chroma);
        if (y < r0 || y >= r1) {
            continue;
        }
        let j = l.offset[site.x] + (y - r0) * plane.stride + site.y;
        let a = unpack4x8unorm(alpha[j]) * l.fade.x;
        f = unpack4x8unorm(value[j]) * 255.0 * a + f * (1.0 - a);
        touched = true;
    }
    if (touched) {
        frame[at] = pack4(f);
    }
}
