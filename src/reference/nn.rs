//! nn.wgsl's convolution on the CPU, on the same buffers and uniform ([`ConvUniform`]): the
//! definition both of its GPU forms (the portable `nn_conv1/3` and the cooperative-matrix
//! `nn_conv_coop_any`) are tested against. Channels-last views at channel offsets, an
//! optional one-pixel border on either side (read as memory; written as zero next to every
//! output pixel), SiLU or PReLU, a residual from another channel range of the destination.

use crate::nn::{ConvUniform, PRELU, RESIDUAL, SILU};

/// `dst = conv(src)` as the kernels compute it: `params` the packed parameters (weights
/// `[ky][kx][in][out padded to 8]`, bias, slopes; offsets in vec4s), in scalars.
pub fn conv(u: &ConvUniform, params: &[f32], src: &[f32], dst: &mut [f32]) {
    let [sw, sh, ss, so] = u.src.map(|v| v as i64);
    let [dw, dh, ds, doff] = u.dst.map(|v| v as usize);
    let [cin, cout, k, st] = u.shape.map(|v| v as usize);
    let [w_off, b_off, flags, res] = u.params;
    let sb = u.more[1] as i64;
    let bd = u.more[2] as usize;
    let pad = (k / 2) as i64;
    let orow = cout.next_multiple_of(8);
    let pitch = sw + 2 * sb;
    let cell = |x: usize, y: usize| (y * (dw + 2 * bd) + x) * ds;
    for y in 0..dh {
        for x in 0..dw {
            let at = cell(x + bd, y + bd);
            for o in 0..cout {
                let mut v = params[b_off as usize * 4 + o];
                for ky in 0..k {
                    for kx in 0..k {
                        let ix = (x * st + kx) as i64 - pad;
                        let iy = (y * st + ky) as i64 - pad;
                        if ix < -sb || ix >= sw + sb || iy < -sb || iy >= sh + sb {
                            continue;
                        }
                        let base = (((iy + sb) * pitch + ix + sb) * ss + so) as usize;
                        for i in 0..cin {
                            let w =
                                params[w_off as usize * 4 + ((ky * k + kx) * cin + i) * orow + o];
                            v += w * src[base + i];
                        }
                    }
                }
                if flags & SILU != 0 {
                    v /= 1.0 + (-v).exp();
                }
                if flags & PRELU != 0 && v < 0.0 {
                    v *= params[u.more[0] as usize * 4 + o];
                }
                if flags & RESIDUAL != 0 {
                    v += dst[at + res as usize + o];
                }
                dst[at + doff + o] = v;
            }
        }
    }
    if bd == 1 {
        for y in 0..dh + 2 {
            for x in 0..dw + 2 {
                if x == 0 || y == 0 || x == dw + 1 || y == dh + 1 {
                    for o in 0..cout {
                        dst[cell(x, y) + doff + o] = 0.0;
                    }
                }
            }
        }
    }
}
