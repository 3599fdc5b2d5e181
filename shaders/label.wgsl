// Burns a label into a band of frame rows: every byte of the band (luma rows, then the
// chroma rows under them, packed one after another) is blended with the label's value at the
// label's alpha. The label and the band share one flat byte layout, so the blend is
// elementwise: out = value * a + frame * (1 - a), a = alpha / 255.

struct LabelParams {
    words: vec4<u32>, // x: packed words in the band
}

@group(0) @binding(0) var<uniform> params: LabelParams;
@group(0) @binding(1) var<storage, read_write> band: array<u32>;
@group(0) @binding(2) var<storage, read> value: array<u32>;
@group(0) @binding(3) var<storage, read> alpha: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn blend(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 64u + gid.x;
    if (i >= params.words.x) {
        return;
    }
    let f = band[i];
    let v = value[i];
    let a = alpha[i];
    var out = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let af = byte_at(a, k) / 255.0;
        out[k] = byte_at(v, k) * af + byte_at(f, k) * (1.0 - af);
    }
    band[i] = pack4(out);
}
