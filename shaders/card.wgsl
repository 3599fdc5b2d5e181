// The intro card (contract §15), drawn in the reel's own YUV frame (card_render): every layer
// composited per pixel in 0-255 RGB, the exit flash, and the conversion to packed YUV 4:2:0
// (2x2 mean chroma, rounded), in one pass with no intermediate canvas. Layer images are
// RGBA8 (straight alpha) in one buffer; they are sampled premultiplied, so a bilinear tap
// never bleeds a transparent texel's colour. Layer kinds:
//   0 bg      the canvas, the frame's size, opaque
//   1 image   an image drawn into rect (x, y, w, h) zoomed by p.x about the rect's centre,
//             bilinear (sub-pixel: the zoom moves smoothly), edges clamped (the photo; an
//             outro frame fitted into the reel)
//   2 over    a frame-size RGBA image over everything below (static)
//   3 text    an RGBA image at (rect.x, rect.y): x whole, y fractional (bilinear between
//             rows, transparent outside), its alpha times p.y (the fading, rising text)
// CPU reference: src/reference/card.rs.

struct CardFrame {
    // width, height, layers, -
    size: vec4<u32>,
    // the flash's weight toward white (0-1), -, -, -
    flash: vec4<f32>,
    planes: array<Plane, 3>,
    // RGB (0-255) to YUV (0-255)
    rows: array<vec4<f32>, 3>,
};

struct CardLayer {
    kind: u32,
    // the image's first word in card_pixels, its width and height
    offset: u32,
    iw: u32,
    ih: u32,
    rect: vec4<f32>,
    // zoom (image), alpha (text), -, -
    p: vec4<f32>,
};

@group(0) @binding(0) var<uniform> card: CardFrame;
@group(0) @binding(1) var<storage, read> card_layers: array<CardLayer>;
@group(0) @binding(2) var<storage, read> card_pixels: array<u32>;
@group(0) @binding(3) var<storage, read_write> card_yuv: array<u32>;

// Texel (x, y) of layer l, premultiplied: rgb 0-255 times alpha, alpha 0-1.
fn card_texel(l: CardLayer, x: u32, y: u32) -> vec4<f32> {
    let v = unpack4x8unorm(card_pixels[l.offset + y * l.iw + x]);
    return vec4<f32>(v.rgb * v.a * 255.0, v.a);
}

// Bilinear at image position (sx, sy) (texel centres at integers), edges clamped.
fn card_bilinear(l: CardLayer, sx: f32, sy: f32) -> vec4<f32> {
    let x0 = floor(sx);
    let y0 = floor(sy);
    let tx = sx - x0;
    let ty = sy - y0;
    let mx = i32(l.iw) - 1;
    let my = i32(l.ih) - 1;
    let xa = u32(clamp(i32(x0), 0, mx));
    let xb = u32(clamp(i32(x0) + 1, 0, mx));
    let ya = u32(clamp(i32(y0), 0, my));
    let yb = u32(clamp(i32(y0) + 1, 0, my));
    let top = mix(card_texel(l, xa, ya), card_texel(l, xb, ya), tx);
    let bottom = mix(card_texel(l, xa, yb), card_texel(l, xb, yb), tx);
    return mix(top, bottom, ty);
}

// Row y of a text image, or transparent outside it.
fn card_text_row(l: CardLayer, x: u32, y: i32) -> vec4<f32> {
    if (y < 0 || y >= i32(l.ih)) {
        return vec4<f32>(0.0);
    }
    return card_texel(l, x, u32(y));
}

fn card_over(c: vec3<f32>, s: vec4<f32>) -> vec3<f32> {
    return c * (1.0 - s.a) + s.rgb;
}

// The composited card at pixel (x, y), before the flash.
fn card_px(x: u32, y: u32) -> vec3<f32> {
    var c = vec3<f32>(0.0);
    let fx = f32(x) + 0.5;
    let fy = f32(y) + 0.5;
    for (var i = 0u; i < card.size.z; i++) {
        let l = card_layers[i];
        switch l.kind {
            case 0u: {
                c = card_texel(l, x, y).rgb;
            }
            case 1u: {
                let u = fx - l.rect.x;
                let v = fy - l.rect.y;
                if (u >= 0.0 && v >= 0.0 && u < l.rect.z && v < l.rect.w) {
                    let z = l.p.x;
                    let sx = ((u - 0.5 * l.rect.z) / z + 0.5 * l.rect.z) * f32(l.iw) / l.rect.z - 0.5;
                    let sy = ((v - 0.5 * l.rect.w) / z + 0.5 * l.rect.w) * f32(l.ih) / l.rect.w - 0.5;
                    c = card_over(c, card_bilinear(l, sx, sy));
                }
            }
            case 2u: {
                c = card_over(c, card_texel(l, x, y));
            }
            default: {
                let tx = i32(x) - i32(l.rect.x);
                if (tx >= 0 && tx < i32(l.iw) && l.p.y > 0.0) {
                    let sy = fy - l.rect.y - 0.5;
                    let y0 = floor(sy);
                    let t = sy - y0;
                    let s = mix(
                        card_text_row(l, u32(tx), i32(y0)),
                        card_text_row(l, u32(tx), i32(y0) + 1),
                        t,
                    );
                    c = card_over(c, s * l.p.y);
                }
            }
        }
    }
    return c;
}

// One invocation per 8 x 2 pixel block: its 16 pixels composited once each, written as whole
// words of the packed planes (2 luma words on each of its rows, one word of each chroma plane:
// 4 samples, each the 2x2 mean), so no word is shared between invocations. Pixels past the
// frame's right or bottom edge are the edge's (chroma) or not written (luma).
@compute @workgroup_size(8, 8, 1)
fn card_render(@builtin(global_invocation_id) gid: vec3<u32>) {
    let w = card.size.x;
    let h = card.size.y;
    let x0 = gid.x * 8u;
    let y0 = gid.y * 2u;
    if (x0 >= w || y0 >= h) {
        return;
    }
    let f = card.flash.x;
    // the block's pixels, rows 0 and 1, columns clamped to the frame
    var top: array<vec3<f32>, 8>;
    var bottom: array<vec3<f32>, 8>;
    let y1 = min(y0 + 1u, h - 1u);
    for (var i = 0u; i < 8u; i++) {
        let x = min(x0 + i, w - 1u);
        let a = card_px(x, y0);
        top[i] = a + (255.0 - a) * f;
        if (y1 == y0) {
            bottom[i] = top[i];
        } else {
            let b = card_px(x, y1);
            bottom[i] = b + (255.0 - b) * f;
        }
    }
    let blk = pack_block420(top, bottom, x0, w, card.planes[1].width, card.rows);
    let ly = card.planes[0];
    for (var k = 0u; k < 2u; k++) {
        let word = x0 / 4u + k;
        if (word >= ly.stride) {
            break;
        }
        card_yuv[ly.offset + y0 * ly.stride + word] = blk.luma[2u * k];
        if (y0 + 1u < h) {
            card_yuv[ly.offset + (y0 + 1u) * ly.stride + word] = blk.luma[2u * k + 1u];
        }
    }
    for (var plane = 1u; plane < 3u; plane++) {
        let p = card.planes[plane];
        card_yuv[p.offset + gid.y * p.stride + gid.x] = blk.chroma[plane - 1u];
    }
}

