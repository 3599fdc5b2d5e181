//! HDR to SDR (contract §17) on the CPU, in f64: the definition the tone-mapping pass is held
//! to. A 10-bit limited BT.2020 Y'CbCr sample (non-constant luminance) becomes linear light in
//! cd/m² (PQ by its EOTF; HLG by its inverse OETF and the BT.2100 OOTF of a 1000 cd/m² display),
//! BT.709 primaries, the pixel's largest component mapped by the BT.2390 EETF (the Hermite
//! spline in PQ space, knee offset 1.0) from the source peak to SDR white (203 cd/m²), colours
//! outside BT.709 pulled toward their luminance until no component is negative, then the
//! inverse BT.1886 (power 1/2.4), the BT.709 matrix and limited range.

/// PQ (SMPTE ST 2084) constants.
pub const PQ_M1: f64 = 2610.0 / 16384.0;
pub const PQ_M2: f64 = 2523.0 / 32.0;
pub const PQ_C1: f64 = 0.8359375;
pub const PQ_C2: f64 = 18.8515625;
pub const PQ_C3: f64 = 18.6875;
/// HLG (ARIB STD-B67) constants.
pub const HLG_A: f64 = 0.17883277;
pub const HLG_B: f64 = 0.28466892;
pub const HLG_C: f64 = 0.55991073;
/// BT.2020 luminance weights.
pub const BT2020_KR: f64 = 0.2627;
pub const BT2020_KG: f64 = 0.6780;
pub const BT2020_KB: f64 = 0.0593;
/// BT.709 luminance weights.
pub const BT709_K: [f64; 3] = [0.2126, 0.7152, 0.0722];
/// Linear BT.2020 RGB to linear BT.709 RGB.
pub const BT2020_TO_709: [[f64; 3]; 3] = [
    [1.660491, -0.587641, -0.072850],
    [-0.124550, 1.132900, -0.008349],
    [-0.018151, -0.100579, 1.118730],
];
/// The HDR reference white of BT.2408, which becomes SDR white (cd/m²).
pub const SDR_WHITE: f64 = 203.0;
/// The display HLG is rendered for (cd/m²), and its system gamma.
pub const HLG_DISPLAY_PEAK: f64 = 1000.0;
pub const HLG_GAMMA: f64 = 1.2;
/// The BT.2390 spline's knee offset (libplacebo's default).
pub const KNEE_OFFSET: f64 = 1.0;

/// The source's transfer function.
pub use crate::color::HdrTransfer as Transfer;

/// PQ's EOTF: a signal (0–1) to cd/m².
pub fn pq_eotf(e: f64) -> f64 {
    let p = e.max(0.0).powf(1.0 / PQ_M2);
    10000.0 * ((p - PQ_C1).max(0.0) / (PQ_C2 - PQ_C3 * p)).powf(1.0 / PQ_M1)
}

/// PQ's inverse EOTF: cd/m² to a signal (0–1).
pub fn pq_inverse(l: f64) -> f64 {
    let y = (l.max(0.0) / 10000.0).powf(PQ_M1);
    ((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y)).powf(PQ_M2)
}

/// HLG's inverse OETF: a signal (0–1) to scene-linear light (0–1).
pub fn hlg_inverse_oetf(e: f64) -> f64 {
    let e = e.max(0.0);
    if e <= 0.5 {
        e * e / 3.0
    } else {
        ((e - HLG_C) / HLG_A).exp() / 12.0 + HLG_B / 12.0
    }
}

/// HLG's OETF: scene-linear light (0–1) to a signal.
pub fn hlg_oetf(l: f64) -> f64 {
    let l = l.max(0.0);
    if l <= 1.0 / 12.0 {
        (3.0 * l).sqrt()
    } else {
        HLG_A * (12.0 * l - HLG_B).ln() + HLG_C
    }
}

/// The BT.2100 HLG OOTF for a display of `peak` cd/m²: scene-linear BT.2020 RGB to display
/// light (cd/m²), the system gamma applied to luminance.
pub fn hlg_ootf(rgb: [f64; 3], peak: f64) -> [f64; 3] {
    let ys = BT2020_KR * rgb[0] + BT2020_KG * rgb[1] + BT2020_KB * rgb[2];
    let gain = if ys > 0.0 {
        peak * ys.powf(HLG_GAMMA - 1.0)
    } else {
        0.0
    };
    rgb.map(|v| gain * v)
}

/// 10-bit limited BT.2020 Y'CbCr (non-constant luminance) to non-linear R'G'B' (0–1, not
/// clamped).
pub fn ycbcr10_to_rgb(y: u16, cb: u16, cr: u16) -> [f64; 3] {
    let yy = (y as f64 - 64.0) / 876.0;
    let pb = (cb as f64 - 512.0) / 896.0;
    let pr = (cr as f64 - 512.0) / 896.0;
    let r = yy + 2.0 * (1.0 - BT2020_KR) * pr;
    let b = yy + 2.0 * (1.0 - BT2020_KB) * pb;
    let g = (yy - BT2020_KR * r - BT2020_KB * b) / BT2020_KG;
    [r, g, b]
}

fn mat(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// Non-linear BT.2020 R'G'B' to linear BT.709 RGB in cd/m².
pub fn to_linear_709(rgb: [f64; 3], transfer: Transfer) -> [f64; 3] {
    let lin = match transfer {
        Transfer::Pq => rgb.map(|v| pq_eotf(v.clamp(0.0, 1.0))),
        Transfer::Hlg => hlg_ootf(
            rgb.map(|v| hlg_inverse_oetf(v.clamp(0.0, 1.0))),
            HLG_DISPLAY_PEAK,
        ),
    };
    mat(&BT2020_TO_709, lin)
}

/// The BT.2390 EETF on luminance `l` (cd/m²): from a source of `peak` to `target`, in PQ
/// space, the Hermite spline from the knee `ks = (1 + offset)·maxLum − offset` to the peak;
/// below the knee unchanged; above the peak, the target.
pub fn eetf(l: f64, peak: f64, target: f64) -> f64 {
    if l <= 0.0 {
        return 0.0;
    }
    if peak <= target {
        return l.min(target);
    }
    let src = pq_inverse(peak);
    let max_lum = pq_inverse(target) / src;
    let ks = (1.0 + KNEE_OFFSET) * max_lum - KNEE_OFFSET;
    let x = (pq_inverse(l) / src).min(1.0);
    let y = if x < ks {
        x
    } else {
        let t = (x - ks) / (1.0 - ks);
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * ks
            + (t3 - 2.0 * t2 + t) * (1.0 - ks)
            + (-2.0 * t3 + 3.0 * t2) * max_lum
    };
    pq_eotf(y * src)
}

/// Linear BT.709 RGB (cd/m², any sign) to SDR linear RGB (0–1): the largest component mapped
/// by [`eetf`] (hue kept), negative components pulled toward the pixel's luminance, `/ white`,
/// clamped.
pub fn tone_map(rgb: [f64; 3], peak: f64, white: f64) -> [f64; 3] {
    let m = rgb[0].max(rgb[1]).max(rgb[2]);
    let mut c = if m > 0.0 {
        let s = eetf(m, peak, white) / m;
        rgb.map(|v| v * s)
    } else {
        [0.0; 3]
    };
    let lum = BT709_K[0] * c[0] + BT709_K[1] * c[1] + BT709_K[2] * c[2];
    let low = c[0].min(c[1]).min(c[2]);
    if low < 0.0 {
        c = if lum > 0.0 {
            let t = lum / (lum - low);
            c.map(|v| lum + (v - lum) * t)
        } else {
            [0.0; 3]
        };
    }
    c.map(|v| (v / white).clamp(0.0, 1.0))
}

/// SDR linear RGB (0–1) to 8-bit-scale limited BT.709 Y'CbCr (unrounded): the inverse
/// BT.1886 (power 1/2.4) and the BT.709 matrix.
pub fn sdr_ycbcr(rgb: [f64; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(|v| v.max(0.0).powf(1.0 / 2.4));
    let y = BT709_K[0] * r + BT709_K[1] * g + BT709_K[2] * b;
    [
        16.0 + 219.0 * y,
        128.0 + 224.0 * (b - y) / (2.0 * (1.0 - BT709_K[2])),
        128.0 + 224.0 * (r - y) / (2.0 * (1.0 - BT709_K[0])),
    ]
}

/// A planar 10-bit 4:2:0 frame (`yuv420p10le` samples, `w × h` luma then each chroma plane of
/// `ceil(w/2) × ceil(h/2)`).
pub struct Frame10<'a> {
    pub w: u32,
    pub h: u32,
    pub y: &'a [u16],
    pub u: &'a [u16],
    pub v: &'a [u16],
}

/// Pixel `(x, y)` of `f` mapped to SDR R'G'B' (0–255, unrounded): its luma, its chroma
/// bilinear at the pixel's position (centre-sited, as every 8-bit frame's), tone mapped.
pub fn map_pixel(f: &Frame10, x: u32, y: u32, transfer: Transfer, peak: f64) -> [f64; 3] {
    let (cw, ch) = (f.w.div_ceil(2), f.h.div_ceil(2));
    let chroma = |plane: &[u16]| {
        super::convert::chroma_bilinear(cw, ch, x, y, |xx, yy| {
            plane[(yy * cw + xx) as usize] as f64
        })
    };
    let yy = f.y[(y * f.w + x) as usize] as f64;
    let rgb = ycbcr10_f64_to_rgb(yy, chroma(f.u), chroma(f.v));
    tone_map(to_linear_709(rgb, transfer), peak, SDR_WHITE).map(|v| 255.0 * v.powf(1.0 / 2.4))
}

/// [`ycbcr10_to_rgb`] of (interpolated) codes.
pub fn ycbcr10_f64_to_rgb(y: f64, cb: f64, cr: f64) -> [f64; 3] {
    let yy = (y - 64.0) / 876.0;
    let pb = (cb - 512.0) / 896.0;
    let pr = (cr - 512.0) / 896.0;
    let r = yy + 2.0 * (1.0 - BT2020_KR) * pr;
    let b = yy + 2.0 * (1.0 - BT2020_KB) * pb;
    let g = (yy - BT2020_KR * r - BT2020_KB * b) / BT2020_KG;
    [r, g, b]
}

/// A whole 10-bit HDR frame to the engine's 8-bit BT.709 limited frame, as the tone-mapping
/// pass makes it: each pixel mapped, then the conversion every frame gets (luma per pixel,
/// chroma from the 2×2 mean of R'G'B').
pub fn map_frame(f: &Frame10, transfer: Transfer, peak: f64) -> crate::frame::YuvFrame {
    let spec = crate::color::ColorSpec::default();
    super::convert::rgb_to_yuv420_with(f.w, f.h, spec, |x, y| map_pixel(f, x, y, transfer, peak))
}

/// One 10-bit HDR sample to SDR 8-bit-scale Y'CbCr (unrounded), with the source's `peak`.
pub fn map_sample(y: u16, cb: u16, cr: u16, transfer: Transfer, peak: f64) -> [f64; 3] {
    let lin = to_linear_709(ycbcr10_to_rgb(y, cb, cr), transfer);
    sdr_ycbcr(tone_map(lin, peak, SDR_WHITE))
}

/// The source peak §17 assumes: HLG 1000; PQ the content light level's MaxCLL when it is
/// 400–10000, else the mastering display's maximum, else 1000.
pub fn source_peak(transfer: Transfer, max_cll: Option<f64>, mastering_max: Option<f64>) -> f64 {
    crate::color::HdrSource {
        transfer,
        max_cll,
        mastering_max,
        dovi: None,
    }
    .peak()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10-bit limited grey of PQ luminance `l` cd/m² (the code nearest it).
    fn pq_grey(l: f64) -> u16 {
        (64.0 + 876.0 * pq_inverse(l)).round() as u16
    }

    fn hlg_grey(signal: f64) -> u16 {
        (64.0 + 876.0 * signal).round() as u16
    }

    fn luma(code: u16, t: Transfer, peak: f64) -> [f64; 3] {
        map_sample(code, 512, 512, t, peak)
    }

    /// §17's tables, exactly (the output luma rounded; greys stay grey).
    #[test]
    fn the_contracts_tables_hold() {
        let hlg = [
            (0.0, 16),
            (0.25, 77),
            (0.38, 109),
            (0.5, 138),
            (0.6, 162),
            (0.75, 200),
            (0.9, 229),
            (1.0, 235),
        ];
        for (s, want) in hlg {
            let out = luma(hlg_grey(s), Transfer::Hlg, 1000.0);
            assert_eq!(out[0].round() as i32, want, "HLG {s}: {out:?}");
            // greys stay grey (the matrix's rows sum to 1 within 1e-6)
            assert!(
                (out[1] - 128.0).abs() < 1e-3 && (out[2] - 128.0).abs() < 1e-3,
                "{out:?}"
            );
        }
        let pq = [
            (0.0, 16),
            (10.0, 79),
            (26.0, 109),
            (100.0, 170),
            (203.0, 200),
            (400.0, 223),
            (1000.0, 235),
            (4000.0, 235),
        ];
        for (l, want) in pq {
            let out = luma(pq_grey(l), Transfer::Pq, 1000.0);
            assert_eq!(out[0].round() as i32, want, "PQ {l}: {out:?}");
        }
        // the stated anchors
        assert!((pq_inverse(203.0) - 0.5807).abs() < 1e-4);
        let grey = hlg_ootf([hlg_inverse_oetf(0.75); 3], 1000.0)[0];
        assert!((grey - 203.15).abs() < 0.05, "{grey}");
    }

    #[test]
    fn pq_and_hlg_round_trip() {
        for i in 0..=1000 {
            let e = i as f64 / 1000.0;
            // (PQ's signal for 0 cd/m² is c1^m2, 7e-7)
            assert!((pq_inverse(pq_eotf(e)) - e).abs() < 1e-6, "PQ {e}");
            let l = hlg_inverse_oetf(e);
            assert!((hlg_oetf(l) - e).abs() < 1e-9, "HLG {e}");
        }
        assert!((pq_eotf(1.0) - 10000.0).abs() < 1e-6);
        assert!((hlg_inverse_oetf(1.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_gamut_matrix_keeps_white_and_luminance() {
        let w = mat(&BT2020_TO_709, [1.0; 3]);
        for v in w {
            assert!((v - 1.0).abs() < 1e-5, "{w:?}");
        }
        // BT.2020 luminance is BT.709 luminance of the converted colour
        for rgb in [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.3, 0.6, 0.1],
        ] {
            let y2020 = BT2020_KR * rgb[0] + BT2020_KG * rgb[1] + BT2020_KB * rgb[2];
            let c = mat(&BT2020_TO_709, rgb);
            let y709 = BT709_K[0] * c[0] + BT709_K[1] * c[1] + BT709_K[2] * c[2];
            assert!((y2020 - y709).abs() < 2e-4, "{rgb:?}: {y2020} {y709}");
        }
    }

    /// The spline: continuous at the knee, monotonic, the peak to the target, identity below
    /// the knee, for several source peaks.
    #[test]
    fn the_bt2390_spline_is_continuous_monotonic_and_ends_right() {
        for peak in [400.0, 1000.0, 1500.0, 4000.0, 10000.0] {
            let src = pq_inverse(peak);
            let max_lum = pq_inverse(SDR_WHITE) / src;
            let ks = (1.0 + KNEE_OFFSET) * max_lum - KNEE_OFFSET;
            let knee = pq_eotf(ks.max(0.0) * src);
            if ks > 0.0 {
                let below = eetf(knee * (1.0 - 1e-9), peak, SDR_WHITE);
                let above = eetf(knee * (1.0 + 1e-9), peak, SDR_WHITE);
                assert!(
                    (above - below).abs() < 1e-4 * knee,
                    "{peak}: {below} {above}"
                );
                assert!((eetf(knee * 0.5, peak, SDR_WHITE) - knee * 0.5).abs() < 1e-9);
            }
            assert!(
                (eetf(peak, peak, SDR_WHITE) - SDR_WHITE).abs() < 1e-6,
                "{peak}"
            );
            assert!((eetf(peak * 3.0, peak, SDR_WHITE) - SDR_WHITE).abs() < 1e-6);
            let mut last = 0.0;
            for i in 1..=2000 {
                let l = peak * i as f64 / 2000.0;
                let v = eetf(l, peak, SDR_WHITE);
                assert!(
                    v >= last - 1e-9 && v <= SDR_WHITE + 1e-9,
                    "{peak} {l}: {v} < {last}"
                );
                last = v;
            }
        }
    }

    /// A 10-bit ramp keeps its steps: the full HLG ramp gives at least 215 distinct luma codes.
    #[test]
    fn a_10_bit_ramp_keeps_its_codes() {
        let mut codes: Vec<i32> = (64..=940)
            .map(|c| luma(c, Transfer::Hlg, 1000.0)[0].round() as i32)
            .collect();
        codes.dedup();
        assert!(codes.len() >= 215, "{}", codes.len());
        // the same ramp rounded to 8 bits first loses many
        let mut eight: Vec<i32> = (64..=940)
            .map(|c| luma((c / 4) * 4, Transfer::Hlg, 1000.0)[0].round() as i32)
            .collect();
        eight.dedup();
        assert!(eight.len() < codes.len());
    }

    /// The most saturated BT.2020 colours (outside BT.709) still give legal codes.
    #[test]
    fn saturated_bt2020_colours_give_legal_codes() {
        for t in [Transfer::Hlg, Transfer::Pq] {
            for &(y, cb, cr) in &[
                (64u16, 64u16, 960u16),
                (940, 64, 960),
                (500, 960, 64),
                (700, 64, 64),
                (300, 960, 960),
                (940, 512, 960),
            ] {
                let out = map_sample(y, cb, cr, t, 1000.0);
                assert!(out.iter().all(|v| v.is_finite()), "{out:?}");
                assert!(
                    (16.0..=235.5).contains(&out[0]),
                    "{t:?} {y} {cb} {cr}: {out:?}"
                );
                assert!((16.0..=240.5).contains(&out[1]) && (16.0..=240.5).contains(&out[2]));
            }
        }
    }

    #[test]
    fn the_source_peak_follows_the_metadata() {
        assert_eq!(source_peak(Transfer::Hlg, Some(4000.0), None), 1000.0);
        assert_eq!(
            source_peak(Transfer::Pq, Some(1500.0), Some(4000.0)),
            1500.0
        );
        assert_eq!(source_peak(Transfer::Pq, Some(200.0), Some(4000.0)), 4000.0);
        assert_eq!(source_peak(Transfer::Pq, None, None), 1000.0);
    }
}
