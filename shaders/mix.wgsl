// Contract §10's transitions on the output frame, in place: a fade toward black
// (mode 0: black + (frame − black) · w) or a dissolve with a second frame (mode 1:
// other + (frame − other) · w). One invocation per packed word over a "4:2:0 sheet".

struct MixParams {
    planes: array<Plane, 3>, // the packed frame (and `other`, laid out alike)
    black: vec4<f32>,        // black: luma, chroma
    mode: vec4<u32>,         // 0 toward black, 1 with `other`
    weight: vec4<f32>,       // the frame's weight
}

@group(0) @binding(0) var<uniform> params: MixParams;
@group(0) @binding(1) var<storage, read> other: array<u32>;
@group(0) @binding(2) var<storage, read_write> frame: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn mix_frames(@builtin(global_invocation_id) gid: vec3<u32>) {
    let site = sheet_site(
        gid,
        vec2<u32>(params.planes[0].stride, params.planes[0].height),
        vec2<u32>(params.planes[1].stride, params.planes[1].height),
    );
    if (site.x > 2u) {
        return;
    }
    let p = params.planes[site.x];
    let at = p.offset + site.z * p.stride + site.y;
    let f = unpack4x8unorm(frame[at]) * 255.0;
    var b = vec4<f32>(params.black[min(site.x, 1u)]);
    if (params.mode.x == 1u) {
        b = unpack4x8unorm(other[at]) * 255.0;
    }
    frame[at] = pack4(b + (f - b) * params.weight.x);
}
