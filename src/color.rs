//! Colour matrices (BT.601 / BT.709 / BT.2020) and ranges (limited / full) for YUV <-> RGB.
//!
//! All conversions work in the 0..=255 domain of 8-bit samples: `yuv = M * rgb + offset`.

use serde::{Deserialize, Serialize};

/// Which luma/chroma matrix the Y'CbCr samples were encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMatrix {
    Bt601,
    #[default]
    Bt709,
    Bt2020,
}

/// Limited ("tv", 16..235 / 16..240) or full ("pc", 0..255) sample range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorRange {
    #[default]
    Limited,
    Full,
}

/// Matrix and range together: everything needed to interpret 8-bit YUV samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ColorSpec {
    pub matrix: ColorMatrix,
    pub range: ColorRange,
}

impl ColorMatrix {
    /// Luma weights (Kr, Kb) of the matrix.
    pub fn kr_kb(self) -> (f64, f64) {
        match self {
            ColorMatrix::Bt601 => (0.299, 0.114),
            ColorMatrix::Bt709 => (0.2126, 0.0722),
            ColorMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }

    /// Parses ffmpeg's names (`bt709`, `bt470bg`, `smpte170m`, `bt2020nc`, ...).
    pub fn from_ffmpeg_name(name: &str) -> Option<Self> {
        match name {
            "bt709" => Some(Self::Bt709),
            "bt470bg" | "smpte170m" | "bt601" | "fcc" => Some(Self::Bt601),
            "bt2020nc" | "bt2020c" | "bt2020" => Some(Self::Bt2020),
            _ => None,
        }
    }

    /// ffmpeg's name for `-colorspace` and scale filter options.
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            Self::Bt601 => "smpte170m",
            Self::Bt709 => "bt709",
            Self::Bt2020 => "bt2020nc",
        }
    }
}

impl ColorRange {
    /// Parses ffmpeg's names (`tv`/`mpeg`/`limited`, `pc`/`jpeg`/`full`).
    pub fn from_ffmpeg_name(name: &str) -> Option<Self> {
        match name {
            "tv" | "mpeg" | "limited" => Some(Self::Limited),
            "pc" | "jpeg" | "full" => Some(Self::Full),
            _ => None,
        }
    }

    /// Sample value of black for luma (chroma's neutral value is always 128).
    pub fn luma_black(self) -> f32 {
        match self {
            Self::Limited => 16.0,
            Self::Full => 0.0,
        }
    }
}

/// An affine 3x3 transform `out = m * in + offset` over 0..=255 samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine3 {
    pub m: [[f64; 3]; 3],
    pub offset: [f64; 3],
}

impl Affine3 {
    pub fn apply(&self, v: [f64; 3]) -> [f64; 3] {
        let mut out = self.offset;
        for (r, o) in out.iter_mut().enumerate() {
            *o += self.m[r][0] * v[0] + self.m[r][1] * v[1] + self.m[r][2] * v[2];
        }
        out
    }

    /// The inverse transform (the matrices used here are always invertible).
    pub fn inverse(&self) -> Affine3 {
        let a = &self.m;
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
        let inv_det = 1.0 / det;
        let mut m = [[0.0; 3]; 3];
        for (r, row) in m.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                // cofactor of a[c][r] (transposed adjugate)
                let (r0, r1) = match c {
                    0 => (1, 2),
                    1 => (0, 2),
                    _ => (0, 1),
                };
                let (c0, c1) = match r {
                    0 => (1, 2),
                    1 => (0, 2),
                    _ => (0, 1),
                };
                let minor = a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0];
                let sign = if (r + c) % 2 == 0 { 1.0 } else { -1.0 };
                *v = sign * minor * inv_det;
            }
        }
        let mut offset = [0.0; 3];
        for (r, o) in offset.iter_mut().enumerate() {
            *o = -(m[r][0] * self.offset[0] + m[r][1] * self.offset[1] + m[r][2] * self.offset[2]);
        }
        Affine3 { m, offset }
    }

    /// Rows padded to vec4 for a WGSL uniform: `[m0 | o0], [m1 | o1], [m2 | o2]`.
    pub fn to_gpu_rows(&self) -> [[f32; 4]; 3] {
        let mut rows = [[0.0f32; 4]; 3];
        for (r, row) in rows.iter_mut().enumerate() {
            *row = [
                self.m[r][0] as f32,
                self.m[r][1] as f32,
                self.m[r][2] as f32,
                self.offset[r] as f32,
            ];
        }
        rows
    }
}

impl ColorSpec {
    pub const BT709_LIMITED: ColorSpec = ColorSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
    };

    /// RGB (0..=255) to YUV samples (0..=255).
    pub fn rgb_to_yuv(self) -> Affine3 {
        let (kr, kb) = self.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y_scale, y_off, c_scale) = match self.range {
            ColorRange::Limited => (219.0 / 255.0, 16.0, 224.0 / 255.0),
            ColorRange::Full => (1.0, 0.0, 1.0),
        };
        // Pb = (B - Y) / (2 (1 - Kb)), Pr = (R - Y) / (2 (1 - Kr))
        let cb = [
            -kr / (2.0 * (1.0 - kb)),
            -kg / (2.0 * (1.0 - kb)),
            (1.0 - kb) / (2.0 * (1.0 - kb)),
        ];
        let cr = [
            (1.0 - kr) / (2.0 * (1.0 - kr)),
            -kg / (2.0 * (1.0 - kr)),
            -kb / (2.0 * (1.0 - kr)),
        ];
        Affine3 {
            m: [
                [kr * y_scale, kg * y_scale, kb * y_scale],
                [cb[0] * c_scale, cb[1] * c_scale, cb[2] * c_scale],
                [cr[0] * c_scale, cr[1] * c_scale, cr[2] * c_scale],
            ],
            offset: [y_off, 128.0, 128.0],
        }
    }

    /// YUV samples (0..=255) to RGB (0..=255), unclamped.
    pub fn yuv_to_rgb(self) -> Affine3 {
        self.rgb_to_yuv().inverse()
    }
}

/// An HDR source's transfer function (contract §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HdrTransfer {
    /// SMPTE ST 2084 (`smpte2084`): PQ/HDR10, many Android phones and action cameras.
    Pq,
    /// ARIB STD-B67 (`arib-std-b67`): HLG, an iPhone's default.
    Hlg,
}

impl HdrTransfer {
    /// From ffmpeg's `color_transfer` name.
    pub fn from_ffmpeg_name(name: &str) -> Option<Self> {
        match name {
            "smpte2084" => Some(Self::Pq),
            "arib-std-b67" => Some(Self::Hlg),
            _ => None,
        }
    }
}

/// A Dolby Vision stream's configuration record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoviConfig {
    pub profile: u32,
    /// The base layer's signal compatibility (1: HDR10, 4: HLG, 0: none).
    pub compatibility: u32,
}

/// What the probe knows of an HDR source (contract §17).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HdrSource {
    pub transfer: HdrTransfer,
    /// The content light level's MaxCLL (cd/m²).
    pub max_cll: Option<f64>,
    /// The mastering display's maximum luminance (cd/m²).
    pub mastering_max: Option<f64>,
    pub dovi: Option<DoviConfig>,
}

impl HdrSource {
    /// The source peak §17 maps from: HLG 1000; PQ the MaxCLL when it is 400–10000, else the
    /// mastering display's maximum, else 1000 (cd/m²).
    pub fn peak(&self) -> f64 {
        match self.transfer {
            HdrTransfer::Hlg => 1000.0,
            HdrTransfer::Pq => self
                .max_cll
                .filter(|v| (400.0..=10000.0).contains(v))
                .or(self.mastering_max.filter(|v| *v > 0.0))
                .unwrap_or(1000.0),
        }
    }

    /// Whether reelgpu can map it: Dolby Vision 8.1 and 8.4 decode as their HDR10 and HLG
    /// base layers; profile 5 (and any other without a compatible base layer) cannot.
    pub fn usable(&self) -> Result<(), String> {
        match self.dovi {
            Some(d) if d.compatibility == 0 || d.profile == 5 => Err(format!(
                "is Dolby Vision profile {} with no HDR10 or HLG base layer (compatibility {}): \
                 its colours need the Dolby Vision metadata, which reelgpu does not apply",
                d.profile, d.compatibility
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_709_white_black_grey() {
        let t = ColorSpec::BT709_LIMITED.rgb_to_yuv();
        let w = t.apply([255.0; 3]);
        let b = t.apply([0.0; 3]);
        assert!((w[0] - 235.0).abs() < 1e-9 && (w[1] - 128.0).abs() < 1e-9);
        assert!((b[0] - 16.0).abs() < 1e-9 && (b[2] - 128.0).abs() < 1e-9);
        let red = t.apply([255.0, 0.0, 0.0]);
        assert!(
            (red[2] - 240.0).abs() < 1e-9,
            "Cr of pure red is 240, got {}",
            red[2]
        );
    }

    #[test]
    fn inverse_round_trips() {
        for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709, ColorMatrix::Bt2020] {
            for range in [ColorRange::Limited, ColorRange::Full] {
                let spec = ColorSpec { matrix, range };
                let (f, g) = (spec.rgb_to_yuv(), spec.yuv_to_rgb());
                let rgb = [12.0, 200.0, 77.0];
                let back = g.apply(f.apply(rgb));
                for c in 0..3 {
                    assert!((back[c] - rgb[c]).abs() < 1e-9, "{spec:?} channel {c}");
                }
            }
        }
    }
}
